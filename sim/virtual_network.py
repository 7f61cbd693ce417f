"""The virtual network: access links, a shared district backhaul, loss, outages.

Each publish is carried like MQTT QoS 1: an attempt that is lost is retried after a
retransmission timeout that doubles, and every attempt's bytes are counted. Nodes of
one district share a backhaul modelled as a fluid queue, so that a policy that
streams everything pays in queueing delay as well as in bytes. A node whose link is
down keeps messages in a bounded store-and-forward buffer and sends them when the
link returns; what overflows the buffer is lost and counted.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from sim.scenario_config import NetworkConfig


class Delivery(NamedTuple):
    """What became of one publish: arrival time (``None`` if lost), attempts, bytes on the wire."""

    arrival: float | None
    attempts: int
    wire_bytes: int
    rtt_ms: float
    air_s: float
    buffered: bool


@dataclass(slots=True)
class _Backhaul:
    """One district's shared uplink as a fluid queue fed by bursts and constant-rate streams."""

    capacity_bps: float
    backlog_bits: float = 0.0
    at: float = 0.0
    stream_bps: float = 0.0
    ends: list[tuple[float, float]] = field(default_factory=list)

    def advance(self, t: float) -> None:
        """Drain (or fill, when streams exceed capacity) the queue up to time ``t``."""
        while self.at < t:
            nxt = min(t, self.ends[0][0]) if self.ends else t
            if nxt > self.at:
                net = self.stream_bps - self.capacity_bps
                self.backlog_bits = max(0.0, self.backlog_bits + net * (nxt - self.at))
                self.at = nxt
            while self.ends and self.ends[0][0] <= self.at:
                _, rate = heapq.heappop(self.ends)
                self.stream_bps -= rate

    def burst(self, t: float, bits: float) -> float:
        """Queueing delay for ``bits`` arriving at ``t``; they then join the queue."""
        self.advance(t)
        delay = self.backlog_bits / self.capacity_bps
        self.backlog_bits += bits
        return delay

    def stream(self, t: float, seconds: float, bps: float) -> None:
        self.advance(t)
        heapq.heappush(self.ends, (t + seconds, bps))
        self.stream_bps += bps


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
        self._backhaul = [_Backhaul(cfg.district_uplink_mbps * 1e6) for _ in range(n_districts)]
        # Python lists: read per publish, where indexing a NumPy array costs more than the test.
        self.down_until = [0.0] * len(district_of_node)
        self._buffered = [0] * len(district_of_node)
        self._mu = math.log(cfg.latency_ms_median / 1000.0)
        # Hot path of every publish: bound draws and each node's backhaul looked up once.
        self._uniform = rng.random
        self._normal = rng.standard_normal
        self._uplink_bps = cfg.uplink_kbps * 1000.0
        self._backhaul_of_node = [self._backhaul[d] for d in district_of_node.tolist()]
        self.lost_messages = 0
        self.buffer_overflows = 0
        self.attempts = 0

    def cut(self, node: int, until: float) -> None:
        """Take a node's link down until ``until`` (outage or partition)."""
        self.down_until[node] = max(self.down_until[node], until)
        self._buffered[node] = 0

    def is_down(self, node: int, t: float) -> bool:
        return self.down_until[node] > t

    def _one_way_s(self) -> float:
        return math.exp(self._mu + self.cfg.latency_sigma * self._normal())

    def send(self, node: int, t: float, nbytes: int) -> Delivery:
        """Carry one publish of ``nbytes`` (MQTT overhead included) leaving at ``t``."""
        cfg = self.cfg
        buffered = False
        down_until = self.down_until[node]
        if down_until > t:
            if self._buffered[node] >= cfg.buffer_messages:
                self.buffer_overflows += 1
                self.lost_messages += 1
                return Delivery(None, 0, 0, 0.0, 0.0, True)
            self._buffered[node] += 1
            t = down_until
            buffered = True
        air = nbytes * 8.0 / self._uplink_bps
        rto = cfg.rto_s
        loss = cfg.loss
        # Every publish passes here (1.7 M in a paper run): the draws are bound once and the
        # log-normal one-way latency is inlined, in the same order as ``_one_way_s``.
        uniform, normal, mu, sigma = self._uniform, self._normal, self._mu, cfg.latency_sigma
        for attempt in range(1, cfg.max_retries + 2):
            self.attempts += 1
            if uniform() >= loss:
                queue = self._backhaul_of_node[node].burst(t + air, nbytes * 8.0)
                up = math.exp(mu + sigma * normal())
                arrival = t + air + queue + up
                rtt_ms = 1000.0 * (air + queue + up + math.exp(mu + sigma * normal()))
                return Delivery(arrival, attempt, nbytes * attempt, rtt_ms, air * attempt, buffered)
            t += air + rto
            rto *= 2.0
        self.lost_messages += 1
        total = cfg.max_retries + 1
        return Delivery(None, total, nbytes * total, 0.0, air * total, buffered)

    def downlink_s(self, node: int, t: float) -> float:
        """When a message the broker holds for ``node`` at ``t`` reaches it (a persistent
        session keeps it while the node's link is down)."""
        return max(t, self.down_until[node]) + self._one_way_s()

    def stream(self, node: int, t: float, seconds: float, kbps: float) -> float:
        """Live video at ``kbps`` for ``seconds``: a constant-rate load on the backhaul and
        the radio, not acknowledged message by message. Returns seconds on air."""
        self._backhaul[int(self.district_of_node[node])].stream(t, seconds, kbps * 1000.0)
        return seconds * kbps / self.cfg.uplink_kbps
