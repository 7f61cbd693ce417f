"""One camera's signal cycle (``edgeqi.consensus.cycle``): which reports it keeps, when it
proposes, what it derives from a decision, and the rules' validation."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from edgeqi.consensus import Decision, Verifier
from edgeqi.consensus.agreement import sign_report, webster_plan
from edgeqi.consensus.cycle import CycleOutput, CycleParams, CycleReplica, Tally
from edgeqi.consensus.messages import Phase
from edgeqi.protocol import ConsensusMessage
from tests.edgeqi.consensus.harness import keys_for

MEMBERS = ("c0", "c1", "c2", "c3")
"""``c0`` is the primary of view 0: its request shows as a pre-prepare."""
KEYS = keys_for(MEMBERS)
PARAMS = CycleParams()
T = 100 * PARAMS.cycle_s
"""Cycle 100 starts here."""


def primary() -> CycleReplica:
    public = {m: k.public for m, k in KEYS.items()}
    visible = dict.fromkeys(MEMBERS, ("N", "E", "S", "W"))
    return CycleReplica(PARAMS, "i1", MEMBERS, KEYS["c0"].signer(), Verifier(public), visible)


def report(member: str, cycle: int, vehicles: float = 5.0, ts: float = T) -> ConsensusMessage:
    queues = dict.fromkeys(("N", "E", "S", "W"), vehicles)
    return sign_report(KEYS[member].signer(), "i1", cycle, queues, 1, ts)


def proposed(out: CycleOutput) -> list[str] | None:
    """The cameras whose reports the primary proposed, if it proposed."""
    for _, m in out.messages:
        if m.phase == Phase.PRE_PREPARE:
            value = json.loads(m.body)["value"]
            return [r["node_id"] for r in json.loads(value)]
    return None


def test_all_reports_make_a_request_at_once() -> None:
    c = primary()
    assert proposed(c.start(T, 100, {"N": 5.0})) is None
    assert proposed(c.receive(T + 0.01, report("c1", 100))) is None
    assert proposed(c.receive(T + 0.02, report("c2", 100))) is None
    assert proposed(c.receive(T + 0.03, report("c3", 100))) == list(MEMBERS)


def test_a_quorum_suffices_once_the_collect_deadline_has_passed() -> None:
    """At the deadline a camera holds too few; the quorum's last report, arriving later,
    is proposed at once (not only once all n have come, which a silent camera prevents)."""
    c = primary()
    c.start(T, 100, {"N": 5.0})
    c.receive(T + 0.01, report("c1", 100))
    assert c.next_deadline == T + PARAMS.collect_s
    assert proposed(c.tick(T + PARAMS.collect_s)) is None  # two of a quorum of three
    assert proposed(c.receive(T + 1.5, report("c2", 100))) == ["c0", "c1", "c2"]


def test_a_camera_with_nothing_to_report_proposes_nothing() -> None:
    c = primary()
    c.start(T, 100, None)
    for m in ("c1", "c2", "c3"):
        assert proposed(c.receive(T + 0.1, report(m, 100))) is None
    assert c.next_deadline is None


def test_stale_early_duplicate_and_equivocating_reports() -> None:
    c = primary()
    c.start(T, 100, {"N": 5.0})
    c.receive(T + 0.1, report("c1", 100))
    c.receive(T + 0.2, report("c1", 100))  # the same message again
    c.receive(T + 0.3, report("c1", 100, vehicles=9.0))  # another report for the same cycle
    c.receive(T + 0.4, report("c2", 99))  # cycle 99 never started here
    c.receive(T + 0.4, report("c2", 102))  # too far ahead
    c.receive(T + PARAMS.cycle_s + 1.0, report("c3", 100))  # more than a cycle late
    forged = report("c2", 100).model_copy(update={"node_id": "c3"})
    c.receive(T + 0.5, forged)
    assert c.rejected == {"duplicate": 1, "equivocation": 1, "stale_seq": 3, "bad_signature": 1}
    # A report for the next cycle (its sender's clock a little ahead) waits for it.
    for m in ("c1", "c2", "c3"):
        c.receive(T + PARAMS.cycle_s - 0.01, report(m, 101))
    assert proposed(c.start(T + PARAMS.cycle_s, 101, {"N": 5.0})) == list(MEMBERS)


def test_a_plan_counts_only_the_approaches_of_the_signals_phases() -> None:
    plan = PARAMS.plan({"N": 30.0, "S": 10.0, "E": 6.0, "W": 3.0, "bike": 80.0})
    assert plan == webster_plan([30.0, 6.0], 1.0, 90.0, 8.0)


def test_rules_that_cannot_hold_are_refused() -> None:
    with pytest.raises(ValidationError, match="one phase only"):
        CycleParams(phases=(("N", "S"), ("S", "W")))
    with pytest.raises(ValidationError, match="window"):
        CycleParams(checkpoint_interval=8, window=4)
    with pytest.raises(ValidationError, match="lost_time_s"):
        CycleParams(cycle_s=5.0)


def test_a_controller_acts_once_f_plus_one_cameras_decided_the_same() -> None:
    tally = Tally(f=1)
    a, b = (Decision(1, 0, "cycle-7", v, v) for v in ("A", "B"))
    assert not tally.vote(a)
    assert not tally.vote(b)
    assert tally.vote(a)
    assert not tally.vote(a)
    assert tally.adopted == {"cycle-7"}
