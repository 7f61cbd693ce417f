"""Figures of the results contract, computed from what the run recorded.

Recall is counted against the ground-truth episodes of the simulated world; delay
and latency are timestamps subtracted; bytes and joules are sums of what was sent
and drawn. Nothing here is assumed per event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.traffic import APPROACH_NAMES, Episode, EpisodeKind

GRACE_S = 60.0
"""A report seen up to a minute after an episode's effect ended still describes it."""

QUEUE_ANOMALIES = ("queue_spike", "queue_shift")
INCIDENT_ANOMALIES = (*QUEUE_ANOMALIES, "stalled_vehicle")


@dataclass(frozen=True, slots=True)
class Matching:
    detected: list[bool]
    first_received: list[float]
    report_matched: np.ndarray


def intersection_name(i: int) -> str:
    return f"i{i:04d}"


def node_name(n: int) -> str:
    return f"n{n:05d}"


def match_reports(
    episodes: list[Episode], reports: pd.DataFrame, effect_end: dict[int, float] | None = None
) -> Matching:
    """Pair reports with the episodes they describe, by place, kind and time.

    An episode lasts from its onset until its effect ended (``effect_end``: the queue it
    caused has drained), which for a surge or an incident is later than its cause ended.
    """
    ends = effect_end or {}
    n = len(reports)
    matched = np.zeros(n, dtype=bool)
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
        in_time = (event >= e.onset) & (event <= ends.get(e.id, e.end) + GRACE_S)
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
        if mask.any():
            detected.append(True)
            first.append(float(received[mask].min()))
        else:
            detected.append(False)
            first.append(math.nan)
    return Matching(detected, first, matched)


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
) -> tuple[dict[str, object], pd.DataFrame]:
    """The results-contract keys for one policy, plus the per-episode table."""
    matching = match_reports(episodes, reports, effect_end)
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
    false_alarms = int((~matching.report_matched).sum())
    message_bytes = int(messages["wire_bytes"].sum()) if len(messages) else 0
    delivered = messages["arrival"].notna() if len(messages) else pd.Series([], dtype=bool)
    by_kind: dict[str, int] = (
        {str(k): int(v) for k, v in messages.groupby("kind")["wire_bytes"].sum().items()}
        if len(messages)
        else {}
    )
    by_kind["video"] = video_bytes
    metrics: dict[str, object] = {
        "bytes_sent": message_bytes + video_bytes,
        "energy_j": round(energy_j, 3),
        "critical_deadline_miss_rate": round(critical_missed / critical_total, 6)
        if critical_total
        else 0.0,
        "anomaly_recall": round(sum(matching.detected) / n_ep, 6) if n_ep else None,
        "detection_delay_s_p50": percentile(delays, 50),
        "false_alarms_per_node_hour": round(false_alarms / node_hours, 6) if node_hours else 0.0,
        "alert_latency_ms_p99": percentile(latency_ms, 99),
        "alert_latency_ms_p50": percentile(latency_ms, 50),
        "episodes": n_ep,
        "episodes_detected": int(sum(matching.detected)),
        "reports": len(reports),
        "false_alarms": false_alarms,
        "messages_sent": len(messages),
        "messages_lost": int((~delivered).sum()) if len(messages) else 0,
        "bytes_by_kind": dict(sorted(by_kind.items())),
        "energy_by_state_j": {k: round(v, 3) for k, v in energy_by_state.items()},
        "critical_tasks": critical_total,
        "critical_missed": critical_missed,
        **extra,
    }
    recall_by_kind: dict[str, float] = {}
    for kind in EpisodeKind:
        idx = [i for i, e in enumerate(episodes) if e.kind is kind]
        if idx:
            recall_by_kind[kind.value] = round(sum(matching.detected[i] for i in idx) / len(idx), 6)
    metrics["anomaly_recall_by_kind"] = recall_by_kind
    return metrics, episode_table(episodes, matching, effect_end)
