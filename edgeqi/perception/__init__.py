"""Layers 2 and 3 of a node: what the node needs from perception, whatever runs it.

The node core only sees these interfaces. On a device they are backed by OpenCV frame
checks and ONNX Runtime detectors; in the simulator by a synthetic detector that turns
ground truth into detections with a device profile's recall and latency. The node
cannot tell which, and has no reason to.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple, Protocol

from edgeqi.protocol import Detection

EMERGENCY_CLASS = "emergency"


class FrameCheck(NamedTuple):
    """Layer 2 verdict on one capture window: frames usable, frames rejected by reason.

    A named tuple, like the node's other per-step values: a frozen dataclass costs three
    times as much to build, and the simulator builds one per node and step."""

    good: int
    rejected: Mapping[str, int] = MappingProxyType({})

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())


class WindowObservation(NamedTuple):
    """Layer 3 result over one observation window, per watched approach (same order)."""

    vehicles: tuple[float, ...]
    queue_m: tuple[float, ...]
    wait_s: tuple[float, ...]
    emergency: tuple[bool, ...]
    stalled: tuple[bool, ...] = ()
    """A vehicle standing still in a lane while it has green (tracker's stationary-object rule)."""
    detections: tuple[Detection, ...] = ()


class Perception(Protocol):
    """What a node calls on the frames it captured since its last step."""

    def check(self, window: object) -> FrameCheck:
        """Reject corrupted, black, frozen or wrongly shaped frames, with a reason each."""
        ...

    def observe(self, window: object, reduced: bool, with_detections: bool) -> WindowObservation:
        """Detect and estimate queues on the good frames of ``window``.

        ``reduced`` selects the int8 / smaller-input model chosen by Algorithm 1.
        ``with_detections`` asks for the per-object list (only policies that upload it).
        """
        ...
