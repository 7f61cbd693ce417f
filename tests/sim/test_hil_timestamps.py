"""Hardware-in-the-loop: no message reaches its transport before the time it carries.

A node's step plans its work over the coming observation period and stamps each message
with the moment the scheduler finishes encoding it (detection compute time plus encoding
after the tick). In real time the simulator must hand the message over at that moment,
not at the tick: otherwise the backend receives it before it was "sent" and the
dashboard's node -> backend latency (received_ms - ts_ms) comes out negative (it was
-110 to -130 ms: four frames of detection on the Jetson profile).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from edgeqi.protocol import Message
from sim.realtime import anchored
from sim.runner import PolicySimulation
from sim.scenario_config import ScenarioConfig

Make = Callable[..., ScenarioConfig]


def test_real_time_hands_each_message_over_no_earlier_than_its_timestamp(
    scenario: Make,
) -> None:
    # As experiments.loadtest.dashboard_server runs the city: a backfill, then the wall clock.
    scn = scenario(
        "city=small", "duration_s=5", "workload.observe_period_s=1.0", "realtime.mode=real",
        "realtime.backfill_s=2", "realtime.max_lag_s=30",
    )  # fmt: skip
    sim = PolicySimulation(anchored(scn), "stream_all", record_queues=False)
    handed: list[tuple[float, Message]] = []
    sim.sink = lambda _k, m: handed.append((time.time(), m))
    sim.run()
    assert len(handed) > 20
    live = [(at, m) for at, m in handed if m.ts > sim.t0 + 2.5]
    assert live, "messages after the backfill, while the run follows the wall clock"
    early = [(m.kind, round((m.ts - at) * 1000, 1)) for at, m in handed if at < m.ts]
    assert not early, f"handed over before their timestamp (kind, ms early): {early[:5]}"
    # Every message the nodes produced was handed over, none held back at the end, and
    # each node's in its sequence (waiting for one's time holds back those after it).
    assert len(handed) == len(sim.collector.messages_frame())
    for node in {m.node_id for _, m in handed}:
        seqs = [m.seq for _, m in handed if m.node_id == node]
        assert seqs == sorted(seqs)
