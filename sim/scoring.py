"""Figures of the results contract, computed from what the run recorded.

Recall is counted against the ground-truth episodes of the simulated world; delay
and latency are timestamps subtracted; bytes and joules are sums of what was sent
and drawn. Nothing here is assumed per event.

Scoring is strict (DESIGN.md, principle 6): a report detects an episode only if it was
seen while the episode was active (no grace unless ``scoring.tolerance_s`` says so), every
report that describes no episode is a false alarm and lowers precision, and a report is
*actionable* only if it reached the backend before its episode was over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sim.traffic import APPROACH_NAMES, Episode, EpisodeKind

QUEUE_ANOMALIES = ("queue_spike", "queue_shift")
INCIDENT_ANOMALIES = (*QUEUE_ANOMALIES, "stalled_vehicle")

CLAIMABLE: dict[str, tuple[EpisodeKind, ...]] = {
    "queue_spike": (EpisodeKind.INCIDENT, EpisodeKind.SURGE),
    "queue_shift": (EpisodeKind.INCIDENT, EpisodeKind.SURGE),
    "stalled_vehicle": (EpisodeKind.INCIDENT,),
    "emergency_vehicle": (EpisodeKind.EMERGENCY,),
    "camera_fault": (EpisodeKind.CAMERA_FAULT,),
}
"""The episode kinds a report of each anomaly type can describe. A report that matches
nothing is a false alarm against every kind it could have claimed, so a false queue alarm
lowers the precision of both incidents and surges."""


@dataclass(frozen=True, slots=True)
class Matching:
    """Which episodes were detected (and when first received) and what each report was."""

    detected: list[bool]
    first_received: list[float]
    report_matched: np.ndarray
    """Per report: it fell inside some episode's active window at that episode's place."""
    report_actionable: np.ndarray
    """Per report: it matched an episode and reached the backend while that one was active."""
    report_kind_matched: dict[EpisodeKind, np.ndarray]
    """Per episode kind, per report: it matched an episode of this kind."""


def intersection_name(i: int) -> str:
    return f"i{i:04d}"


def node_name(n: int) -> str:
    return f"n{n:05d}"


def match_reports(
    episodes: list[Episode],
    reports: pd.DataFrame,
    effect_end: dict[int, float] | None = None,
    tolerance_s: float = 0.0,
) -> Matching:
    """Pair reports with the episodes they describe, by place, kind and time.

    An episode is active from its onset until its effect ended (``effect_end``: the queue it
    caused has drained), which for a surge or an incident is later than its cause ended. A
    report describes it only if the report's event time falls while it is active (widened
    by ``tolerance_s``, 0 unless configured): a report after the queue recovered is late,
    not a detection. Place is the camera for a camera fault, else intersection and
    approach (an emergency report may name no approach, ``*``).
    """
    ends = effect_end or {}
    n = len(reports)
    matched = np.zeros(n, dtype=bool)
    actionable = np.zeros(n, dtype=bool)
    by_kind = {k: np.zeros(n, dtype=bool) for k in EpisodeKind}
    detected: list[bool] = []
    first: list[float] = []
    if n:
        inter = reports["intersection"].to_numpy()
        appr = reports["approach"].to_numpy()
        kind = reports["anomaly"].to_numpy()
        node = reports["node"].to_numpy()
        event = reports["event_at"].to_numpy(dtype=float)
        received = reports["received_at"].to_numpy(dtype=float)
    for e in episodes:
        if n == 0:
            detected.append(False)
            first.append(math.nan)
            continue
        active_until = ends.get(e.id, e.end) + tolerance_s
        in_time = (event >= e.onset) & (event <= active_until)
        if e.kind is EpisodeKind.CAMERA_FAULT:
            mask = in_time & (kind == "camera_fault") & (node == e.node)
        elif e.kind is EpisodeKind.EMERGENCY:
            here = inter == intersection_name(e.intersection)
            approach_ok = (appr == APPROACH_NAMES[e.approach]) | (appr == "*")
            mask = in_time & here & approach_ok & (kind == "emergency_vehicle")
        else:
            here = inter == intersection_name(e.intersection)
            kinds = INCIDENT_ANOMALIES if e.kind is EpisodeKind.INCIDENT else QUEUE_ANOMALIES
            mask = in_time & here & (appr == APPROACH_NAMES[e.approach]) & np.isin(kind, kinds)
        matched |= mask
        by_kind[e.kind] |= mask
        actionable |= mask & (received <= active_until)
        if mask.any():
            detected.append(True)
            first.append(float(received[mask].min()))
        else:
            detected.append(False)
            first.append(math.nan)
    return Matching(detected, first, matched, actionable, by_kind)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def f1_score(precision: float | None, recall: float | None) -> float | None:
    """Harmonic mean; ``None`` when either side is undefined, 0 when both are 0."""
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return round(2 * precision * recall / (precision + recall), 6)


def percentile(values: np.ndarray, q: float) -> float | None:
    """``None`` (JSON null) when there is nothing to take a percentile of."""
    if values.size == 0:
        return None
    return round(float(np.percentile(values, q)), 3)


def episode_table(
    episodes: list[Episode], matching: Matching, effect_end: dict[int, float]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [e.id for e in episodes],
            "kind": [e.kind.value for e in episodes],
            "intersection": [intersection_name(e.intersection) for e in episodes],
            "approach": [APPROACH_NAMES[e.approach] for e in episodes],
            "node": [e.node for e in episodes],
            "onset": [e.onset for e in episodes],
            "end": [e.end for e in episodes],
            "effect_end": [effect_end.get(e.id, e.end) for e in episodes],
            "detected": matching.detected,
            "first_received": matching.first_received,
        }
    )


def kind_scores(
    episodes: list[Episode], matching: Matching, reports: pd.DataFrame
) -> dict[str, dict[str, object]]:
    """Per episode kind: counts, recall, precision, F1 and time to detect (p50/p90).

    Time to detect is from the episode's onset to the backend receiving its first matching
    report. Precision counts the reports that matched an episode of this kind against those
    plus the false alarms that could have claimed this kind (:data:`CLAIMABLE`).
    """
    unmatched_types = (
        reports["anomaly"].to_numpy()[~matching.report_matched] if len(reports) else []
    )
    out: dict[str, dict[str, object]] = {}
    for kind in EpisodeKind:
        idx = [i for i, e in enumerate(episodes) if e.kind is kind]
        hits = sum(matching.detected[i] for i in idx)
        ttd = np.array(
            [matching.first_received[i] - episodes[i].onset for i in idx if matching.detected[i]]
        )
        true_reports = int(matching.report_kind_matched[kind].sum())
        false_reports = sum(1 for t in unmatched_types if kind in CLAIMABLE.get(str(t), ()))
        if not idx and not true_reports and not false_reports:
            continue
        recall = _ratio(hits, len(idx))
        precision = _ratio(true_reports, true_reports + false_reports)
        out[kind.value] = {
            "episodes": len(idx),
            "detected": hits,
            "reports_matched": true_reports,
            "false_alarms": false_reports,
            "recall": recall,
            "precision": precision,
            "f1": f1_score(precision, recall),
            "time_to_detect_s_p50": percentile(ttd, 50),
            "time_to_detect_s_p90": percentile(ttd, 90),
        }
    return out


def clip_costs(
    clips: list[tuple[int, float, int]], reports: pd.DataFrame, matching: Matching
) -> dict[str, int]:
    """Video bytes of the clips attached to reports, split by what the report turned out
    to be: a detection, a false alarm, or never received (lost on the way)."""
    verdict: dict[tuple[int, float], bool] = {}
    if len(reports):
        keys = zip(reports["node"].tolist(), reports["event_at"].tolist(), strict=True)
        for key, hit in zip(keys, matching.report_matched.tolist(), strict=True):
            verdict[key] = verdict.get(key, False) or hit
    out = {"on_detections": 0, "on_false_alarms": 0, "report_not_received": 0}
    for node, at, nbytes in clips:
        hit = verdict.get((node, at))
        slot = (
            "report_not_received" if hit is None else "on_detections" if hit else "on_false_alarms"
        )
        out[slot] += nbytes
    return out


def placebo_recall(
    episodes: list[Episode],
    reports: pd.DataFrame,
    effect_end: dict[int, float],
    intersections: int,
    tolerance_s: float,
) -> float | None:
    """The recall the same reports get against the same episodes moved to the next
    intersection (camera faults left out): how much of the recall chance explains.

    Many reports on many approaches match some long episode by luck; a policy's recall
    means something only as far as it exceeds this.
    """
    moved = [
        replace(e, intersection=(e.intersection + 1) % intersections)
        for e in episodes
        if e.kind is not EpisodeKind.CAMERA_FAULT
    ]
    if not moved or intersections < 2:
        return None
    ends = {e.id: effect_end.get(e.id, e.end) for e in moved}
    return _ratio(sum(match_reports(moved, reports, ends, tolerance_s).detected), len(moved))


def marked_reports(reports: pd.DataFrame, matching: Matching) -> pd.DataFrame:
    """The reports with whether each matched an episode and whether it was actionable."""
    return reports.assign(matched=matching.report_matched, actionable=matching.report_actionable)


def policy_metrics(
    *,
    episodes: list[Episode],
    effect_end: dict[int, float],
    reports: pd.DataFrame,
    messages: pd.DataFrame,
    video_bytes: int,
    energy_j: float,
    energy_by_state: dict[str, float],
    critical_total: int,
    critical_missed: int,
    node_hours: float,
    extra: dict[str, float | int],
    tolerance_s: float = 0.0,
    clips: list[tuple[int, float, int]] | None = None,
    intersections: int = 1,
) -> tuple[dict[str, object], pd.DataFrame, pd.DataFrame]:
    """The results-contract keys for one policy, the per-episode table and the reports
    marked matched / actionable."""
    matching = match_reports(episodes, reports, effect_end, tolerance_s)
    n_ep = len(episodes)
    delays = np.array(
        [
            f - e.onset
            for e, f, d in zip(episodes, matching.first_received, matching.detected, strict=True)
            if d
        ]
    )
    latency_ms = (
        (reports["received_at"].to_numpy(dtype=float) - reports["event_at"].to_numpy(dtype=float))
        * 1000.0
        if len(reports)
        else np.array([])
    )
    true_reports = int(matching.report_matched.sum())
    false_alarms = len(reports) - true_reports
    message_bytes = int(messages["wire_bytes"].sum()) if len(messages) else 0
    delivered = messages["arrival"].notna() if len(messages) else pd.Series([], dtype=bool)
    bytes_by_kind: dict[str, int] = (
        {str(k): int(v) for k, v in messages.groupby("kind")["wire_bytes"].sum().items()}
        if len(messages)
        else {}
    )
    bytes_by_kind["video"] = video_bytes
    recall = _ratio(sum(matching.detected), n_ep)
    precision = _ratio(true_reports, len(reports))
    by_kind = kind_scores(episodes, matching, reports)
    metrics: dict[str, object] = {
        "bytes_sent": message_bytes + video_bytes,
        "energy_j": round(energy_j, 3),
        "critical_deadline_miss_rate": round(critical_missed / critical_total, 6)
        if critical_total
        else 0.0,
        "anomaly_recall": recall,
        "placebo_recall": placebo_recall(episodes, reports, effect_end, intersections, tolerance_s),
        "anomaly_precision": precision,
        "anomaly_f1": f1_score(precision, recall),
        "actionable_share": _ratio(int(matching.report_actionable.sum()), len(reports)),
        "detection_delay_s_p50": percentile(delays, 50),
        "detection_delay_s_p90": percentile(delays, 90),
        "false_alarms_per_node_hour": round(false_alarms / node_hours, 6) if node_hours else 0.0,
        "alert_latency_ms_p99": percentile(latency_ms, 99),
        "alert_latency_ms_p50": percentile(latency_ms, 50),
        "episodes": n_ep,
        "episodes_detected": int(sum(matching.detected)),
        "reports": len(reports),
        "reports_matched": true_reports,
        "false_alarms": false_alarms,
        "messages_sent": len(messages),
        "messages_lost": int((~delivered).sum()) if len(messages) else 0,
        "bytes_by_kind": dict(sorted(bytes_by_kind.items())),
        "energy_by_state_j": {k: round(v, 3) for k, v in energy_by_state.items()},
        "critical_tasks": critical_total,
        "critical_missed": critical_missed,
        "clip_bytes": clip_costs(clips or [], reports, matching),
        "by_kind": by_kind,
        "anomaly_recall_by_kind": {k: v["recall"] for k, v in by_kind.items() if v["episodes"]},
        **extra,
    }
    return (
        metrics,
        episode_table(episodes, matching, effect_end),
        marked_reports(reports, matching),
    )
