"""Layer 3 queues: which tracked objects wait in which zone, how many, how far back, how long.

A zone is a polygon in image pixels drawn over one lane, approach or waiting area, with
its stop line (where the queue starts) and, when known, its real length in metres. An
object is in the zone when its ground point (bottom centre of its box) is; it is
*queued* when it has also been stationary for ``min_wait_s``. Queue length is the
distance from the stop line to the farthest queued object, as a share of the zone's
depth in pixels times ``length_m`` (a linear ground model: draw zones on a stretch
of road the camera sees with little perspective, or several short zones per lane).
Wait time is measured from the frame timestamps: from when a track became both
stationary and inside the zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from edgeqi.perception.tracking import Track

Point = tuple[float, float]


@dataclass(slots=True, frozen=True)
class QueueZone:
    name: str
    polygon: tuple[Point, ...]
    stop_line: tuple[Point, Point]
    length_m: float | None = None
    classes: frozenset[str] | None = None
    """Only these classes queue here (``None``: all)."""

    def __post_init__(self) -> None:
        if len(self.polygon) < 3:
            raise ValueError(f"zone {self.name!r}: a polygon needs at least 3 points")

    def contains(self, p: Point) -> bool:
        """Even-odd ray casting; points on an edge count as inside."""
        x, y = p
        inside = False
        pts = self.polygon
        for i, (x1, y1) in enumerate(pts):
            x2, y2 = pts[(i + 1) % len(pts)]
            if _on_segment(p, (x1, y1), (x2, y2)):
                return True
            if (y1 > y) != (y2 > y):
                xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
                if x < xc:
                    inside = not inside
        return inside

    def distance_from_stop(self, p: Point) -> float:
        """Pixels from the stop line (its infinite extension) to ``p``."""
        (ax, ay), (bx, by) = self.stop_line
        dx, dy = bx - ax, by - ay
        norm = max(float(np.hypot(dx, dy)), 1e-9)
        return abs(dx * (p[1] - ay) - dy * (p[0] - ax)) / norm

    @property
    def depth_px(self) -> float:
        return max(self.distance_from_stop(v) for v in self.polygon)


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    if abs(cross) > 1e-9:
        return False
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


@dataclass(slots=True, frozen=True)
class QueueState:
    zone: str
    t: float
    count: int
    """Tracked objects inside the zone now."""
    queued: int
    """Of those, the ones that have waited at least ``min_wait_s``."""
    length_m: float | None
    length_px: float
    wait_s_max: float
    wait_s_mean: float
    track_ids: tuple[int, ...]


@dataclass(slots=True)
class QueueEstimator:
    zones: Sequence[QueueZone]
    min_wait_s: float = 2.0
    _waiting: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    """Per (zone, track): ``[waiting since, last seen waiting]``."""
    completed_waits: dict[str, list[float]] = field(default_factory=dict)
    """Per zone, the waits of tracks that have left the queue (moved off or disappeared)."""

    def update(self, t: float, tracks: Iterable[Track]) -> dict[str, QueueState]:
        tracks = list(tracks)
        out: dict[str, QueueState] = {}
        still_waiting: set[tuple[str, int]] = set()
        for zone in self.zones:
            inside = [
                tr
                for tr in tracks
                if (zone.classes is None or tr.cls in zone.classes) and zone.contains(tr.ground)
            ]
            waits: list[float] = []
            far_px = 0.0
            ids: list[int] = []
            for tr in inside:
                if tr.stationary_since is None:
                    continue
                key = (zone.name, tr.id)
                span = self._waiting.setdefault(key, [max(tr.stationary_since, tr.first_t), t])
                span[1] = t
                since = span[0]
                still_waiting.add(key)
                if t - since >= self.min_wait_s:
                    waits.append(t - since)
                    ids.append(tr.id)
                    far_px = max(far_px, zone.distance_from_stop(tr.ground))
            length_m = None
            if zone.length_m is not None:
                length_m = min(far_px / max(zone.depth_px, 1e-9), 1.0) * zone.length_m
            out[zone.name] = QueueState(
                zone=zone.name,
                t=t,
                count=len(inside),
                queued=len(waits),
                length_m=length_m,
                length_px=far_px,
                wait_s_max=max(waits, default=0.0),
                wait_s_mean=float(np.mean(waits)) if waits else 0.0,
                track_ids=tuple(ids),
            )
        for key in [k for k in self._waiting if k not in still_waiting]:
            since, last = self._waiting.pop(key)
            if last - since >= self.min_wait_s:
                self.completed_waits.setdefault(key[0], []).append(last - since)
        return out
