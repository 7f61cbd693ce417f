"""The plug-in point for learned policies: what a node knows in, Algorithm 1/2's choice out.

A learned policy is any callable from :class:`PolicyObservation` to :class:`PolicyAction`
(an ONNX model wrapped by the runtime, a table, a test's lambda). The node asks it once per
observation window, at the end of ``step``, and applies the answer to the *next* window:

* ``transmit`` replaces Algorithm 2's verdict for every signal cycle that closes in that
  window (transmit now / transmit / defer into the batch / discard);
* ``reduced`` runs the window's detection in reduced precision (int8, smaller input)
  instead of leaving that choice to Algorithm 1's battery rule;
* ``clip`` says whether a critical report of that window carries a video clip.

Deciding one window ahead is what lets a Gymnasium environment show the agent the
observation before it acts, and it loses nothing: a cycle's peak is the maximum of the
samples *before* the one that closes it (:class:`edgeqi.transmission.CycleMax`), so the
running peak and its z-score seen here are exactly what the next window's verdict scores.

The observation holds only what the node itself measured (its queue counts, its baseline,
its battery reading, its link monitor, the time it was handed); never ground truth. Its
fixed-order vector (:data:`OBSERVATION_FIELDS`) is the input of every exported model.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from edgeqi.transmission import Action, AnomalyTransmitter, TransmissionConfig, Verdict

TRANSMIT_ACTIONS: tuple[Action, ...] = (
    Action.TRANSMIT_NOW,
    Action.TRANSMIT,
    Action.BATCH,
    Action.DISCARD,
)
"""Index order of the ``transmit`` head of an action vector."""

HISTORY = 3
"""Closed cycle peaks the observation carries (the short history)."""


@dataclass(frozen=True, slots=True)
class PolicyObservation:
    """One node's own view at the end of a window; every field is a float, clipped below."""

    queue_now: float
    """Largest vehicle count over the node's approaches in the window just detected."""
    peak_z: float
    """Robust z-score of the running cycle peak against the baseline (largest approach)."""
    cycle_progress: float
    """Fraction of the signal cycle elapsed: at 1 the next window closes it and decides."""
    last_z: float
    """z-score of the last closed cycle (largest approach)."""
    last_significance: float
    """Algorithm 2's CUSUM after the last closed cycle (largest approach)."""
    peak_1: float
    peak_2: float
    peak_3: float
    """The last three closed cycle peaks, newest first (vehicles, largest approach)."""
    battery_soc: float
    rtt_s: float
    bandwidth_mbps: float
    loss: float
    tod_sin: float
    tod_cos: float
    """Time of day on the unit circle, so midnight is next to 23:59."""

    def vector(self) -> tuple[float, ...]:
        """The fields in declaration order (:data:`OBSERVATION_FIELDS`), as a model's input."""
        return tuple(getattr(self, name) for name in OBSERVATION_FIELDS)


OBSERVATION_FIELDS: tuple[str, ...] = tuple(PolicyObservation.__dataclass_fields__)
OBSERVATION_BOUNDS: dict[str, tuple[float, float]] = {
    "queue_now": (0.0, 200.0),
    "peak_z": (-20.0, 50.0),
    "cycle_progress": (0.0, 1.0),
    "last_z": (-20.0, 50.0),
    "last_significance": (0.0, 100.0),
    "peak_1": (0.0, 200.0),
    "peak_2": (0.0, 200.0),
    "peak_3": (0.0, 200.0),
    "battery_soc": (0.0, 1.0),
    "rtt_s": (0.0, 10.0),
    "bandwidth_mbps": (0.0, 100.0),
    "loss": (0.0, 1.0),
    "tod_sin": (-1.0, 1.0),
    "tod_cos": (-1.0, 1.0),
}
"""Bounds every observation is clipped to (a Gymnasium Box needs them; a z-score of 50 or
a queue of 200 vehicles per camera view is already far outside any scenario)."""
OBSERVATION_LOW = tuple(OBSERVATION_BOUNDS[f][0] for f in OBSERVATION_FIELDS)
OBSERVATION_HIGH = tuple(OBSERVATION_BOUNDS[f][1] for f in OBSERVATION_FIELDS)


@dataclass(frozen=True, slots=True)
class PolicyAction:
    transmit: Action
    reduced: bool = False
    clip: bool = True

    @classmethod
    def from_indices(cls, transmit: int, reduced: int, clip: int) -> PolicyAction:
        """From an action vector (``transmit`` indexes :data:`TRANSMIT_ACTIONS`)."""
        return cls(TRANSMIT_ACTIONS[int(transmit)], bool(reduced), bool(clip))

    def indices(self) -> tuple[int, int, int]:
        return TRANSMIT_ACTIONS.index(self.transmit), int(self.reduced), int(self.clip)


ACTION_SIZES: tuple[int, int, int] = (len(TRANSMIT_ACTIONS), 2, 2)
"""Choices per head of an action vector: transmit, reduced, clip."""


class DecisionPolicy(Protocol):
    """A learned policy: the node's own observation to the next window's decisions."""

    def __call__(self, observation: PolicyObservation) -> PolicyAction: ...


def _clip(values: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(
        min(max(v, lo), hi)
        for v, lo, hi in zip(values, OBSERVATION_LOW, OBSERVATION_HIGH, strict=True)
    )


class PolicyMemory:
    """What the node remembers between windows to build its observation."""

    def __init__(self) -> None:
        self.queue_now = 0.0
        self.last_z = 0.0
        self.last_significance = 0.0
        self.peaks: deque[float] = deque([0.0] * HISTORY, maxlen=HISTORY)

    def on_window(self, vehicles: tuple[float, ...]) -> None:
        self.queue_now = max(vehicles, default=0.0)

    def on_cycle(self, peaks: list[tuple[float, float, float]]) -> None:
        """The cycles that closed in one window: (peak, z, significance) per approach."""
        if not peaks:
            return
        peak, z, significance = max(peaks, key=lambda p: p[1])
        self.peaks.appendleft(peak)
        self.last_z = z
        self.last_significance = significance

    def observation(
        self,
        peak_z: float,
        cycle_progress: float,
        battery_soc: float,
        rtt_ms: float,
        bandwidth_kbps: float,
        loss: float,
        now: float,
    ) -> PolicyObservation:
        angle = 2.0 * math.pi * ((now % 86400.0) / 86400.0)
        p1, p2, p3 = self.peaks
        raw = (
            self.queue_now,
            peak_z,
            cycle_progress,
            self.last_z,
            self.last_significance,
            p1,
            p2,
            p3,
            battery_soc,
            rtt_ms / 1000.0,
            bandwidth_kbps / 1000.0,
            loss,
            math.sin(angle),
            math.cos(angle),
        )
        return PolicyObservation(*_clip(raw))


class OverridableTransmitter(AnomalyTransmitter):
    """Algorithm 2's scoring and batching, its verdict replaced while ``override`` is set.

    The baseline, the CUSUM and the batch are Algorithm 2's own, so a learned policy sees
    the same scores and its deferred observations travel in the same compressed batch; the
    CUSUM restarts where Algorithm 2 would have signalled, whatever the policy chose.
    """

    def __init__(self, config: TransmissionConfig) -> None:
        super().__init__(config)
        self.override: Action | None = None

    def _finish(
        self,
        action: Action,
        key: str,
        value: float,
        now: float,
        record: dict[str, float | str] | None,
        z: float,
        s: float,
        med: float,
        scale: float,
    ) -> Verdict:
        chosen = action if self.override is None else self.override
        return super()._finish(chosen, key, value, now, record, z, s, med, scale)
