"""The runtime's steps on a low battery: Algorithm 1 runs the int8 detector (reduced mode)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from experiments.tools.provision import device_section
from hardware.field_node import NodeRuntime
from hardware.model_store import media_path
from hardware.node_config import parse


def _board(root: Path, capacity: int) -> None:
    files = {
        "sys/class/hwmon/hwmon0/name": "ina219",
        "sys/class/hwmon/hwmon0/power1_input": "4200000",
        "sys/class/power_supply/BAT0/type": "Battery",
        "sys/class/power_supply/BAT0/capacity": str(capacity),
    }
    for rel, value in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(value + "\n")


def test_a_low_battery_switches_detection_to_the_int8_model(
    tmp_path: Path, models_cached: None
) -> None:
    _board(tmp_path / "board", capacity=12)  # below the 0.2 threshold of Algorithm 1
    cfg = parse(
        {
            "node_id": "cam-low",
            "intersection": "i-low",
            "camera": {"source": str(media_path("street.mp4")), "fps": 3, "loop": True},
            "model": {"full": "ssdlite-person", "reduced": "ssdlite-person-int8", "threads": 1},
            # Never started: messages wait in the queue, which is all this test needs.
            "broker": {"url": "mqtt://127.0.0.1:9"},
            "queue": {"path": "queue.db"},
            "power": {"kind": "sysfs", "replay": "board", "device": device_section("rpi4")},
            "heartbeat_s": 1.0,
            "observe_period_s": 1.0,
        },
        tmp_path,
    )
    runtime = NodeRuntime(cfg, record=tmp_path / "record.jsonl")
    runtime.camera.start()
    try:
        for _ in range(3):
            time.sleep(1.0)
            runtime.step()
    finally:
        runtime.camera.stop()
        runtime.uplink.close()
        runtime.recorder.close()
    steps = [json.loads(line) for line in (tmp_path / "record.jsonl").read_text().splitlines()]
    detected = [s for s in steps if s["frames"]]
    assert detected and all(s["mode"] == "reduced" and s["reduced_s"] > 0 for s in detected)
    # At full precision only the heartbeat's encoding (1 ms), no inference.
    assert all(s["full_s"] < 0.01 and s["soc"] == 0.12 and s["power_w"] == 4.2 for s in detected)
    assert runtime.perception.frames_detected >= 3
    assert runtime.uplink.transport.stats().queued >= 2  # heartbeats held for the broker
