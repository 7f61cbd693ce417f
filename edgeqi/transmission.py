"""Algorithm 2: anomaly-driven transmission.

Each new observation is scored against a robust baseline of the same key (a camera's
approach) at the same time of day that does *not* include the observation itself:
the median and MAD of a ring buffer per (key, hour bin). Two statistics decide:

* the robust z-score catches spikes (an emergency stop, a sudden queue);
* a one-sided CUSUM of z-scores (the "significance") catches sustained shifts that
  never look dramatic in a single sample (a lane slowly blocked).

z >= critical or significance >= high: transmit now, high priority. z >= medium:
transmit, normal priority. z >= low: defer into a batch, summarised and compressed,
sent periodically. Otherwise discard, counted in the next heartbeat.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from dataclasses import dataclass, field
from enum import StrEnum

from edgeqi.evidence import MOfN

MAD_TO_SIGMA = 1.4826
"""Scale that makes the MAD a consistent estimator of a normal distribution's sigma."""


class Action(StrEnum):
    TRANSMIT_NOW = "transmit_now"
    TRANSMIT = "transmit"
    BATCH = "batch"
    DISCARD = "discard"


@dataclass(slots=True, frozen=True)
class TransmissionConfig:
    critical_z: float = 6.0
    medium_z: float = 3.5
    low_z: float = 2.0
    high_significance: float = 8.0
    cusum_slack: float = 1.0
    """CUSUM reference value k, in robust-sigma units: drift below it is forgotten
    (k = 1 is the classic choice for detecting a shift of two sigma)."""
    window: int = 60
    recent_window: int = 20
    """Samples of the hour-blind fallback baseline: short, so it follows daily ramps."""
    min_history: int = 5
    tod_bins: int = 24
    min_scale: float = 1.0
    """Floor on the robust sigma, in the observation's units, so that a flat baseline does
    not turn a one-vehicle change into an infinite z-score."""
    count_dispersion: float = 1.0
    """Floor on the variance-to-mean ratio (index of dispersion) of the scored value: the
    robust sigma is at least ``sqrt(count_dispersion * median)``. The scored value is a
    vehicle count, and a queue built by random arrivals over a red phase varies at least
    as a Poisson count does (variance = mean); the MAD of a few dozen samples often
    underestimates that, and then ordinary cycle-to-cycle variation (a median of 4
    vehicles, one cycle of 13) scores as a critical anomaly. 0 turns the floor off."""
    confirm_m: int = 2
    confirm_n: int = 3
    """A queue anomaly is reported only once M of the last N scored cycles of its approach
    were anomalous (z >= medium_z or significance >= high_significance): the M-of-N rule
    of :mod:`edgeqi.evidence`. One unusual cycle is ordinary variation far more often than
    the start of an incident or a surge, which last many cycles. 2 of 3 was chosen on
    training seeds 100-109 (BENCHMARKS.md, "Paper targets")."""
    batch_period_s: float = 60.0
    max_batch: int = 512


@dataclass(slots=True, frozen=True)
class Verdict:
    action: Action
    z: float
    significance: float
    baseline: float
    scale: float


@dataclass(slots=True)
class _Ring:
    values: list[float]
    count: int = 0

    def push(self, value: float) -> None:
        self.values[self.count % len(self.values)] = float(value)
        self.count += 1

    def view(self) -> list[float]:
        return self.values[: min(self.count, len(self.values))]


