"""Layer 1 on a device: frames from a V4L2 camera, a video file, an RTSP stream or a
GStreamer pipeline, through OpenCV, sampled at the node's frame rate.

A capture thread reads the source continuously (a live camera's driver buffer must be
drained or its frames grow stale) and keeps one frame every ``1 / fps`` seconds, with
the wall-clock time it was read, in a bounded queue; the runtime takes what arrived
since its last step as the node's window. A file is read at its own frame rate, so a
recorded video stands in for a camera in real time (and loops when asked). A live
source that fails is reopened with backoff; every failure is counted, and a window
with no frames is what makes the node report its camera broken.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edgeqi.perception.camera import FrameWindow

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What to open: an int is a V4L2 index, a string with ``!`` a GStreamer pipeline,
    ``rtsp://`` / ``http(s)://`` a stream, anything else a file path."""

    source: int | str
    fps: float = 10.0
    width: int | None = None
    height: int | None = None
    loop: bool = False
    """Files only: start again at the end instead of ending the capture."""

    @property
    def kind(self) -> str:
        if isinstance(self.source, int) or (isinstance(self.source, str) and self.source.isdigit()):
            return "v4l2"
        if "!" in self.source:
            return "gstreamer"
        if self.source.split("://", 1)[0] in ("rtsp", "rtsps", "http", "https", "rtmp"):
            return "stream"
        return "file"


def open_capture(spec: SourceSpec) -> cv2.VideoCapture:
    """An opened ``VideoCapture`` for ``spec``; raises ``OSError`` naming the source."""
    kind = spec.kind
    if kind == "v4l2":
        cap = cv2.VideoCapture(int(spec.source), cv2.CAP_V4L2)
        if spec.width and spec.height:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, spec.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, spec.height)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    elif kind == "gstreamer":
        cap = cv2.VideoCapture(str(spec.source), cv2.CAP_GSTREAMER)
    elif kind == "file":
        if not Path(str(spec.source)).is_file():
            raise OSError(f"camera source {spec.source}: no such file")
        cap = cv2.VideoCapture(str(spec.source))
    else:
        cap = cv2.VideoCapture(str(spec.source), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        hint = ""
        if kind == "gstreamer" and not cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER):
            hint = ": this OpenCV has no GStreamer backend (use the board's OpenCV build)"
        raise OSError(f"camera source {spec.source!r} ({kind}) could not be opened{hint}")
    return cap


@dataclass
class CaptureStats:
    read: int = 0
    """Frames decoded from the source."""
    kept: int = 0
    """Frames sampled into windows."""
    overflowed: int = 0
    """Sampled frames pushed out of the queue because the runtime fell behind."""
    failures: int = 0
    """Failed reads or opens of the source."""
    reopened: int = 0


@dataclass
class Camera:
    """The capture thread and its bounded queue of ``(timestamp, frame)``."""

    spec: SourceSpec
    queue_frames: int = 64
    clock: Clock = time.time
    reopen_max_s: float = 30.0
    stats: CaptureStats = field(default_factory=CaptureStats)
    _frames: deque[tuple[float, np.ndarray]] = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    ended: threading.Event = field(default_factory=threading.Event, init=False)
    """Set when a non-looping file reached its end."""

    def __post_init__(self) -> None:
        self._frames = deque(maxlen=self.queue_frames)

    def start(self) -> None:
        """Open the source now (so a wrong path fails at start) and start reading."""
        cap = open_capture(self.spec)
        self._thread = threading.Thread(target=self._run, args=(cap,), name="camera", daemon=True)
        self._thread.start()

    def take(self) -> FrameWindow:
        """Frames sampled since the last call, oldest first."""
        with self._lock:
            frames = list(self._frames)
            self._frames.clear()
        return FrameWindow(frames)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- capture thread ---------------------------------------------------------------

    # The capture thread's loop: pacing a file at its native rate, reconnecting a stream,
    # ending or looping a file; its cases share the capture's state, kept in one loop.
    def _run(self, cap: cv2.VideoCapture) -> None:  # noqa: C901, PLR0912, PLR0915
        is_file = self.spec.kind == "file"
        native = cap.get(cv2.CAP_PROP_FPS) if is_file else 0.0
        frame_s = 1.0 / native if native and native > 0 else 0.0
        keep_every = 1.0 / self.spec.fps
        next_keep = 0.0
        started = time.monotonic()
        position = 0
        delay = 1.0
        try:
            while not self._stop.is_set():
                if is_file and frame_s:
                    # A file plays at its own rate: wait for the frame's moment, and skip
                    # the decode of frames that would not be kept.
                    due = started + position * frame_s
                    wait = due - time.monotonic()
                    if wait > 0 and self._stop.wait(wait):
                        break
                    media_t = position * frame_s
                    position += 1
                    skip = media_t + 1e-9 < next_keep
                    if not skip:
                        next_keep = media_t + keep_every
                else:
                    skip = False
                if skip:  # only grabbed, not decoded; a failed grab is the file's end
                    if cap.grab():
                        continue
                    ok, frame = False, None
                else:
                    ok, frame = cap.read()
                if not ok or frame is None:
                    if is_file:
                        again = self._at_end(cap)
                        if again is None:
                            return
                        cap = again
                        started, position, next_keep = time.monotonic(), 0, 0.0
                        continue
                    self.stats.failures += 1
                    cap.release()
                    reopened = self._reopen(delay)
                    delay = min(delay * 2, self.reopen_max_s)
                    if reopened is None:
                        return
                    cap = reopened
                    continue
                delay = 1.0
                self.stats.read += 1
                now = self.clock()
                if not is_file:
                    if time.monotonic() < next_keep:
                        continue
                    next_keep = time.monotonic() + keep_every
                self._keep(now, frame)
        finally:
            cap.release()

    def _keep(self, t: float, frame: np.ndarray) -> None:
        with self._lock:
            if len(self._frames) == self._frames.maxlen:
                self.stats.overflowed += 1
            self._frames.append((t, frame))
            self.stats.kept += 1

    def _at_end(self, cap: cv2.VideoCapture) -> cv2.VideoCapture | None:
        if not self.spec.loop:
            log.info("video file %s ended", self.spec.source)
            self.ended.set()
            return None
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        return cap

    def _reopen(self, delay: float) -> cv2.VideoCapture | None:
        """Retry the source with backoff until it opens or the camera is stopped."""
        while not self._stop.wait(delay):
            try:
                cap = open_capture(self.spec)
            except OSError as exc:
                self.stats.failures += 1
                log.warning("camera reopen failed: %s", exc)
                delay = min(delay * 2, self.reopen_max_s)
                continue
            self.stats.reopened += 1
            log.info("camera %s reopened", self.spec.source)
            return cap
        return None
