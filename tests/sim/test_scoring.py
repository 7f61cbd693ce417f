"""Strict scoring: a report counts only while its episode is active, and false ones cost."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.collector import REPORT_COLUMNS
from sim.scoring import policy_metrics
from sim.traffic import Episode, EpisodeKind

SURGE = Episode(id=0, kind=EpisodeKind.SURGE, intersection=3, approach=1, onset=100.0, end=400.0)
"""A demand surge on i0003's east approach from 100 s; its queue drains by 460 s."""
EFFECT_END = {0: 460.0}


def _reports(*rows: tuple[str, str, str, float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "node": 12,
                "intersection": inter,
                "approach": approach,
                "anomaly": anomaly,
                "priority": "critical",
                "event_at": event,
                "received_at": received,
                "source": "node",
            }
            for inter, approach, anomaly, event, received in rows
        ],
        columns=list(REPORT_COLUMNS),
    )


def _metrics(reports: pd.DataFrame, **kw: float | int) -> dict[str, object]:
    messages = pd.DataFrame({"kind": [], "wire_bytes": [], "arrival": []})
    metrics, _, _ = policy_metrics(
        episodes=[SURGE],
        effect_end=EFFECT_END,
        reports=reports,
        messages=messages,
        video_bytes=0,
        energy_j=1.0,
        energy_by_state={},
        critical_total=0,
        critical_missed=0,
        node_hours=1.0,
        extra={},
        **kw,
    )
    return metrics


def test_report_after_the_effect_ended_does_not_detect() -> None:
    late = _reports(("i0003", "E", "queue_spike", 470.0, 470.1))
    m = _metrics(late)
    assert m["anomaly_recall"] == 0.0
    assert m["false_alarms"] == 1
    assert m["detection_delay_s_p50"] is None


def test_report_while_active_detects_and_is_timed_from_onset() -> None:
    m = _metrics(_reports(("i0003", "E", "queue_spike", 130.0, 130.2)))
    assert m["anomaly_recall"] == 1.0
    assert m["anomaly_precision"] == 1.0
    assert m["detection_delay_s_p50"] == pytest.approx(30.2)
    surge = m["by_kind"]["surge"]  # type: ignore[index]
    assert surge["episodes"] == 1 and surge["detected"] == 1
    assert surge["time_to_detect_s_p90"] == pytest.approx(30.2)


def test_tolerance_is_a_named_setting_that_widens_the_window() -> None:
    late = _reports(("i0003", "E", "queue_spike", 470.0, 470.1))
    assert _metrics(late, tolerance_s=20.0)["anomaly_recall"] == 1.0


def test_false_report_lowers_precision_and_f1() -> None:
    true = ("i0003", "E", "queue_spike", 130.0, 130.2)
    wrong_place = ("i0004", "E", "queue_spike", 130.0, 130.2)
    wrong_approach = ("i0003", "N", "queue_shift", 200.0, 200.2)
    clean = _metrics(_reports(true))
    noisy = _metrics(_reports(true, wrong_place, wrong_approach))
    assert noisy["anomaly_recall"] == clean["anomaly_recall"] == 1.0
    assert noisy["anomaly_precision"] == pytest.approx(1 / 3)
    assert noisy["anomaly_f1"] == pytest.approx(0.5)
    assert noisy["false_alarms"] == 2
    assert noisy["by_kind"]["surge"]["precision"] == pytest.approx(1 / 3)  # type: ignore[index]


def test_report_received_after_the_episode_ended_is_not_actionable() -> None:
    prompt = ("i0003", "E", "queue_spike", 130.0, 130.2)
    stale = ("i0003", "E", "queue_spike", 450.0, 465.0)  # seen while active, arrived after
    m = _metrics(_reports(prompt, stale))
    assert m["anomaly_precision"] == 1.0
    assert m["actionable_share"] == pytest.approx(0.5)


def test_placebo_recall_counts_reports_that_match_a_moved_episode() -> None:
    here = ("i0003", "E", "queue_spike", 130.0, 130.2)
    next_door = ("i0004", "E", "queue_spike", 200.0, 200.2)
    assert _metrics(_reports(here), intersections=25)["placebo_recall"] == 0.0
    lucky = _metrics(_reports(here, next_door), intersections=25)
    assert lucky["placebo_recall"] == 1.0
    assert lucky["anomaly_recall"] == 1.0
