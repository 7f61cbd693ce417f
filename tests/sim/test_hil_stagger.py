"""Hardware-in-the-loop publishing spread over the observation period.

The simulator steps every node at one tick; ``HilNodes`` hands node ``k`` of ``n`` to its
transport ``k/n`` of the period later, so that a city does not publish in one burst.
No broker is needed: the transports are never started and their ``send`` is recorded.
"""

from __future__ import annotations

import time

from edgeqi.protocol import Message, QueueObservation
from experiments.runs.compose import compose_scenario
from sim.hil import HilNodes, spread_s
from sim.realtime import HilConfig

NODES = ["n00000", "n00001", "n00002", "n00003"]


def observation(node: str, seq: int) -> Message:
    return QueueObservation(
        node_id=node, seq=seq, ts=1.0, intersection="i1", approach="N", vehicles=1, length_m=5
    )


def recording(spread: float) -> tuple[HilNodes, list[tuple[str, int]]]:
    nodes = HilNodes(HilConfig(broker_url="mqtt://127.0.0.1:1"), NODES, spread_s=spread)
    sent: list[tuple[str, int]] = []

    def record(message: Message) -> bool:
        sent.append((message.node_id, message.seq))
        return True

    for transport in nodes.transports.values():
        transport.send = record
    return nodes, sent


def test_nodes_publish_in_phase_order_and_each_keeps_its_own_order() -> None:
    nodes, sent = recording(spread=0.4)
    # One tick: the simulator steps the nodes last to first; node 2 sends twice.
    for node, seq in [("n00003", 0), ("n00002", 0), ("n00002", 1), ("n00001", 0), ("n00000", 0)]:
        nodes(0, observation(node, seq))
    assert sent == [("n00000", 0)], "phase 0 goes at once, the others wait for their phase"
    deadline = time.monotonic() + 5
    while len(sent) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sent == [("n00000", 0), ("n00001", 0), ("n00002", 0), ("n00002", 1), ("n00003", 0)]
    assert nodes.published == 5
    nodes.close(flush=False)


def test_closing_hands_over_what_still_waits() -> None:
    nodes, sent = recording(spread=600.0)
    for node in NODES:
        nodes(0, observation(node, 7))
    assert len(sent) == 1
    nodes.close(flush=False)
    assert sorted(sent) == [(n, 7) for n in NODES]


def test_the_spread_is_one_observation_period_of_wall_time() -> None:
    scn = compose_scenario(["workload.observe_period_s=2.0", "realtime.mode=real",
                            "realtime.speed=4"])  # fmt: skip
    assert spread_s(scn) == 0.5
    off = compose_scenario(["realtime.mode=real", "realtime.hil.stagger=false"])
    assert spread_s(off) == 0.0
    backfill = compose_scenario(["realtime.mode=real", "realtime.backfill_s=60"])
    assert spread_s(backfill) == 0.0, "the past is replayed at full speed, not in phases"
