"""The learned-policy plug-in point: what the node asks, and that each answer is obeyed."""

from __future__ import annotations

from edgeqi.node import EdgeNode, NodeInputs, NodeOutputs
from edgeqi.policy_hook import OBSERVATION_FIELDS, PolicyAction, PolicyObservation
from edgeqi.protocol import AnomalyReport
from edgeqi.transmission import Action
from tests.edgeqi.test_node import T0, Window, make

QUIET = [(5.0, 6.0), (6.0, 5.0)] * 30  # 60 windows, 12 signal cycles of 10 s
SPIKE = [(40.0, 6.0)] * 20  # 4 cycles: Algorithm 2 confirms an anomaly on 2 of 3 cycles


def drive(
    node: EdgeNode, windows: list[tuple[float, float]], soc: float = 0.9
) -> list[NodeOutputs]:
    return [
        node.step(T0 + 2.0 * i, NodeInputs(window=Window(v), battery_soc=soc))
        for i, v in enumerate(windows)
    ]


def alerts(outs: list[NodeOutputs]) -> list[AnomalyReport]:
    return [o.message for out in outs for o in out.messages if isinstance(o.message, AnomalyReport)]


class Recording:
    def __init__(self, action: PolicyAction) -> None:
        self.action = action
        self.seen: list[PolicyObservation] = []

    def __call__(self, observation: PolicyObservation) -> PolicyAction:
        self.seen.append(observation)
        return self.action


def learned(action: PolicyAction) -> tuple[EdgeNode, Recording]:
    node, _ = make()
    policy = Recording(action)
    node.learned = policy
    return node, policy


def test_the_policy_sees_the_nodes_own_measurements_once_a_window() -> None:
    node, policy = learned(PolicyAction(Action.TRANSMIT_NOW))
    drive(node, QUIET + SPIKE[:3], soc=0.64)
    assert len(policy.seen) == len(QUIET) + 3
    last = policy.seen[-1]
    assert last.queue_now == 40.0  # the window just detected
    assert last.peak_z > 6.0  # the running cycle peak against the baseline of quiet cycles
    assert last.battery_soc == 0.64
    assert 0.0 <= last.cycle_progress <= 1.0
    assert policy.seen[30].peak_1 in (5.0, 6.0)  # a closed cycle's peak
    assert len(last.vector()) == len(OBSERVATION_FIELDS)


def test_discard_silences_the_spike_that_algorithm_2_reports() -> None:
    plain, _ = make()
    assert any(a.value == 40.0 for a in alerts(drive(plain, QUIET + SPIKE)))
    node, _ = learned(PolicyAction(Action.DISCARD))
    assert alerts(drive(node, QUIET + SPIKE)) == []
    assert node.transmitter.stats.by_action[Action.DISCARD] > 0


def test_transmit_now_without_clip_reports_every_cycle_and_sends_no_video() -> None:
    node, _ = learned(PolicyAction(Action.TRANSMIT_NOW, clip=False))
    outs = drive(node, QUIET)
    assert len(alerts(outs)) >= 10  # every closed cycle of both approaches, quiet or not
    assert not any(out.video for out in outs)
    clipped, _ = learned(PolicyAction(Action.TRANSMIT_NOW, clip=True))
    assert any(out.video for out in drive(clipped, QUIET))


def test_reduced_precision_runs_the_int8_detector_on_a_full_battery() -> None:
    node, _ = make()
    assert sum(out.compute_reduced_s for out in drive(node, QUIET)) == 0.0
    node, perception = make()
    node.learned = Recording(PolicyAction(Action.BATCH, reduced=True))
    outs = drive(node, QUIET)
    assert perception.reduced_calls == len(QUIET) - 1  # the first window precedes any answer
    assert sum(out.compute_reduced_s for out in outs) > 0.0
