"""EdgeNode: the layers composed, driven with constructed perception and time."""

from __future__ import annotations

from dataclasses import dataclass

from edgeqi.energy import DeviceProfile
from edgeqi.node import EdgeNode, NodeConfig, NodeInputs, NodePolicy, TransmitMode, VideoMode
from edgeqi.perception import FrameCheck, WindowObservation
from edgeqi.protocol import (
    AnomalyReport,
    AnomalyType,
    Heartbeat,
    ModelMode,
    QueueObservation,
    decode,
    encode,
)
from edgeqi.scheduling import SchedulerConfig
from edgeqi.transmission import TransmissionConfig

PROFILE = DeviceProfile("p", 2.0, 5.0, 4.0, 0.04, 0.02, 1.288, 0.438, 11.576, 1.06)
T0 = 1_700_000_000.0


@dataclass
class Window:
    vehicles: tuple[float, float]
    fault: str | None = None
    emergency: tuple[bool, bool] = (False, False)


class ScriptedPerception:
    """Reports exactly what the test's window says (the node's perception interface)."""

    def __init__(self) -> None:
        self.reduced_calls = 0

    def check(self, window: object) -> FrameCheck:
        assert isinstance(window, Window)
        if window.fault:
            return FrameCheck(good=0, rejected={window.fault: 4})
        return FrameCheck(good=4)

    def observe(self, window: object, reduced: bool, with_detections: bool) -> WindowObservation:
        assert isinstance(window, Window)
        self.reduced_calls += reduced
        return WindowObservation(
            vehicles=window.vehicles,
            queue_m=tuple(v * 3.5 for v in window.vehicles),
            wait_s=(10.0, 10.0),
            emergency=window.emergency,
        )


def make(
    transmit: TransmitMode = TransmitMode.ANOMALY, profile: DeviceProfile = PROFILE
) -> tuple[EdgeNode, ScriptedPerception]:
    policy = NodePolicy(
        name="t",
        scheduler=SchedulerConfig(),
        transmission=TransmissionConfig(),
        transmit=transmit,
        video=VideoMode.ON_CRITICAL,
    )
    cfg = NodeConfig(
        node_id="n00007",
        intersection="i0001",
        approaches=("N", "E"),
        profile=profile,
        policy=policy,
        observe_period_s=2.0,
        heartbeat_period_s=30.0,
        frames_per_observation=4,
        cycle_s=10.0,
    )
    perception = ScriptedPerception()
    return EdgeNode(cfg, perception, started_at=T0), perception


def run(node: EdgeNode, windows: list[Window], soc: float = 0.8, start: float = T0):  # type: ignore[no-untyped-def]
    outs = []
    for k, w in enumerate(windows):
        outs.append(node.step(start + 2.0 * k, NodeInputs(window=w, battery_soc=soc)))
    return outs


def messages(outs) -> list:  # type: ignore[no-untyped-def]
    return [o.message for out in outs for o in out.messages]


def test_quiet_traffic_sends_only_heartbeats_and_batches() -> None:
    node, _ = make()
    outs = run(node, [Window((5.0, 6.0))] * 120)
    kinds = {m.kind for m in messages(outs)}
    assert kinds <= {"heartbeat", "batch"}
    assert "heartbeat" in kinds


def test_a_queue_spike_is_reported_critical_with_a_clip() -> None:
    node, _ = make()
    calm = [Window((5.0 + (k % 3), 6.0)) for k in range(100)]
    # Three cycles (cycle_s = 10 s): reported once two are scored (2-of-3 confirmation).
    outs = run(node, [*calm, *[Window((60.0, 6.0))] * 15])
    reports = [m for m in messages(outs) if isinstance(m, AnomalyReport)]
    assert reports, "a queue ten times its usual peak must be reported"
    first = reports[0]
    assert first.approach == "N" and first.priority == "critical"
    assert first.observed_at >= T0 + 200.0
    assert sum(len(o.video) for o in outs) == 1, "one clip per anomaly, not one per cycle"


def test_seq_increases_and_messages_encode() -> None:
    node, _ = make(TransmitMode.ALL)
    outs = run(node, [Window((5.0, 6.0))] * 30)
    msgs = messages(outs)
    assert [m.seq for m in msgs] == list(range(len(msgs)))
    assert all(decode(encode(m)) == m for m in msgs)
    assert sum(isinstance(m, QueueObservation) for m in msgs) == 60


