"""The virtual network: access links, a shared district backhaul, loss, outages.

Each publish is carried like MQTT QoS 1: an attempt that is lost is retried after a
retransmission timeout that doubles, and every attempt's bytes are counted. Nodes of
one district share a backhaul modelled as a fluid queue, so that a policy that
streams everything pays in queueing delay as well as in bytes. A node whose link is
down keeps messages in a bounded store-and-forward buffer and sends them when the
link returns; what overflows the buffer is lost and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.config import NetworkConfig


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one publish: arrival time (``None`` if lost), attempts, bytes on the wire."""

    arrival: float | None
    attempts: int
    wire_bytes: int
    rtt_ms: float
    air_s: float
    buffered: bool


class Network:
    """Links of ``nodes`` nodes, grouped into districts that share a backhaul."""

    def __init__(
        self,
        cfg: NetworkConfig,
        district_of_node: npt.NDArray[np.int64],
        rng: np.random.Generator,
    ) -> None:
        self.cfg = cfg
        self.rng = rng
        self.district_of_node = district_of_node
        n_districts = int(district_of_node.max()) + 1 if len(district_of_node) else 0
        self.capacity_bps = cfg.district_uplink_mbps * 1e6
        self._backlog_bits = np.zeros(n_districts)
        self._backlog_at = np.zeros(n_districts)
        self.down_until = np.zeros(len(district_of_node))
        self._buffered = np.zeros(len(district_of_node), dtype=np.int64)
        self._mu = math.log(cfg.latency_ms_median / 1000.0)
        self.lost_messages = 0
        self.buffer_overflows = 0
        self.attempts = 0

    def cut(self, node: int, until: float) -> None:
        """Take a node's link down until ``until`` (outage or partition)."""
        self.down_until[node] = max(self.down_until[node], until)
        self._buffered[node] = 0

    def is_down(self, node: int, t: float) -> bool:
        return bool(self.down_until[node] > t)

    def _one_way_s(self) -> float:
        return float(math.exp(self._mu + self.cfg.latency_sigma * self.rng.standard_normal()))

    def _queue_delay(self, district: int, t: float, bits: float) -> float:
        """Fluid backhaul queue: drain since last use, then wait behind what is still queued."""
        elapsed = max(0.0, t - self._backlog_at[district])
        backlog = max(0.0, self._backlog_bits[district] - elapsed * self.capacity_bps)
        delay = backlog / self.capacity_bps
        self._backlog_bits[district] = backlog + bits
        self._backlog_at[district] = max(t, self._backlog_at[district])
        return delay

    def send(self, node: int, t: float, nbytes: int) -> Delivery:
        """Carry one publish of ``nbytes`` (MQTT overhead included) leaving at ``t``."""
        cfg = self.cfg
        buffered = False
        if self.down_until[node] > t:
            if self._buffered[node] >= cfg.buffer_messages:
                self.buffer_overflows += 1
                self.lost_messages += 1
                return Delivery(None, 0, 0, 0.0, 0.0, True)
            self._buffered[node] += 1
            t = float(self.down_until[node])
            buffered = True
        air = nbytes * 8.0 / (cfg.uplink_kbps * 1000.0)
        district = int(self.district_of_node[node])
        rto = cfg.rto_s
        for attempt in range(1, cfg.max_retries + 2):
            self.attempts += 1
            if self.rng.random() >= cfg.loss:
                queue = self._queue_delay(district, t + air, nbytes * 8.0)
                up = self._one_way_s()
                arrival = t + air + queue + up
                rtt_ms = 1000.0 * (air + queue + up + self._one_way_s())
                return Delivery(arrival, attempt, nbytes * attempt, rtt_ms, air * attempt, buffered)
            t += air + rto
            rto *= 2.0
        self.lost_messages += 1
        total = cfg.max_retries + 1
        return Delivery(None, total, nbytes * total, 0.0, air * total, buffered)

    def stream(self, node: int, t: float, nbytes: int) -> float:
        """Video bytes: they load the backhaul and the radio but are not acknowledged one by one.

        Returns seconds on air; nothing is sent while the link is down.
        """
        if self.down_until[node] > t:
            return 0.0
        self._queue_delay(int(self.district_of_node[node]), t, nbytes * 8.0)
        return nbytes * 8.0 / (self.cfg.uplink_kbps * 1000.0)
