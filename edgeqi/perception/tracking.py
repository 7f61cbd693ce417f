"""Layer 3 tracking: identities across frames, and which objects stand still.

A ByteTrack-style IoU tracker: confident detections are matched to live tracks first
(Hungarian assignment on IoU), then the low-confidence ones are used only to keep
already-matched-able tracks alive (a pedestrian half hidden behind a pole does not lose
its identity). No appearance model, no Kalman filter: at traffic-camera frame rates
boxes overlap from one frame to the next, and the node's CPU is better spent on the
detector. Times are the frames' timestamps, handed in by the caller.

A track is *stationary* when its ground point (bottom centre of the box) has moved
less than ``still_fraction`` of its box height over the last ``still_window_s``
seconds: scale-aware, so the same rule holds for a pedestrian near the camera and a
car far down the road.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from edgeqi.perception.boxes import iou_matrix
from edgeqi.perception.detector import Detections


@dataclass(slots=True)
class Track:
    id: int
    cls: str
    box: np.ndarray
    score: float
    first_t: float
    last_t: float
    hits: int = 1
    stationary_since: float | None = None
    history: deque[tuple[float, float, float, float]] = field(default_factory=deque)
    """``(t, x, y, height)`` of the ground point, trimmed to the stillness window."""

    @property
    def ground(self) -> tuple[float, float]:
        x1, _, x2, y2 = (float(v) for v in self.box)
        return (x1 + x2) / 2.0, y2

    @property
    def stationary(self) -> bool:
        return self.stationary_since is not None


@dataclass(slots=True)
class TrackerConfig:
    high: float = 0.5
    """Detections at least this confident start tracks and are matched first."""
    low: float = 0.1
    """Detections between ``low`` and ``high`` only extend existing tracks."""
    match_iou: float = 0.3
    max_age_s: float = 1.0
    """A track unseen this long is dropped."""
    min_hits: int = 2
    """Frames a track needs before it is reported (filters one-frame false positives)."""
    still_window_s: float = 1.0
    still_fraction: float = 0.15


class IouTracker:
    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, t: float, dets: Detections) -> list[Track]:
        """Associate this frame's detections; returns the confirmed tracks seen at ``t``."""
        cfg = self.config
        scores = dets.scores
        high = np.flatnonzero(scores >= cfg.high)
        low = np.flatnonzero((scores >= cfg.low) & (scores < cfg.high))
        live = list(range(len(self.tracks)))
        pairs = self._assign(live, high, dets)
        matched = {ti for ti, _ in pairs}
        rest = [i for i in live if i not in matched]
        pairs += self._assign(rest, low, dets)
        for ti, di in pairs:
            self._extend(self.tracks[ti], t, dets, di)
        used = {di for _, di in pairs}
        for fresh in (int(i) for i in high):
            if fresh not in used:
                self.tracks.append(self._start(t, dets, fresh))
        self.tracks = [tr for tr in self.tracks if t - tr.last_t <= cfg.max_age_s]
        return [tr for tr in self.tracks if tr.last_t == t and tr.hits >= cfg.min_hits]

    def _assign(
        self, track_idx: list[int], det_idx: np.ndarray, dets: Detections
    ) -> list[tuple[int, int]]:
        if not track_idx or len(det_idx) == 0:
            return []
        boxes = np.stack([self.tracks[i].box for i in track_idx])
        iou = iou_matrix(boxes, dets.boxes[det_idx])
        same = np.array(
            [[self.tracks[i].cls == _name(dets, int(d)) for d in det_idx] for i in track_idx]
        )
        cost = np.where(same, 1.0 - iou, 2.0)
        rows, cols = linear_sum_assignment(cost)
        return [
            (track_idx[r], int(det_idx[c]))
            for r, c in zip(rows, cols, strict=True)
            if same[r, c] and iou[r, c] >= self.config.match_iou
        ]

    def _start(self, t: float, dets: Detections, i: int) -> Track:
        tr = Track(
            id=self._next_id,
            cls=_name(dets, i),
            box=dets.boxes[i].astype(np.float64),
            score=float(dets.scores[i]),
            first_t=t,
            last_t=t,
        )
        self._next_id += 1
        self._remember(tr, t)
        return tr

    def _extend(self, tr: Track, t: float, dets: Detections, i: int) -> None:
        tr.box = dets.boxes[i].astype(np.float64)
        tr.score = float(dets.scores[i])
        tr.last_t = t
        tr.hits += 1
        self._remember(tr, t)

    def _remember(self, tr: Track, t: float) -> None:
        cfg = self.config
        x, y = tr.ground
        height = float(tr.box[3] - tr.box[1])
        tr.history.append((t, x, y, height))
        while len(tr.history) > 2 and t - tr.history[1][0] >= cfg.still_window_s:
            tr.history.popleft()
        t0 = tr.history[0][0]
        if t - t0 < cfg.still_window_s:
            return  # not observed long enough to judge; keep the previous verdict
        pts = np.array([(hx, hy) for _, hx, hy, _ in tr.history])
        spread = float(np.linalg.norm(pts.max(axis=0) - pts.min(axis=0)))
        size = max(float(np.median([h for *_, h in tr.history])), 1.0)
        if spread < cfg.still_fraction * size:
            if tr.stationary_since is None:
                tr.stationary_since = t0
        else:
            tr.stationary_since = None


def _name(dets: Detections, i: int) -> str:
    return dets.names[i] if dets.names else str(int(dets.classes[i]))
