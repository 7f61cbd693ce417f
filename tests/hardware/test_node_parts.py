"""Pieces of the field node runtime, each on its own: capture, sensor replays, assembly,
the energy comparison's arithmetic."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edgeqi.energy import DeviceProfile
from edgeqi.node import POLICY_SHAPES, TransmitMode
from experiments.benchmarks.bench_node_energy import measured_j, predicted
from experiments.tools.provision import ProvisionError, device_section
from hardware import assemble, tegrastats
from hardware.frame_sources import Camera, SourceSpec, open_capture
from hardware.power import Ina219I2C, RecordedIna219Bus
from hardware.sensors import MAINS_SOC, BoardSensors, power_sensor
from hardware.seqfile import SeqReservation

RECORDED = Path(__file__).parent / "recorded"


def test_source_kinds() -> None:
    assert SourceSpec(0).kind == SourceSpec("2").kind == "v4l2"
    assert SourceSpec("rtsp://cam/stream").kind == "stream"
    assert SourceSpec("v4l2src ! videoconvert ! appsink").kind == "gstreamer"
    assert SourceSpec("/data/street.mp4").kind == "file"
    with pytest.raises(OSError, match="no such file"):
        open_capture(SourceSpec("/nonexistent/video.mp4"))


def test_a_video_file_plays_in_real_time_at_the_sampled_rate(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (64, 48))
    for i in range(20):  # one second at 20 frames/s
        writer.write(np.full((48, 64, 3), i * 10, np.uint8))
    writer.release()
    camera = Camera(SourceSpec(str(video), fps=5.0, loop=True))
    camera.start()
    time.sleep(1.5)
    window = camera.take()
    camera.stop()
    times = [t for t, _ in window.frames]
    # 5 frames a second kept out of 20 decoded, looping past the file's end, stamped in order.
    assert 5 <= len(times) <= 9 and times == sorted(times)
    assert camera.stats.kept == len(times) and camera.stats.read < 20


def test_ina219_replay_serves_the_recorded_words_in_time() -> None:
    now = [0.0]
    bus = RecordedIna219Bus(RECORDED / "ina219_pi4.log", 0.5, clock=lambda: now[0])
    sensor = Ina219I2C(bus)
    first = sensor.read().watts
    now[0] = 0.6  # the next recorded sample
    second = sensor.read().watts
    assert 2.5 < first < 4.0 and 5.0 < second < 7.0  # idle, then a detection burst
    now[0] = 0.5 * len(bus.samples)  # the recording loops
    assert sensor.read().watts == first


def test_sensors_from_config_and_mains_power() -> None:
    ina = power_sensor("ina219", {"interval_ms": 500}, RECORDED / "ina219_pi4.log")
    sample = BoardSensors(ina).sample()
    assert sample.power is not None and sample.power.watts > 0
    assert sample.soc == MAINS_SOC  # an INA219 says nothing of a battery
    tegra = power_sensor("tegrastats", {"interval_ms": 50}, RECORDED / "tegrastats_nano.log")
    board = BoardSensors(tegra).sample()
    recorded = {s.input_w for s in tegrastats.replay(RECORDED / "tegrastats_nano.log")}
    assert board.power is not None and board.power.watts in recorded
    assert board.health.gpu_percent is not None  # the Jetson's GPU load comes with it
    assert power_sensor("none", {}, None) is None


def test_provisioning_copies_the_simulators_profile_and_assembly_its_policies() -> None:
    nano = DeviceProfile(**device_section("jetson_nano_10w"))
    assert nano.full_w == 10.0 and nano.full_latency_s > 0
    with pytest.raises(ProvisionError, match="unknown energy profile"):
        device_section("toaster")
    for name, (aware, transmit, _) in POLICY_SHAPES.items():
        policy = assemble.node_policy(name)
        assert policy.scheduler.constraint_aware is aware and policy.transmit is transmit
    assert assemble.node_policy("edgeqi").transmit is TransmitMode.ANOMALY


def test_energy_comparison_arithmetic() -> None:
    steps = [
        {"t": 100.0, "frames": 4, "full_s": 0.5, "reduced_s": 0.0, "power_w": 2.0, "msgs": []},
        {"t": 101.0, "frames": 4, "full_s": 0.5, "reduced_s": 0.0, "power_w": 4.0, "msgs": []},
        {"t": 102.0, "frames": 4, "full_s": 0.0, "reduced_s": 0.0, "power_w": 2.0, "msgs": []},
    ]
    assert measured_j(steps) == pytest.approx(3.0 + 3.0)
    model, messages, nbytes = predicted(steps, "jetson_nano_10w", 5000.0)
    p = DeviceProfile(**device_section("jetson_nano_10w"))
    # Two intervals of one second, half of each computing at full precision, no radio.
    assert model.total_j == pytest.approx(2 * (0.5 * p.full_w + 0.5 * p.idle_w))
    assert messages == nbytes == 0
    steps[0]["msgs"] = [[0, "heartbeat", 300, "edgeqi/v1/nodes/cam/heartbeat"]]
    model, messages, nbytes = predicted(steps, "jetson_nano_10w", 5000.0)
    assert messages == 1 and nbytes > 300 and model.by_state_j()["radio_tail"] > 0


def test_seq_continues_across_restarts_and_never_repeats_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "queue.db.seq"
    first = SeqReservation(path, block=100, margin=10)
    assert first.start == 0
    for seq in range(150):  # the node uses 0..149, reserving ahead as it goes
        first.ensure(seq)
    # Killed without a clean stop: the next run starts past everything it could have used.
    crashed = SeqReservation(path, block=100, margin=10)
    assert crashed.start >= 150 + 10
    crashed.close(crashed.start + 7)
    assert SeqReservation(path, block=100, margin=10).start == crashed.start + 7
    path.write_text("garbage\n")
    with pytest.raises(ValueError, match="not a sequence number"):
        SeqReservation(path)
