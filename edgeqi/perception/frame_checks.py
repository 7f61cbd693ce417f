"""Layer 2: decide whether a captured frame is worth running a detector on.

A frame is rejected, with one counted reason, when it is not an image at all
(``corrupt``), is not the shape the camera is configured for (``shape``), was cut off
while being written or decoded (``truncated``: the decoder filled its tail with one flat
colour), is black (lens covered, camera dead, night without light), or is the same
picture as the previous one (``frozen``: a stuck encoder or a camera repeating its last
frame). The checks are cheap: they look at a small grey thumbnail, not the full frame.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from edgeqi.perception import FrameCheck

REASONS = ("corrupt", "shape", "truncated", "black", "frozen")
U8Array = npt.NDArray[np.uint8]


@dataclass(slots=True, frozen=True)
class FrameSpec:
    """What a good frame from this camera looks like, and the thresholds of each check."""

    height: int | None = None
    width: int | None = None
    """``None`` accepts any size (files of mixed sizes); a camera sets both."""
    black_mean: float = 10.0
    """Mean grey level (0-255) below which, with ``black_p99``, a frame is black."""
    black_p99: float = 30.0
    frozen_mad: float = 0.05
    """Mean absolute grey difference to the previous frame below which the picture has
    not changed (codecs repeat frames exactly; sensor noise never does)."""
    frozen_after: int = 8
    """Unchanged frames tolerated in a row before the rest are ``frozen``: encoders
    duplicate frames (the street sample repeats up to 6 in a row at 30 fps), a stuck
    camera repeats forever."""
    truncated_rows: float = 0.08
    """Share of the frame's height that, flat and identical at the bottom, means truncated."""


@dataclass(slots=True)
class FrameValidator:
    """Stateful (it remembers the previous good frame) checker with per-reason counts."""

    spec: FrameSpec = field(default_factory=FrameSpec)
    good: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    _previous: npt.NDArray[np.float32] | None = None
    _unchanged: int = 0

    def reason(self, frame: object) -> str | None:
        """Why ``frame`` is rejected, or ``None`` if it is good; counts either way."""
        why = self._check(frame)
        if why is None:
            self.good += 1
        else:
            self.rejected[why] += 1
        return why

    def verdict(self) -> FrameCheck:
        """Counts since the last verdict, as the node's :class:`FrameCheck`; resets them."""
        out = FrameCheck(good=self.good, rejected=dict(self.rejected))
        self.good = 0
        self.rejected = Counter()
        return out

    def _check(self, frame: object) -> str | None:
        if not isinstance(frame, np.ndarray) or frame.size == 0:
            return "corrupt"
        s = self.spec
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            return "shape"
        if (s.height is not None and frame.shape[0] != s.height) or (
            s.width is not None and frame.shape[1] != s.width
        ):
            return "shape"
        thumb = _thumbnail(frame)
        if thumb.mean() < s.black_mean and np.percentile(thumb, 99) < s.black_p99:
            return "black"
        if _truncated(frame, s.truncated_rows):
            return "truncated"
        previous, self._previous = self._previous, thumb
        same = (
            previous is not None
            and previous.shape == thumb.shape
            and float(np.abs(thumb - previous).mean()) < s.frozen_mad
        )
        self._unchanged = self._unchanged + 1 if same else 0
        if self._unchanged > s.frozen_after:
            return "frozen"
        return None

    def check_encoded(self, data: bytes) -> tuple[U8Array | None, str | None]:
        """Decode a JPEG / PNG held in memory and check it: ``(frame or None, reason)``.

        A file cut short is ``truncated`` whether or not the decoder managed a partial
        picture (its end-of-image marker is missing); anything undecodable is ``corrupt``.
        """
        kind = _container(data)
        if kind is not None and not _complete(data, kind):
            self.rejected["truncated"] += 1
            return None, "truncated"
        frame = decode_image(data)
        if frame is None:
            self.rejected["corrupt"] += 1
            return None, "corrupt"
        why = self.reason(frame)
        return (frame if why is None else None), why


def _thumbnail(frame: U8Array) -> npt.NDArray[np.float32]:
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)


def _truncated(frame: U8Array, share: float) -> bool:
    """Bottom rows all one flat colour, identical to each other: the decoder's filler.

    Black is not filler: letterboxed video has exactly black bars at the bottom.
    """
    rows = max(int(frame.shape[0] * share), 2)
    tail = frame[-rows:]
    first = tail[0, 0]
    if int(first.max()) <= 16:
        return False
    return bool((tail == first).all())


def _container(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return None


def _complete(data: bytes, kind: str) -> bool:
    """Whether the container's end marker is present (trailing padding allowed)."""
    tail = data[-64:]
    return b"\xff\xd9" in tail if kind == "jpeg" else b"IEND" in tail


def decode_image(data: bytes) -> U8Array | None:
    """Decode encoded image bytes (JPEG, PNG) held in memory; ``None`` if undecodable."""
    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size == 0:
        return None
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        return None
    return img.astype(np.uint8, copy=False)
