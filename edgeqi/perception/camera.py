"""The :class:`~edgeqi.perception.Perception` of a real camera: layers 2 and 3 on frames.

A window is the frames captured since the node's last step, each with the timestamp the
capture adapter gave it. ``check`` runs the layer-2 validator over them; ``observe``
runs the full or reduced detector (Algorithm 1's choice) on the good ones, tracks the
objects and turns them into per-approach figures: the mean count in each approach's
zone, the queue length and longest wait at the window's end, emergency vehicles seen,
and vehicles standing still far longer than any red phase (stalled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edgeqi.perception import EMERGENCY_CLASS, FrameCheck, WindowObservation
from edgeqi.perception.detector import Detections, Detector
from edgeqi.perception.frame_checks import FrameSpec, FrameValidator
from edgeqi.perception.queues import QueueEstimator, QueueZone
from edgeqi.perception.tracking import IouTracker, Track, TrackerConfig
from edgeqi.protocol import Detection


@dataclass(slots=True, frozen=True)
class FrameWindow:
    """``(timestamp, frame)`` pairs, oldest first; a frame may be anything the camera gave."""

    frames: Sequence[tuple[float, object]]


@dataclass(slots=True)
class CameraPerception:
    full: Detector
    zones: Sequence[QueueZone]
    """One zone per watched approach, in the node's approach order."""
    reduced: Detector | None = None
    spec: FrameSpec = field(default_factory=FrameSpec)
    tracker_config: TrackerConfig = field(default_factory=TrackerConfig)
    min_wait_s: float = 2.0
    stalled_after_s: float = 120.0
    """Stationary this long in an approach zone: longer than any red, so stalled."""
    emergency_classes: frozenset[str] = frozenset({EMERGENCY_CLASS})
    validator: FrameValidator = field(init=False)
    tracker: IouTracker = field(init=False)
    queues: QueueEstimator = field(init=False)
    _checked: tuple[FrameWindow, list[tuple[float, np.ndarray]]] | None = field(
        init=False, default=None
    )

    def __post_init__(self) -> None:
        self.validator = FrameValidator(self.spec)
        self.tracker = IouTracker(self.tracker_config)
        self.queues = QueueEstimator(self.zones, self.min_wait_s)

    def check(self, window: object) -> FrameCheck:
        assert isinstance(window, FrameWindow)
        good: list[tuple[float, np.ndarray]] = []
        for t, frame in window.frames:
            if self.validator.reason(frame) is None:
                assert isinstance(frame, np.ndarray)
                good.append((t, frame))
        self._checked = (window, good)
        return self.validator.verdict()

    def observe(self, window: object, reduced: bool, with_detections: bool) -> WindowObservation:
        assert isinstance(window, FrameWindow)
        if self._checked is None or self._checked[0] is not window:
            self.check(window)
        assert self._checked is not None
        good = self._checked[1]
        detector = self.reduced if reduced and self.reduced is not None else self.full
        n = len(self.zones)
        counts = np.zeros(n)
        emergency = [False] * n
        last: tuple[Detections, list[Track]] = (Detections.empty(), [])
        states = {}
        for t, frame in good:
            dets = detector.detect(frame)
            tracks = self.tracker.update(t, dets)
            states = self.queues.update(t, tracks)
            for i, zone in enumerate(self.zones):
                counts[i] += states[zone.name].count
                for tr in tracks:
                    if tr.cls in self.emergency_classes and zone.contains(tr.ground):
                        emergency[i] = True
            last = (dets, tracks)
        frames = max(len(good), 1)
        t_end = good[-1][0] if good else 0.0
        stalled = [
            any(
                tr.stationary_since is not None
                and t_end - tr.stationary_since >= self.stalled_after_s
                and zone.contains(tr.ground)
                for tr in last[1]
            )
            for zone in self.zones
        ]
        return WindowObservation(
            vehicles=tuple(float(c) / frames for c in counts),
            queue_m=tuple(
                float(states[z.name].length_m or 0.0) if states else 0.0 for z in self.zones
            ),
            wait_s=tuple(float(states[z.name].wait_s_max) if states else 0.0 for z in self.zones),
            emergency=tuple(emergency),
            stalled=tuple(stalled),
            detections=_with_tracks(*last) if with_detections else (),
        )


def _with_tracks(dets: Detections, tracks: list[Track]) -> tuple[Detection, ...]:
    """The last frame's detections, each with its track id where one matched exactly."""
    ids: list[int | None] = []
    for box in dets.boxes:
        hit = [tr.id for tr in tracks if np.allclose(tr.box, box)]
        ids.append(hit[0] if hit else None)
    return dets.to_protocol(ids)
