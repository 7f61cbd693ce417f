"""Suspicion (``edgeqi.consensus.suspicion``): consistent liars are caught within a bounded
number of decisions, honest cameras under the detector's noise are not."""

from __future__ import annotations

import numpy as np

from edgeqi.consensus.agreement import fuse_reports
from edgeqi.consensus.cycle import CycleParams
from edgeqi.consensus.suspicion import Suspicion

APPROACHES = ("N", "E", "S", "W")
CAMERAS = ("c0", "c1", "c2", "c3")


def decide(
    s: Suspicion, rng: np.random.Generator, queue: float, lie: float, noise: float = 0.5
) -> frozenset[str]:
    """One decision: four cameras count ``queue`` on every approach, ``c3`` times ``lie``."""
    reports = []
    for cam in CAMERAS:
        q = {a: max(0.0, queue + rng.normal(0.0, noise)) for a in APPROACHES}
        if cam == "c3":
            q = {a: v * lie for a, v in q.items()}
        reports.append((cam, {a: round(v, 2) for a, v in q.items()}))
    return s.observe(reports, fuse_reports([q for _, q in reports], f=1))


def test_a_liar_inflating_each_report_by_a_little_is_caught_within_two_decisions() -> None:
    """Inflating 10 vehicles by 30 % strays 3 vehicles per report: under the 6 vehicles a
    one-shot tolerance needs for honest noise, but it never averages out."""
    s = Suspicion(CycleParams().suspicion_rule)
    rng = np.random.default_rng(5)
    first = decide(s, rng, 10.0, 1.3)
    second = decide(s, rng, 10.0, 1.3)
    assert first | second == {"c3"}
    assert "c3" in second


def test_a_deflating_liar_is_caught_from_below_and_one_huge_lie_at_once() -> None:
    s = Suspicion(CycleParams().suspicion_rule)
    rng = np.random.default_rng(6)
    caught = [decide(s, rng, 12.0, 1 / 1.5) for _ in range(4)]
    assert caught[-1] == {"c3"} and s.low["c3"] > s.high["c3"]
    once = Suspicion(CycleParams().suspicion_rule)
    assert decide(once, rng, 5.0, 20.0) == {"c3"}


def test_how_long_a_liar_takes_grows_as_its_lie_shrinks_towards_the_noise() -> None:
    def decisions_to_catch(lie: float) -> int:
        s = Suspicion(CycleParams().suspicion_rule)
        rng = np.random.default_rng(8)
        for n in range(1, 200):
            if "c3" in decide(s, rng, 3.0, lie):
                return n
        return 200

    times = [decisions_to_catch(lie) for lie in (3.0, 1.5, 1.25)]
    assert times == sorted(times) and times[0] == 1 and times[-1] > times[0]


def test_honest_cameras_under_the_detectors_noise_are_never_suspected() -> None:
    """2,000 decisions (over 50 simulated hours of 90 s cycles), queues from empty to long."""
    s = Suspicion(CycleParams().suspicion_rule)
    rng = np.random.default_rng(7)
    suspected = [decide(s, rng, float(rng.uniform(0.0, 60.0)), 1.0) for _ in range(2000)]
    assert not any(suspected)
    assert max(*s.high.values(), *s.low.values()) < CycleParams().suspect_threshold / 2


def test_only_robustly_fused_approaches_count() -> None:
    """Two reports of an approach (fewer than 2f + 1) prove nothing about either camera."""
    s = Suspicion(CycleParams().suspicion_rule)
    reports = [("c0", {"N": 5.0}), ("c3", {"N": 500.0})]
    assert s.observe(reports, fuse_reports([q for _, q in reports], f=1)) == frozenset()
    assert s.high == {"c0": 0.0, "c3": 0.0}


def test_no_more_than_room_suspects_are_left_out_the_worst_first() -> None:
    """Beyond f liars every camera's sum can cross the threshold; the replicas leave out
    at most f of them, those that strayed most (ties broken by name, so alike on every
    replica)."""
    s = Suspicion(CycleParams().suspicion_rule)
    s.high.update({"c0": 9.0, "c1": 30.0, "c2": 9.0})
    s.low.update({"c3": 20.0})
    every = frozenset({"c0", "c1", "c2", "c3"})
    assert s.worst(every, 2) == {"c1", "c3"}
    assert s.worst(every, 3) == {"c0", "c1", "c3"}
    assert s.worst(every, 0) == frozenset()
    assert s.worst(every, -1) == frozenset()
