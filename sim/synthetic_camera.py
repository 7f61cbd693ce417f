"""Simulated cameras: which approaches each node watches, and a synthetic detector.

The synthetic detector implements :class:`edgeqi.perception.Perception`, so the node
core runs unchanged. Detections are drawn for every node at once per observation
tick (both model variants, so that the node's own Algorithm-1 choice of full or
reduced precision decides which one it gets) with the detector's recall scaled by each
camera's quality (miss streaks, occlusion, night, weather, drift) and false evidence
at configured rates; a camera with a fault yields only rejected frames.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgeqi.perception import EMERGENCY_CLASS, FrameCheck, WindowObservation
from edgeqi.protocol import Detection
from sim.camera_quality import CameraQuality
from sim.scenario_config import CityConfig, DetectorConfig
from sim.world import World

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
FAULT_REASONS = ("black", "frozen", "corrupt")


def camera_coverage(city: CityConfig, intersections: int) -> npt.NDArray[np.int64]:
    """``(nodes, approaches_per_camera)`` approach indices; node ``n`` is at ``n // cameras``.

    Cameras are spread round the intersection so that every approach is seen by
    ``cameras * approaches_per_camera / approaches`` cameras: the overlap that
    consensus-based work division can later remove.
    """
    c, k, a = city.cameras_per_intersection, city.approaches_per_camera, city.approaches
    per_intersection = np.array(
        [[(cam * a // c + j) % a for j in range(k)] for cam in range(c)], dtype=np.int64
    )
    return np.tile(per_intersection, (intersections, 1))


@dataclass(slots=True)
class SimWindow:
    """One node's observation window: what its detector would report in each mode.

    Rows of the tick's arrays, already rounded and turned into Python lists once for
    all nodes, so that a node's observation costs no NumPy call of its own.
    """

    frames: int
    fault: str | None
    vehicles_full: list[float]
    vehicles_reduced: list[float]
    queue_m_full: list[float]
    queue_m_reduced: list[float]
    emergency_full: list[bool]
    emergency_reduced: list[bool]
    stalled_full: list[bool]
    stalled_reduced: list[bool]
    wait_s: list[float]


class SyntheticPerception:
    """The :class:`~edgeqi.perception.Perception` of a simulated camera."""

    __slots__ = ()

    def check(self, window: object) -> FrameCheck:
        assert isinstance(window, SimWindow)
        if window.fault is None:
            return FrameCheck(good=window.frames)
        return FrameCheck(good=0, rejected={window.fault: window.frames})

    def observe(self, window: object, reduced: bool, with_detections: bool) -> WindowObservation:
        assert isinstance(window, SimWindow)
        w = window
        counts = tuple(w.vehicles_reduced if reduced else w.vehicles_full)
        flags = tuple(w.emergency_reduced if reduced else w.emergency_full)
        detections: tuple[Detection, ...] = ()
        if with_detections:
            detections = synthetic_boxes(counts, flags)
        return WindowObservation(
            vehicles=counts,
            queue_m=tuple(w.queue_m_reduced if reduced else w.queue_m_full),
            wait_s=tuple(w.wait_s),
            emergency=flags,
            stalled=tuple(w.stalled_reduced if reduced else w.stalled_full),
            detections=detections,
        )


def synthetic_boxes(
    counts: tuple[float, ...], emergency: tuple[bool, ...]
) -> tuple[Detection, ...]:
    """Boxes laid out along each approach, one per detected vehicle (positions are schematic)."""
    if len(counts) == 1:
        return _lane_boxes(0, round(counts[0]), emergency[0])
    out: tuple[Detection, ...] = ()
    for lane, count in enumerate(counts):
        out += _lane_boxes(lane, round(count), emergency[lane])
    return out


@functools.lru_cache(maxsize=8192)
def _lane_boxes(lane: int, vehicles: int, emergency: bool) -> tuple[Detection, ...]:
    """One approach's boxes. Detections are frozen, and a lane's layout depends only on
    its count, so each layout is validated once per process and then shared: building
    them afresh cost more than everything else a stream-everything node does per step."""
    out = [
        Detection(cls="car", conf=0.8, box=(40.0 * lane, 12.0 * j, 32.0, 18.0), track=None)
        for j in range(vehicles)
    ]
    if emergency:
        out.append(Detection(cls=EMERGENCY_CLASS, conf=0.7, box=(40.0 * lane, 0.0, 36.0, 20.0)))
    return tuple(out)


class DetectorModel:
    """Draws what every camera sees this tick, for both model variants, in one go.

    The frames of one window show the same scene half a second apart, so whether an
    emergency vehicle or a stalled one is recognised is drawn once per window, not per
    frame; the camera's quality (:mod:`sim.camera_quality`) scales every recall, and
    false evidence appears at its configured rate whatever the truth, so that the node
    has to accumulate evidence over windows before it reports.
    """

    def __init__(self, cfg: DetectorConfig, rng: np.random.Generator) -> None:
        self.cfg = cfg
        self.rng = rng

    def draw(
        self,
        true_queue: npt.NDArray[np.int64],
        true_emergency: BoolArray,
        true_stalled: BoolArray,
        quality: FloatArray,
    ) -> tuple[FloatArray, FloatArray, BoolArray, BoolArray, BoolArray, BoolArray]:
        """Per (node, watched approach), for full and reduced precision: mean vehicle count
        over the window's frames, and the window's emergency and stalled-vehicle evidence.
        ``quality`` is each camera's recall multiplier for each approach this window."""
        cfg, rng = self.cfg, self.rng
        frames = cfg.frames_per_observation
        shape = true_queue.shape
        seen_frames = true_queue * frames
        fp = rng.poisson(cfg.false_positives_per_frame * frames, size=shape)
        noise = rng.normal(0.0, cfg.count_noise_sd, size=shape)
        r_full = np.clip(cfg.recall_full * quality, 0.0, 1.0)
        r_reduced = np.clip(cfg.recall_reduced * quality, 0.0, 1.0)
        full = (rng.binomial(seen_frames, r_full) + fp) / frames + noise
        reduced = (rng.binomial(seen_frames, r_reduced) + fp) / frames + noise
        em_full, em_reduced = self._evidence(
            true_emergency, cfg.emergency_recall, cfg.emergency_false_per_window, r_full, r_reduced
        )
        st_full, st_reduced = self._evidence(
            true_stalled, cfg.stalled_recall, cfg.stalled_false_per_window, r_full, r_reduced
        )
        return (
            np.maximum(full, 0.0),
            np.maximum(reduced, 0.0),
            em_full,
            em_reduced,
            st_full,
            st_reduced,
        )

    def _evidence(
        self,
        truth: BoolArray,
        class_recall: float,
        false_rate: float,
        r_full: FloatArray,
        r_reduced: FloatArray,
    ) -> tuple[BoolArray, BoolArray]:
        """One window's flags in both modes, from common draws: what the reduced model
        recognises the full one recognises too, and false evidence is shared."""
        u = self.rng.random(size=truth.shape)
        false = self.rng.random(size=truth.shape) < false_rate
        full = (truth & (u < class_recall * r_full)) | false
        reduced = (truth & (u < class_recall * r_reduced)) | false
        return full, reduced


