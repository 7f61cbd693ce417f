"""The ``oracle`` reference policy: one report per true episode, sent at its onset.

NOT DEPLOYABLE. It reads the simulated world's ground truth, which no camera has; it
exists as the floor for bytes, detection delay and energy (one report per episode, sent the
instant the episode begins, from the camera that watches the place, by cameras that still
run detection on every window as EDGE-QI's do), so that every real policy can be placed
between it and the stream-everything ceiling. Its energy used to leave detection out,
which no camera can: a floor below anything achievable says nothing about the gap. It lives in the
simulator's policy layer only: ``edgeqi/`` knows nothing of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgeqi.protocol import AnomalyReport, AnomalyType, ReportPriority
from sim.traffic import APPROACH_NAMES, Episode, EpisodeKind

_ANOMALY = {
    EpisodeKind.INCIDENT: AnomalyType.QUEUE_SPIKE,
    EpisodeKind.SURGE: AnomalyType.QUEUE_SPIKE,
    EpisodeKind.EMERGENCY: AnomalyType.EMERGENCY_VEHICLE,
    EpisodeKind.CAMERA_FAULT: AnomalyType.CAMERA_FAULT,
}
"""The report type that describes each kind of episode under strict scoring."""


def reporting_camera(e: Episode, coverage: np.ndarray, node_intersection: np.ndarray) -> int:
    """The camera a report of ``e`` comes from: the faulty camera itself, else the first
    camera of the intersection that watches the episode's approach."""
    if e.kind is EpisodeKind.CAMERA_FAULT:
        return e.node
    for k in np.flatnonzero(node_intersection == e.intersection):
        if e.approach in coverage[int(k)].tolist():
            return int(k)
    raise ValueError(f"no camera watches approach {e.approach} of intersection {e.intersection}")


@dataclass
class OracleReporter:
    """The episodes still to report, by onset, each with its reporting camera."""

    plan: list[tuple[float, int, Episode]]
    _next: int = field(default=0)

    @classmethod
    def for_world(
        cls, episodes: list[Episode], coverage: np.ndarray, node_intersection: np.ndarray
    ) -> OracleReporter:
        plan = [(e.onset, reporting_camera(e, coverage, node_intersection), e) for e in episodes]
        return cls(sorted(plan, key=lambda p: (p[0], p[1], p[2].id)))

    def due(self, until: float) -> list[tuple[int, Episode]]:
        """Episodes with onset before ``until`` not yet reported, in onset order."""
        out = []
        while self._next < len(self.plan) and self.plan[self._next][0] < until:
            _, k, e = self.plan[self._next]
            out.append((k, e))
            self._next += 1
        return out


def epoch_at_onset(t0: float, onset: float) -> float:
    """The epoch instant of ``onset`` (seconds since ``t0``), nudged up by the last bit
    where adding ``t0`` rounded it down: a report stamped a femtosecond before its
    episode began would not describe it under strict scoring."""
    at = t0 + onset
    while at - t0 < onset:
        at = float(np.nextafter(at, np.inf))
    return at


def oracle_report(
    e: Episode, node_id: str, seq: int, intersection: str, epoch_onset: float
) -> AnomalyReport:
    """The one report the oracle sends for ``e``, stamped with the episode's onset."""
    return AnomalyReport(
        node_id=node_id,
        seq=seq,
        ts=epoch_onset,
        intersection=intersection,
        approach="*" if e.kind is EpisodeKind.CAMERA_FAULT else APPROACH_NAMES[e.approach],
        anomaly=_ANOMALY[e.kind],
        priority=ReportPriority.CRITICAL,
        observed_at=epoch_onset,
        value=0.0,
        baseline=0.0,
        score=0.0,
        significance=0.0,
    )
