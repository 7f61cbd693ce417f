"""Layer 2: every kind of bad frame is rejected with its reason; real footage passes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgeqi.perception.frame_checks import FrameSpec, FrameValidator
from experiments.tools.model_cache import video_frames
from hardware.model_store import media_path


@pytest.fixture
def street() -> list[np.ndarray]:
    return list(video_frames(media_path("street.mp4"), every=3, limit=40))


@pytest.mark.usefixtures("prepared")
def test_real_footage_and_images_pass(street: list[np.ndarray]) -> None:
    v = FrameValidator(FrameSpec(height=360, width=640))
    assert [v.reason(f) for f in street] == [None] * len(street)
    images = FrameValidator()
    for name in ("bus.jpg", "zidane.jpg"):
        frame, why = images.check_encoded(media_path(name).read_bytes())
        assert why is None and frame is not None
    assert v.verdict().good == len(street) and v.good == 0
    boxed = street[0].copy()
    boxed[:45] = 0
    boxed[-45:] = 0  # letterbox bars are exactly black, and not a truncated frame
    assert v.reason(boxed) is None


@pytest.mark.usefixtures("prepared")
def test_each_bad_kind_is_rejected_and_counted(street: list[np.ndarray]) -> None:
    v = FrameValidator(FrameSpec(height=360, width=640, frozen_after=3))
    good = street[0]
    assert v.reason(None) == "corrupt"
    assert v.reason(np.zeros((0, 0, 3), np.uint8)) == "corrupt"
    assert v.reason(good[:, :, 0]) == "shape"  # grey, 2-D
    assert v.reason(good.astype(np.float32)) == "shape"
    assert v.reason(cv2.resize(good, (320, 180))) == "shape"
    assert v.reason(np.zeros_like(good)) == "black"
    dark = (good // 40).astype(np.uint8)  # a lens covered, sensor noise left
    assert v.reason(dark) == "black"
    cut = good.copy()
    cut[300:] = 128  # a decoder's grey fill below where the data stopped
    assert v.reason(cut) == "truncated"
    reasons = [v.reason(good.copy()) for _ in range(6)]
    assert reasons == [None, None, None, None, "frozen", "frozen"]
    assert v.reason(street[5]) is None  # the picture moves again
    check = v.verdict()
    assert check.rejected == {"corrupt": 2, "shape": 3, "black": 2, "truncated": 1, "frozen": 2}
    assert check.good == 5 and check.total_rejected == 10


@pytest.mark.usefixtures("prepared")
def test_encoded_frames_cut_short_or_garbled() -> None:
    data = media_path("bus.jpg").read_bytes()
    v = FrameValidator()
    assert v.check_encoded(data[: len(data) // 2]) == (None, "truncated")
    assert v.check_encoded(b"\x00\x01garbage" * 50) == (None, "corrupt")
    assert v.check_encoded(b"") == (None, "corrupt")
    assert dict(v.rejected) == {"truncated": 1, "corrupt": 2}
