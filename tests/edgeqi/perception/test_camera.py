"""A real camera's perception (layers 2 and 3) on a window of the street video."""

from __future__ import annotations

import numpy as np
import pytest

from edgeqi.perception import Perception
from edgeqi.perception.camera import CameraPerception, FrameWindow
from edgeqi.perception.frame_checks import FrameSpec
from edgeqi.perception.queues import QueueZone
from edgeqi.perception.tracking import TrackerConfig
from experiments.tools.model_cache import video_frames
from hardware.model_store import load_detector, media_path


@pytest.mark.usefixtures("prepared")
def test_camera_perception_on_the_street_video() -> None:
    full = load_detector("ssdlite-person", conf_threshold=0.2)
    reduced = load_detector("ssdlite-person-int8", conf_threshold=0.2)
    zones = [
        QueueZone("left", ((0, 0), (320, 0), (320, 360), (0, 360)), ((0, 360), (320, 360)), 20.0),
        QueueZone("right", ((320, 0), (640, 0), (640, 360), (320, 360)), ((320, 360), (640, 360))),
    ]
    cam = CameraPerception(
        full,
        zones,
        reduced,
        spec=FrameSpec(height=360, width=640),
        tracker_config=TrackerConfig(high=0.4, low=0.2),
    )
    perception: Perception = cam
    frames = list(video_frames(media_path("street.mp4"), 2, 20, start=220))
    timed: list[tuple[float, object]] = [(k * 2 / 29.97, f) for k, f in enumerate(frames)]
    timed.insert(5, (0.33, np.zeros((360, 640, 3), np.uint8)))
    timed.insert(9, (0.6, None))
    window = FrameWindow(timed)
    check = perception.check(window)
    assert (check.good, check.rejected) == (20, {"black": 1, "corrupt": 1})
    obs = perception.observe(window, reduced=False, with_detections=True)
    assert len(obs.vehicles) == 2 and sum(obs.vehicles) > 1.0
    assert obs.detections and all(d.cls == "person" for d in obs.detections)
    assert any(d.track is not None for d in obs.detections)
    assert obs.emergency == (False, False) and obs.stalled == (False, False)
    later = FrameWindow([(1.5 + k / 15, f) for k, f in enumerate(frames)])
    cam.check(later)
    small = perception.observe(later, reduced=True, with_detections=False)
    assert small.detections == () and sum(small.vehicles) > 0.5
