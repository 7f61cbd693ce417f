"""Link-quality monitor: what a node knows of its uplink from its own traffic.

Round-trip time is smoothed the way TCP does it (Jacobson/Karels: an EWMA of the RTT
and of its deviation; mean + 2 deviations approximates a high percentile); throughput
is an EWMA of delivered bytes over transfer time; loss is the share of the last
``loss_window`` publishes that were never acknowledged.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple


class LinkQuality(NamedTuple):
    rtt_ms: float
    rtt_p90_ms: float
    bandwidth_kbps: float
    loss: float
    score: float
    """0 (unusable) to 1 (excellent), for dashboards and tie-breaking."""


class LinkMonitor:
    def __init__(
        self,
        alpha: float = 0.2,
        initial_bandwidth_kbps: float = 1000.0,
        initial_rtt_ms: float = 50.0,
        loss_window: int = 100,
    ) -> None:
        self.alpha = alpha
        self.rtt_ms = initial_rtt_ms
        self.rtt_dev_ms = initial_rtt_ms / 2.0
        self.bandwidth_kbps = initial_bandwidth_kbps
        self._outcomes: deque[bool] = deque(maxlen=loss_window)
        self._lost_in_window = 0
        self._unacked = 0
        self.last_update: float | None = None
        self._quality: LinkQuality | None = None
        """The last :meth:`quality`, until an ack or a loss changes it: every node step asks
        for it, and most steps have no link feedback."""

    def on_sent(self, now: float, count: int = 1) -> None:
        self._unacked += count
        self.last_update = now

    def on_ack(self, now: float, rtt_ms: float, nbytes: int, transfer_s: float) -> None:
        a = self.alpha
        self.rtt_dev_ms = (1 - a) * self.rtt_dev_ms + a * abs(rtt_ms - self.rtt_ms)
        self.rtt_ms = (1 - a) * self.rtt_ms + a * rtt_ms
        if transfer_s > 0 and nbytes > 0:
            kbps = nbytes * 8.0 / transfer_s / 1000.0
            self.bandwidth_kbps = (1 - a) * self.bandwidth_kbps + a * kbps
        self._record(True)
        self._quality = None
        self._unacked = max(0, self._unacked - 1)
        self.last_update = now

    def on_loss(self, now: float, count: int = 1) -> None:
        for _ in range(count):
            self._record(False)
        self._quality = None
        self._unacked = max(0, self._unacked - count)
        self.last_update = now

    def _record(self, delivered: bool) -> None:
        window = self._outcomes
        if len(window) == window.maxlen and not window[0]:
            self._lost_in_window -= 1
        window.append(delivered)
        if not delivered:
            self._lost_in_window += 1

    @property
    def loss(self) -> float:
        if not self._outcomes:
            return 0.0
        return self._lost_in_window / len(self._outcomes)

    def quality(self) -> LinkQuality:
        if self._quality is None:
            self._quality = self._measure()
        return self._quality

    def _measure(self) -> LinkQuality:
        loss = self.loss
        p90 = self.rtt_ms + 2.0 * self.rtt_dev_ms
        latency_term = 1.0 / (1.0 + p90 / 200.0)
        bw_term = min(1.0, self.bandwidth_kbps / 1500.0)
        score = max(0.0, min(1.0, (1.0 - loss) * (0.5 * latency_term + 0.5 * bw_term) * 1.5))
        return LinkQuality(self.rtt_ms, p90, self.bandwidth_kbps, loss, score)
