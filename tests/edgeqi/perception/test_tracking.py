"""Tracker and queue estimation on constructed sequences, simulator detections and real video."""

from __future__ import annotations

import numpy as np
import pytest

from edgeqi.perception.detector import Detections, detections_from_protocol
from edgeqi.perception.queues import QueueEstimator, QueueZone
from edgeqi.perception.tracking import IouTracker, TrackerConfig
from experiments.tools.model_cache import video_frames
from hardware.model_store import load_detector, media_path
from sim.synthetic_camera import synthetic_boxes


def dets(rows: list[tuple[float, float, float, float, float]], cls: str = "car") -> Detections:
    a = np.array(rows, np.float32).reshape(-1, 5)
    return Detections(a[:, :4], a[:, 4], np.zeros(len(a), np.int64), (cls,) * len(a))


def test_identities_survive_motion_a_missed_frame_and_a_low_confidence_frame() -> None:
    tr = IouTracker(TrackerConfig(min_hits=2, max_age_s=0.5))
    ids = []
    for k in range(10):
        t = k * 0.1
        a = (10 + 2 * k, 10, 50 + 2 * k, 40, 0.9)
        b = (200 - 3 * k, 100, 240 - 3 * k, 160, 0.3 if k == 5 else 0.8)  # weak at k=5
        rows = [a] if k == 3 else [a, b]  # b missed entirely at k=3
        ids.append(sorted(x.id for x in tr.update(t, dets(rows))))
    assert ids[0] == []  # min_hits: nothing confirmed on the first frame
    assert ids[1] == [1, 2]
    assert ids[3] == [1]
    assert all(i == [1, 2] for i in ids[4:])  # b kept its id through the gap and the weak frame


def test_tracks_expire_and_classes_never_swap_identities() -> None:
    tr = IouTracker(TrackerConfig(min_hits=1, max_age_s=0.5))
    tr.update(0.0, dets([(0, 0, 10, 10, 0.9)], "car"))
    (p,) = tr.update(0.1, dets([(0, 0, 10, 10, 0.9)], "person"))
    assert p.id == 2
    tr.update(1.0, dets([], "car"))
    assert tr.tracks == []
    (n,) = tr.update(1.1, dets([(0, 0, 10, 10, 0.9)], "car"))
    assert n.id == 3


def test_stationary_after_the_window_and_not_while_moving() -> None:
    tr = IouTracker(TrackerConfig(min_hits=1, still_window_s=1.0, still_fraction=0.15))
    states = []
    for k in range(40):
        t = k * 0.1
        x = 10.0 * k if k < 15 else 150.0  # moves 100 px/s, then stops at t = 1.5
        (track,) = tr.update(t, dets([(x, 0, x + 40, 40, 0.9)]))
        states.append(track.stationary_since)
    assert all(s is None for s in states[:16])
    assert states[-1] == pytest.approx(1.5)


def lane_zone(length_m: float | None = 50.0) -> QueueZone:
    # a lane 100 px wide, stop line at y = 400, extending up the image to y = 0
    return QueueZone(
        "north",
        ((0, 0), (100, 0), (100, 400), (0, 400)),
        ((0, 400), (100, 400)),
        length_m,
        frozenset({"car"}),
    )


def test_queue_count_length_and_waits_from_timestamps() -> None:
    tr = IouTracker(TrackerConfig(min_hits=1, still_window_s=1.0))
    q = QueueEstimator([lane_zone()], min_wait_s=2.0)
    cars = [(30, 360, 70, 400, 0.9), (30, 300, 70, 340, 0.9), (30, 200, 70, 240, 0.9)]
    outside = (300, 100, 340, 140, 0.9)
    state = None
    for k in range(61):  # 6 s at 10 fps
        t = k * 0.1
        rows = [*cars, outside]
        if k > 40:
            rows = rows[1:]  # the first car leaves at t = 4.1
        state = q.update(t, tr.update(t, dets(rows)))["north"]
        if k == 25:  # stationary since t = 0, queued from t = 2
            assert (state.count, state.queued) == (3, 3)
            assert state.wait_s_max == pytest.approx(2.5)
            assert state.length_m == pytest.approx(50.0 * (400 - 240) / 400)  # farthest feet
    assert state is not None
    assert (state.count, state.queued) == (2, 2)
    assert state.wait_s_max == pytest.approx(6.0)
    assert q.completed_waits["north"] == [pytest.approx(4.0)]


def test_zone_geometry() -> None:
    z = QueueZone("tri", ((0, 0), (10, 0), (0, 10)), ((0, 0), (10, 0)))
    assert z.contains((2, 2)) and z.contains((5, 0)) and not z.contains((8, 8))
    assert z.distance_from_stop((3, 7)) == pytest.approx(7.0)
    assert z.depth_px == pytest.approx(10.0)
    with pytest.raises(ValueError, match="3 points"):
        QueueZone("bad", ((0, 0), (1, 1)), ((0, 0), (1, 0)))


def test_simulator_detections_flow_through_tracker_and_queues() -> None:
    """The simulator's synthetic boxes (protocol messages) feed the same estimator."""
    zones = [
        QueueZone(
            f"lane{i}",
            ((40 * i, 0), (40 * i + 39, 0), (40 * i + 39, 200), (40 * i, 200)),
            ((40 * i, 0), (40 * i + 39, 0)),
            70.0,
        )
        for i in range(2)
    ]
    tr = IouTracker(TrackerConfig(min_hits=1))
    q = QueueEstimator(zones, min_wait_s=2.0)
    for k in range(16):  # 2 s observation ticks: a stopped platoon of 3 and 5 cars
        out = q.update(
            2.0 * k,
            tr.update(
                2.0 * k, detections_from_protocol(synthetic_boxes((3.0, 5.0), (False, False)))
            ),
        )
    assert [out[f"lane{i}"].queued for i in range(2)] == [3, 5]
    assert out["lane1"].wait_s_max == pytest.approx(30.0)


@pytest.mark.usefixtures("prepared")
def test_pedestrians_on_the_street_video_get_stable_tracks() -> None:
    det = load_detector("ssdlite-person", conf_threshold=0.2)
    tr = IouTracker(TrackerConfig(high=0.4, low=0.2, max_age_s=0.5))
    fps, every = 29.97, 2
    seen: dict[int, int] = {}
    boxes = 0
    # frames 220-320: several people cross the street (3 s at 15 fps)
    for k, frame in enumerate(video_frames(media_path("street.mp4"), every, 50, start=220)):
        found = det.detect(frame)
        boxes += int((found.scores >= 0.4).sum())
        for track in tr.update(every * k / fps, found):
            seen[track.id] = seen.get(track.id, 0) + 1
    assert boxes >= 50
    # the same people keep their identities: a few long tracks, not a new id per detection
    assert max(seen.values()) >= 30
    assert len(seen) <= boxes / 5