def test_low_battery_switches_detection_to_reduced_mode() -> None:
    node, perception = make()
    outs = run(node, [Window((5.0, 6.0))] * 20, soc=0.1)
    assert perception.reduced_calls == 20
    assert all(o.compute_reduced_s > 0.0 for o in outs)
    assert sum(o.compute_full_s for o in outs) < 0.01, "only message encoding runs at full power"
    beat = next(m for m in messages(outs) if isinstance(m, Heartbeat))
    assert beat.mode == ModelMode.REDUCED


def test_broken_camera_is_reported_once() -> None:
    node, _ = make()
    outs = run(node, [Window((5.0, 6.0))] * 5 + [Window((0.0, 0.0), fault="black")] * 20)
    faults = [
        m
        for m in messages(outs)
        if isinstance(m, AnomalyReport) and m.anomaly == AnomalyType.CAMERA_FAULT
    ]
    assert len(faults) == 1
    beat = [m for m in messages(outs) if isinstance(m, Heartbeat)][-1]
    assert beat.frames_rejected > 0


def test_emergency_vehicle_reported_on_first_sighting_only() -> None:
    node, _ = make()
    windows = [Window((5.0, 6.0))] * 5 + [Window((5.0, 6.0), emergency=(False, True))] * 8
    reports = [m for m in messages(run(node, windows)) if isinstance(m, AnomalyReport)]
    assert [(r.anomaly, r.approach) for r in reports] == [(AnomalyType.EMERGENCY_VEHICLE, "E")]


def test_board_health_reaches_the_heartbeat_only_where_the_runtime_reads_it() -> None:
    node, _ = make()
    w = Window((1.0, 1.0))
    beat = next(
        m
        for k in range(16)
        for o in node.step(
            T0 + 2.0 * k,
            NodeInputs(window=w, battery_soc=0.8, cpu=1.7, mem_mb=812.5, temp_c=51.0),
        ).messages
        if isinstance(m := o.message, Heartbeat)
    )
    assert (beat.cpu, beat.mem_mb, beat.temp_c) == (1.0, 812.5, 51.0)  # load clamped to 1
    sim_node, _ = make()
    plain = next(m for m in messages(run(sim_node, [w] * 16)) if isinstance(m, Heartbeat))
    assert b'"cpu"' not in encode(plain) and plain.temp_c is None  # the simulator's bytes


def test_one_unusual_cycle_is_batched_not_reported_two_are_reported() -> None:
    """Algorithm 2's M-of-N confirmation (2 of the last 3 cycles by default)."""
    calm = [Window((5.0 + (k % 3), 6.0)) for k in range(100)]
    one_cycle = [Window((40.0, 6.0))] * 5  # cycle_s = 10: five windows
    node, _ = make()
    outs = run(node, [*calm, *one_cycle, *calm])
    assert not [m for m in messages(outs) if isinstance(m, AnomalyReport)]
    batched = [m for m in messages(outs) if m.kind == "batch"]
    assert any(m.max_vehicles >= 40.0 for m in batched), "the unusual cycle is not lost"
    node, _ = make()
    outs = run(node, [*calm, *one_cycle, *one_cycle, *calm])
    reports = [m for m in messages(outs) if isinstance(m, AnomalyReport)]
    assert reports and reports[0].approach == "N" and reports[0].priority == "critical"


def test_a_placed_node_names_its_place_in_the_heartbeat_an_unplaced_one_does_not() -> None:
    """The map needs coordinates, but a node without any must send the old heartbeat."""
    from dataclasses import replace

    from edgeqi.protocol import Location

    plain, _ = make()
    placed, _ = make()
    placed.config = replace(placed.config, location=Location(lat=52.52, lon=13.405), approach="E")
    w = [Window((5.0, 6.0))] * 16
    beat = next(m for m in messages(run(placed, w)) if isinstance(m, Heartbeat))
    assert beat.location == Location(lat=52.52, lon=13.405)
    assert (beat.intersection, beat.approach) == ("i0001", "E")
    old = next(m for m in messages(run(plain, w)) if isinstance(m, Heartbeat))
    assert old.location is None and old.intersection is None and old.approach is None
