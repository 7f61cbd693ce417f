"""What the cameras agree on: robust fusion, Webster plan, coverage, signed report sets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edgeqi.consensus import Verifier
from edgeqi.consensus.agreement import (
    assign_coverage,
    cycle_request,
    fuse,
    green_wave_offsets,
    parse_cycle_request,
    sign_report,
    webster_plan,
)
from tests.edgeqi.consensus.harness import keys_for

counts = st.floats(0.0, 200.0, allow_nan=False)
lies = st.floats(0.0, 1e5, allow_nan=False)


@settings(max_examples=500, deadline=None)
@given(st.lists(counts, min_size=5, max_size=5), st.lists(lies, min_size=0, max_size=2))
def test_two_liars_among_seven_cameras_stay_inside_the_honest_range(
    honest: list[float], liars: list[float]
) -> None:
    values = honest + liars + honest[: 2 - len(liars)]  # seven reports, at most two lies
    got = fuse(values, f=2)
    assert got.robust and got.reports == 7
    assert min(honest) - 1e-9 <= got.vehicles <= max(honest) + 1e-9


def test_inflating_liars_move_a_median_less_than_a_mean() -> None:
    honest = [10.0, 11.0, 12.0, 10.5, 11.5]
    got = fuse([*honest, 500.0, 800.0], f=2)
    assert 10.0 <= got.vehicles <= 12.0
    assert not fuse([3.0, 900.0], f=1).robust


def test_webster_gives_the_busier_phase_more_green_and_longer_cycles_when_busy() -> None:
    light = webster_plan([5.0, 5.0], saturation_veh_per_s=1.0, current_cycle_s=90.0, lost_time_s=8)
    busy = webster_plan([45.0, 15.0], saturation_veh_per_s=1.0, current_cycle_s=90.0, lost_time_s=8)
    assert light.split_phase0 == 0.5
    assert busy.split_phase0 == 0.75
    assert busy.cycle_s > light.cycle_s >= 40.0
    saturated = webster_plan([200.0, 200.0], 1.0, 90.0, 8)
    assert saturated.cycle_s == 150.0


def test_coverage_watches_every_approach_once_and_avoids_suspects() -> None:
    visible = {"c0": ("N", "E"), "c1": ("E", "S"), "c2": ("S", "W"), "c3": ("W", "N")}
    for cycle in range(8):
        cov = assign_coverage(visible, cycle)
        watched = sorted(a for aps in cov.values() for a in aps)
        assert watched == ["E", "N", "S", "W"]
        assert all(set(aps) <= set(visible[c]) for c, aps in cov.items())
    assert len({tuple(sorted(assign_coverage(visible, c).items())) for c in range(4)}) > 1
    cov = assign_coverage(visible, 1, excluded=frozenset({"c0"}))
    assert cov["c0"] == ()
    assert assign_coverage(visible, 5, audit_every=5) == {
        c: tuple(sorted(v)) for c, v in visible.items()
    }
    double = assign_coverage(visible, 0, redundancy=2)
    assert sorted(a for aps in double.values() for a in aps) == [
        "E",
        "E",
        "N",
        "N",
        "S",
        "S",
        "W",
        "W",
    ]


def test_green_wave_offsets_follow_travel_time() -> None:
    off = green_wave_offsets(["a", "b", "c"], spacing_m=300.0, speed_mps=12.5, cycle_s=90.0)
    assert off == {"a": 0.0, "b": 24.0, "c": 48.0}


def test_cycle_request_accepts_quorum_of_signed_reports_and_refuses_forgeries() -> None:
    members = tuple(f"cam-{i}" for i in range(4))
    keys = keys_for(members)
    verifier = Verifier({m: k.public for m, k in keys.items()})
    reports = [
        sign_report(keys[m].signer(), "int-1", 7, {"N": 3.0 + i}, seq=1, ts=1.0)
        for i, m in enumerate(members[:3])
    ]
    got = parse_cycle_request(cycle_request(reports), "int-1", 7, 3, verifier, members)
    assert got == [("cam-0", {"N": 3.0}), ("cam-1", {"N": 4.0}), ("cam-2", {"N": 5.0})]
    assert parse_cycle_request(cycle_request(reports[:2]), "int-1", 7, 3, verifier, members) is None
    assert parse_cycle_request(cycle_request(reports), "int-1", 8, 3, verifier, members) is None
    tampered = reports[0].model_copy(update={"body": '{"N":99.0}'})
    bad = cycle_request([tampered, *reports[1:]])
    assert parse_cycle_request(bad, "int-1", 7, 3, verifier, members) is None
    dup = cycle_request([reports[0], reports[0], reports[1]])
    assert parse_cycle_request(dup, "int-1", 7, 3, verifier, members) is None
