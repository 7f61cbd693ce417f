"""M-of-N confirmation: single windows of evidence are not reports; sustained evidence is."""

from __future__ import annotations

import pytest

from edgeqi.evidence import EventConfirmer, MOfN
from edgeqi.protocol import AnomalyReport, AnomalyType
from tests.edgeqi.test_node import Window, make, messages, run


def test_confirmed_on_the_mth_window_of_the_last_n() -> None:
    c = EventConfirmer(approaches=1, m=2, n=3, clear_s=60.0)
    seen = [True, False, False, False, True, False, True, True, True]
    fired = [c.update(0, s, 2.0 * k) for k, s in enumerate(seen)]
    # windows 0 and 4 are isolated; window 6 is the second sighting in windows 4-6
    assert fired == [False, False, False, False, False, False, True, False, False]


def test_a_confirmed_event_is_new_again_only_after_clear_s_unconfirmed() -> None:
    c = EventConfirmer(approaches=2, m=1, n=1, clear_s=10.0)
    assert c.update(1, True, 0.0)
    assert not c.update(1, True, 8.0)  # still the same event
    assert not c.update(0, False, 8.0)
    assert c.update(0, True, 9.0), "approaches are independent"
    assert not c.update(1, True, 17.0)  # confirmed 9 s after the last confirmation
    assert c.update(1, True, 40.0)


def test_rejects_impossible_rules() -> None:
    with pytest.raises(ValueError, match="m <= n"):
        EventConfirmer(1, m=4, n=3, clear_s=1.0)


def test_node_ignores_isolated_false_sightings_and_reports_sustained_ones() -> None:
    node, _ = make()
    flicker = [Window((5.0, 6.0), emergency=(k % 4 == 0, False)) for k in range(40)]
    steady = [Window((5.0, 6.0), emergency=(False, True))] * 3
    reports = [m for m in messages(run(node, flicker + steady)) if isinstance(m, AnomalyReport)]
    assert [(r.anomaly, r.approach) for r in reports] == [(AnomalyType.EMERGENCY_VEHICLE, "E")]
    assert reports[0].observed_at >= 1_700_000_000.0 + 2.0 * 41, "confirmed on the 2nd window"


def test_update_all_matches_one_approach_at_a_time() -> None:
    one, every = EventConfirmer(2, 2, 3, 60.0), EventConfirmer(2, 2, 3, 60.0)
    windows = [(False, False), (True, False), (False, False), (True, True), (False, True)]
    for k, flags in enumerate(windows * 3):
        t = 2.0 * k
        expected = [i for i, seen in enumerate(flags) if one.update(i, seen, t)]
        assert every.update_all(flags, t) == expected


def test_back_to_back_emergencies_on_one_approach_are_two_reports() -> None:
    """Two emergency vehicles 30 s apart on one approach (20 s of nothing between them):
    the second is a new event, not a repeat of the first (it was swallowed by a rule that
    counted any confirmation within 60 s of the last one as the same event)."""
    node, _ = make()
    quiet = [Window((5.0, 6.0))] * 20
    vehicle = [Window((5.0, 6.0), emergency=(False, True))] * 5
    gap = [Window((5.0, 6.0))] * 10
    outs = run(node, quiet + vehicle + gap + vehicle + quiet)
    reports = [
        m
        for m in messages(outs)
        if isinstance(m, AnomalyReport) and m.anomaly == AnomalyType.EMERGENCY_VEHICLE
    ]
    assert [r.approach for r in reports] == ["E", "E"]
    assert reports[1].observed_at - reports[0].observed_at == pytest.approx(30.0, abs=2.1)


def test_a_detector_missing_a_few_windows_of_one_vehicle_reports_it_once() -> None:
    node, _ = make()
    seen = Window((5.0, 6.0), emergency=(True, False))
    missed = Window((5.0, 6.0))
    flicker = [seen, seen, missed, missed, seen, missed, seen, seen, missed, missed, missed, seen]
    outs = run(node, [missed] * 10 + flicker * 3)
    reports = [m for m in messages(outs) if isinstance(m, AnomalyReport)]
    assert [(r.anomaly, r.approach) for r in reports] == [(AnomalyType.EMERGENCY_VEHICLE, "N")]


def test_mofn_confirms_per_key() -> None:
    c = MOfN(m=2, n=2)
    assert [c.push("a", s) for s in (True, False, True, True, True)] == [
        False,
        False,
        False,
        True,
        True,
    ]
    assert not c.push("b", True), "keys are independent"
