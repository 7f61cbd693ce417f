"""The learning signal: bytes, energy and strict detection, weighted, per node and window.

Detection is scored by the run's own rule (:func:`sim.scoring.match_reports`): a report is
true only if its event time falls while a ground-truth episode of its kind and place is
active (no grace), and it pays only if it also *reached the backend* while the episode was
active (actionable). The first actionable report of an episode earns the detection and
pays for its delay; later true reports earn a little (updates the operator can use); a
report matching no episode is a false alarm. The defaults are a starting point, not a
measured trade-off: change them with the environments' ``reward`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sim.collector import REPORT_COLUMNS, Report
from sim.scoring import match_reports
from sim.traffic import Episode


@dataclass(frozen=True, slots=True)
class RewardWeights:
    per_mb: float = 0.5
    """Cost of one MB on the uplink (protocol overhead and clips included)."""
    per_kj: float = 2.0
    """Cost of one kJ drawn by the node (compute, radio, idle)."""
    detection: float = 5.0
    """An episode's first actionable report."""
    update: float = 0.2
    """Each further true report of an episode already detected."""
    false_alarm: float = 1.0
    per_minute_delay: float = 1.0
    """Per minute from an episode's onset to its first actionable report's arrival."""


@dataclass(slots=True)
class WindowScore:
    """One node's window: what it cost and what its reports were worth."""

    bytes: int = 0
    energy_j: float = 0.0
    detections: int = 0
    updates: int = 0
    false_alarms: int = 0
    late: int = 0
    """True reports that arrived after their episode ended: neither paid nor penalised."""
    delay_s: list[float] = field(default_factory=list)

    def reward(self, w: RewardWeights) -> float:
        return (
            -w.per_mb * self.bytes / 1e6
            - w.per_kj * self.energy_j / 1e3
            + w.detection * self.detections
            + w.update * self.updates
            - w.false_alarm * self.false_alarms
            - w.per_minute_delay * sum(self.delay_s) / 60.0
        )

    def add(self, other: WindowScore) -> None:
        self.bytes += other.bytes
        self.energy_j += other.energy_j
        self.detections += other.detections
        self.updates += other.updates
        self.false_alarms += other.false_alarms
        self.late += other.late
        self.delay_s.extend(other.delay_s)

    def as_info(self) -> dict[str, float | int | None]:
        return {
            "bytes": self.bytes,
            "energy_j": self.energy_j,
            "detections": self.detections,
            "updates": self.updates,
            "false_alarms": self.false_alarms,
            "late_reports": self.late,
            "delay_s_mean": sum(self.delay_s) / len(self.delay_s) if self.delay_s else None,
        }


class ReportJudge:
    """Scores new reports against the episodes, remembering which are already detected."""

    def __init__(self, episodes: list[Episode]) -> None:
        self.episodes = episodes
        self.detected: set[int] = set()

    def judge(
        self, reports: list[Report], effect_end: dict[int, float], into: dict[int, WindowScore]
    ) -> None:
        """Add each report's worth to its node's score in ``into``. ``effect_end`` is the
        world's view so far: an episode whose queue has not yet recovered is still active."""
        if not reports:
            return
        frame = pd.DataFrame(
            [[getattr(r, c) for c in REPORT_COLUMNS] for r in reports], columns=list(REPORT_COLUMNS)
        )
        for i, r in enumerate(reports):
            score = into[r.node]
            one = match_reports(self.episodes, frame.iloc[[i]], effect_end)
            if not one.report_matched[0]:
                score.false_alarms += 1
                continue
            if not one.report_actionable[0]:
                score.late += 1
                continue
            new = [
                j
                for j, hit in enumerate(one.detected)
                if hit and self.episodes[j].id not in self.detected
            ]
            if not new:
                score.updates += 1
                continue
            score.detections += 1
            for j in new:
                self.detected.add(self.episodes[j].id)
                score.delay_s.append(r.received_at - self.episodes[j].onset)