@dataclass(slots=True)
class CameraViews:
    """What every node's detector reports at one tick, in both modes, rounded as a node
    reports it: rows are nodes, columns the approaches each one watches."""

    vehicles_full: FloatArray
    vehicles_reduced: FloatArray
    queue_m_full: FloatArray
    queue_m_reduced: FloatArray
    emergency_full: BoolArray
    emergency_reduced: BoolArray
    stalled_full: BoolArray
    stalled_reduced: BoolArray
    wait_s: FloatArray

    @classmethod
    def observe(
        cls,
        world: World,
        detector: DetectorModel,
        quality: CameraQuality,
        coverage: npt.NDArray[np.int64],
        node_intersection: npt.NDArray[np.int64],
        now: float,
    ) -> CameraViews:
        rows = node_intersection[:, None]
        queue = world.queue[rows, coverage]
        quality.advance()
        camera = quality.factor(now, world.hour_of_day(now), world.start_epoch_s + now)
        seen = camera[:, None] * quality.occlusion(queue / world.capacity_veh[rows, coverage])
        full, reduced, em_full, em_red, st_full, st_red = detector.draw(
            queue,
            world.emergency[rows, coverage],
            world.incident[rows, coverage],
            seen,
        )
        m_per_vehicle = (world.city.vehicle_spacing_m / world.lanes)[rows, coverage]
        return cls(
            np.round(full, 2),
            np.round(reduced, 2),
            np.round(full * m_per_vehicle, 1),
            np.round(reduced * m_per_vehicle, 1),
            em_full,
            em_red,
            st_full,
            st_red,
            np.round(world.wait_s(now)[rows, coverage], 1),
        )
