"""A field node (``edgeqi node``) as its own process on a recorded camera and power sensor.

For the benchmarks of the node runtime: a private Mosquitto, the node's keys and
``node.yaml`` in a temporary directory, the street video from the model cache looping
as its camera, a recorded ``tegrastats`` log or INA219 register file as its power
sensor, and ``$NOTIFY_SOCKET`` to learn when it is ready, as systemd would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from experiments.services import Mosquitto
from experiments.tools.keys import generate
from experiments.tools.provision import device_section
from hardware.model_store import media_path

RECORDED = Path(__file__).resolve().parents[2] / "tests" / "hardware" / "recorded"
POWER_RECORDINGS: dict[str, tuple[str, str, int]] = {
    "tegrastats": ("tegrastats_nano.log", "jetson_nano_10w", 700),
    "ina219": ("ina219_pi4.log", "rpi4", 500),
}
"""Sensor kind -> (recorded-format fixture, the energy profile of that board, interval ms)."""


@dataclass
class NodeSpec:
    power: str = "tegrastats"
    policy: str = "edgeqi"
    fps: float = 4.0
    observe_period_s: float = 1.0
    heartbeat_s: float = 10.0
    cycle_s: float = 30.0
    consensus: bool = True
    threads: int = 1


class NodeProcess:
    """Start with ``with``; :meth:`stop` sends SIGTERM and waits for a clean exit."""

    def __init__(self, spec: NodeSpec, workdir: Path | None = None) -> None:
        self.spec = spec
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory()
            workdir = Path(self._tmp.name)
        self.dir = workdir
        self.record = self.dir / "record.jsonl"
        self.log = self.dir / "node.log"
        self.broker = Mosquitto(self._subdir("broker"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_after_s: float | None = None

    def _subdir(self, name: str) -> Path:
        path = self.dir / name
        path.mkdir(exist_ok=True)
        return path

    def config(self) -> dict[str, Any]:
        s = self.spec
        fixture, profile, interval = POWER_RECORDINGS[s.power]
        cfg: dict[str, Any] = {
            "node_id": "cam-bench",
            "intersection": "i-bench",
            "camera": {"source": str(media_path("street.mp4")), "fps": s.fps, "loop": True},
            "model": {
                "full": "ssdlite-person",
                "reduced": "ssdlite-person-int8",
                "threads": s.threads,
            },
            "broker": {"url": self.broker.url},
            "queue": {"path": "queue.db"},
            "power": {
                "kind": s.power,
                "replay": str(RECORDED / fixture),
                "options": {"interval_ms": interval},
                "device": device_section(profile),
            },
            "policy": s.policy,
            "heartbeat_s": s.heartbeat_s,
            "observe_period_s": s.observe_period_s,
            "cycle_s": s.cycle_s,
        }
        if s.consensus:
            generate(self.dir / "keys", ["cam-bench", "peer-1", "peer-2"])
            cfg["consensus"] = {
                "key_file": "keys/cam-bench.key",
                "directory_file": "keys/directory.json",
            }
        return cfg

    def __enter__(self) -> NodeProcess:
        self.broker.start()
        path = self.dir / "node.yaml"
        path.write_text(yaml.safe_dump(self.config()))
        notify_path = self.dir / "notify.sock"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        notify.settimeout(60)
        cmd = [sys.executable, "-m", "experiments.cli", "node", "--config", str(path)]
        with self.log.open("wb") as log:
            self.started_at = time.monotonic()
            self.proc = subprocess.Popen(
                [*cmd, "--record", str(self.record)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NOTIFY_SOCKET": str(notify_path)},
            )
        try:
            while b"READY=1" not in notify.recv(4096):
                pass
            self.ready_after_s = time.monotonic() - self.started_at
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"node not ready in 60 s:\n{self.log.read_text()[-2000:]}") from None
        finally:
            notify.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> int:
        code = -1
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                code = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
        elif self.proc is not None:
            code = self.proc.returncode
        self.broker.stop()
        return code

    def __exit__(
        self,
        _t: type[BaseException] | None,
        _e: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