def median(values: list[float]) -> float:
    """The median as :func:`numpy.median` computes it (the mean of the two middle values
    for an even count), bit for bit, without NumPy's per-call overhead on a few dozen
    samples: this runs for every scored observation of every node."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0


class RobustBaseline:
    """Median/MAD per (key, time-of-day bin) over the last ``window`` samples.

    A bin with too little history (the first day of a deployment, or the first hour
    of a simulation) falls back to the key's recent samples regardless of the hour,
    so time-of-day awareness refines the baseline without blinding a new node, and
    a thin bin is never defined by the anomaly it should be detecting.
    """

    def __init__(self, config: TransmissionConfig) -> None:
        self.config = config
        self._rings: dict[tuple[str, int], _Ring] = {}
        self._recent: dict[str, _Ring] = {}
        # A bin is trusted once it holds a third of a window: with fewer samples, the first
        # minutes of an anomaly would be enough to define that hour's "normal".
        self._bin_trusted = max(config.min_history, config.window // 3)

    def _bin(self, now: float) -> int:
        bins = self.config.tod_bins
        return int((now % 86400.0) / 86400.0 * bins) % bins

    def score(self, key: str, value: float, now: float) -> tuple[float, float, float, int]:
        """(z, median, robust sigma, samples) from history that excludes ``value``."""
        ring = self._rings.get((key, self._bin(now)))
        if ring is None or ring.count < self._bin_trusted:
            ring = self._recent.get(key)
        if ring is None or ring.count == 0:
            return 0.0, value, self.config.min_scale, 0
        med, scale = self._stats(ring)
        return (value - med) / scale, med, scale, min(ring.count, len(ring.values))

    def _stats(self, ring: _Ring) -> tuple[float, float]:
        hist = ring.view()
        med = median(hist)
        mad = median([abs(x - med) for x in hist])
        poisson = math.sqrt(self.config.count_dispersion * max(med, 0.0))
        return med, max(MAD_TO_SIGMA * mad, self.config.min_scale, poisson)

    def _learn(self, ring: _Ring, value: float) -> None:
        """Push ``value`` winsorised against this ring's own median +- low_z sigma.

        An ongoing anomaly must not become the new normal within minutes, yet a lasting
        change of level must eventually be learnt: a clipped sample moves the median a
        little, so the baseline creeps towards a new level instead of jumping to it or
        never moving.
        """
        if ring.count >= self.config.min_history:
            med, scale = self._stats(ring)
            bound = self.config.low_z * scale
            value = min(max(value, med - bound), med + bound)
        ring.push(value)

    def update(self, key: str, value: float, now: float) -> None:
        k = (key, self._bin(now))
        ring = self._rings.get(k)
        if ring is None:
            ring = self._rings[k] = _Ring([0.0] * self.config.window)
        self._learn(ring, value)
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = _Ring([0.0] * self.config.recent_window)
        self._learn(recent, value)


class CycleConfirmation:
    """Which scored cycles become reports: Algorithm 2's verdicts through M-of-N evidence.

    A cycle at or above ``medium_z`` is confirmed once ``confirm_m`` of the last
    ``confirm_n`` cycles of its key were anomalous. A CUSUM alarm that earlier cycles built
    up (significance at or above ``high_significance`` that this cycle's z alone would not
    have reached) is confirmed at once: it already sums several cycles of evidence, and
    since it restarts from zero after signalling, asking it to signal again within
    ``confirm_n`` cycles would lose exactly the sustained shifts it exists to catch.
    """

    __slots__ = ("_high", "_slack", "_windows")

    def __init__(self, config: TransmissionConfig) -> None:
        self._windows = MOfN(config.confirm_m, config.confirm_n)
        self._high = config.high_significance
        self._slack = config.cusum_slack

    def confirms(self, key: str, verdict: Verdict) -> bool:
        """Record ``verdict`` for ``key``; True when it is to be reported."""
        anomalous = verdict.action in (Action.TRANSMIT_NOW, Action.TRANSMIT)
        if self._windows.push(key, anomalous):
            return True
        built_up = verdict.significance >= self._high > verdict.z - self._slack
        return anomalous and built_up


@dataclass(slots=True, frozen=True)
class BatchPayload:
    window_start: float
    window_end: float
    count: int
    codec: str
    data: str
    mean_value: float
    max_value: float
    raw_bytes: int
    compressed_bytes: int


@dataclass(slots=True)
class TransmitterStats:
    by_action: dict[Action, int] = field(default_factory=lambda: dict.fromkeys(Action, 0))
    batches: int = 0
    batch_raw_bytes: int = 0
    batch_compressed_bytes: int = 0


class AnomalyTransmitter:
    """Scores observations and decides, per observation, one of the four actions."""

    def __init__(self, config: TransmissionConfig) -> None:
        self.config = config
        self.baseline = RobustBaseline(config)
        self.stats = TransmitterStats()
        self._cusum: dict[str, float] = {}
        self._batch: list[dict[str, float | str]] = []
        self._batch_values: list[float] = []
        self._batch_started: float | None = None
        self._last_flush: float | None = None
        self.discarded_since_heartbeat = 0

    def observe(
        self, key: str, value: float, now: float, record: dict[str, float | str] | None = None
    ) -> Verdict:
        cfg = self.config
        z, med, scale, n = self.baseline.score(key, value, now)
        if n < cfg.min_history:
            # Not enough history to call anything anomalous: keep it, cheaply, and learn.
            self.baseline.update(key, value, now)
            self._cusum[key] = 0.0
            return self._finish(Action.BATCH, key, value, now, record, 0.0, 0.0, med, scale)
        s = max(0.0, self._cusum.get(key, 0.0) + z - cfg.cusum_slack)
        self._cusum[key] = s
        if z >= cfg.critical_z or s >= cfg.high_significance:
            action = Action.TRANSMIT_NOW
            self._cusum[key] = 0.0  # signalled: start accumulating evidence afresh
        elif z >= cfg.medium_z:
            action = Action.TRANSMIT
        elif z >= cfg.low_z:
            action = Action.BATCH
        else:
            action = Action.DISCARD
        self.baseline.update(key, value, now)
        return self._finish(action, key, value, now, record, z, s, med, scale)

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
        self.stats.by_action[action] += 1
        if action is Action.BATCH:
            self._add_to_batch(key, value, now, record)
        elif action is Action.DISCARD:
            self.discarded_since_heartbeat += 1
        return Verdict(action, z, s, med, scale)

    def defer(
        self, key: str, value: float, now: float, record: dict[str, float | str] | None = None
    ) -> None:
        """Keep an observation the caller will not send now in the next batch summary."""
        self._add_to_batch(key, value, now, record)

    def _add_to_batch(
        self, key: str, value: float, now: float, record: dict[str, float | str] | None
    ) -> None:
        if self._batch_started is None:
            self._batch_started = now
        if len(self._batch) >= self.config.max_batch:
            # Full: the oldest deferred sample gives way and is counted as discarded.
            self._batch.pop(0)
            self._batch_values.pop(0)
            self.discarded_since_heartbeat += 1
        self._batch.append(record if record is not None else {"k": key, "t": now, "v": value})
        self._batch_values.append(value)

    def batch_due(self, now: float) -> bool:
        if not self._batch:
            return False
        since = self._last_flush if self._last_flush is not None else self._batch_started
        return since is not None and now - since >= self.config.batch_period_s

    def flush(self, now: float) -> BatchPayload | None:
        self._last_flush = now
        if not self._batch:
            return None
        raw = json.dumps(self._batch, separators=(",", ":")).encode()
        packed = zlib.compress(raw, 9)
        values = self._batch_values
        payload = BatchPayload(
            window_start=self._batch_started if self._batch_started is not None else now,
            window_end=now,
            count=len(self._batch),
            codec="zlib+json",
            data=base64.b64encode(packed).decode(),
            mean_value=sum(values) / len(values),
            max_value=max(values),
            raw_bytes=len(raw),
            compressed_bytes=len(packed),
        )
        self.stats.batches += 1
        self.stats.batch_raw_bytes += len(raw)
        self.stats.batch_compressed_bytes += len(packed)
        self._batch = []
        self._batch_values = []
        self._batch_started = None
        return payload

    def take_discarded(self) -> int:
        n = self.discarded_since_heartbeat
        self.discarded_since_heartbeat = 0
        return n


def decode_batch(codec: str, data: str) -> list[dict[str, object]]:
    """Inverse of :meth:`AnomalyTransmitter.flush`; used by the backend."""
    raw = base64.b64decode(data)
    if codec == "zlib+json":
        raw = zlib.decompress(raw)
    elif codec != "none+json":
        raise ValueError(f"unknown batch codec {codec!r}")
    records = json.loads(raw)
    if not isinstance(records, list):
        raise ValueError("batch data is not a list of records")
    return records


class CycleMax:
    """Largest value per key over consecutive, non-overlapping windows (a signal cycle).

    A queue at a signal rises through red and drains through green, so successive
    samples are neither independent nor comparable: scoring them one by one makes
    every red phase look like a shift. The cycle's maximum queue is the stable
    statistic a traffic engineer would watch, and one per cycle keeps the samples fed
    to the scorer independent.
    """

    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.window_s = window_s
        self._start: dict[str, float] = {}
        self._max: dict[str, float] = {}

    def push(self, key: str, value: float, now: float) -> float | None:
        """Add a sample; return the finished window's maximum when ``now`` closes it."""
        start = self._start.get(key)
        if start is None:
            self._start[key] = now
            self._max[key] = value
            return None
        if now - start >= self.window_s:
            done = self._max[key]
            self._start[key] = now
            self._max[key] = value
            return done
        self._max[key] = max(self._max[key], value)
        return None

    def running(self, key: str) -> tuple[float, float] | None:
        """(start, maximum so far) of ``key``'s open window: the peak the next closing
        sample will report; ``None`` before the key's first sample."""
        start = self._start.get(key)
        return None if start is None else (start, self._max[key])
