"""The load test's simulated nodes, their MQTT sessions sharded over worker processes.

The simulator stays one deterministic process; what it hands its sink goes, pickled,
through a queue to the worker process that holds that node's session. The queue's feeder
thread writes the pipe, so a worker that falls behind delays its own hand-overs (measured,
below) and never blocks the simulator's step on a full pipe. Each worker
is a :class:`~sim.hil.HilNodes` for its share of the city (node ``k`` to worker
``k mod N``), so every node keeps its own client id, login and transport, the broker's
ACL still decides what each may publish, and each keeps the phase it has in the whole
city. Why processes and not one asyncio MQTT library multiplexing the sessions in the
simulator's interpreter: the simulator's cost per message is then one pickle and one
pipe write (48-85 µs of its CPU against 150 µs with the sessions in its own process, on
the loaded 2-core machine: ``experiments/benchmarks/bench_node_shards.py``, BENCHMARKS.md
"Issue 19"), while the MQTT work per message (framing, the socket, PUBACKs, the buffer)
runs in other interpreters, on other cores when there are any, and never holds the
simulator's GIL. An asyncio library in the simulator's process would still do all of
that work there. A generator that
shares one interpreter with its 100 clients reports its own delay as the backend's.

Each worker records, for every message, when it handed it to the transport (the publish
time of the load test's ledger) and how late that was against its due time (the moment
the simulator produced it plus the node's phase): the generator's own lag, reported
beside the backend's figures.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from edgeqi.protocol import DetectionBatch, Message
from sim.hil import HilNodes
from sim.realtime import HilConfig

Key = tuple[str, int]
Sent = tuple[str, int, float, int]
"""(node_id, seq, publish time ``time.time()``, detections in it)."""


@dataclass(frozen=True)
class ShardSpec:
    """What a worker needs to run its nodes (picklable: it crosses to a spawned process)."""

    cfg: HilConfig
    nodes: list[str]
    phases: dict[str, float]
    addresses: dict[str, tuple[str, int]]


@dataclass
class ShardResult:
    """A worker's account after its flush."""

    delivered: bool
    sent: list[Sent]
    stats: dict[str, int]
    lag_ms: list[float]


def _serve(inbox: Any, conn: Connection, spec: ShardSpec) -> None:
    """A worker: connect its nodes, then hand over what comes in ``inbox`` until closed;
    answers go back through ``conn``."""
    sent: list[Sent] = []
    lag_ms: list[float] = []
    due: dict[Key, float] = {}

    def record(message: Message, at: float) -> None:
        key = (message.node_id, message.seq)
        n = len(message.detections) if isinstance(message, DetectionBatch) else 0
        sent.append((*key, at, n))
        lag_ms.append((at - due.pop(key, at)) * 1000)

    nodes = HilNodes(
        spec.cfg,
        spec.nodes,
        on_publish=record,
        address=spec.addresses.__getitem__,
        phases=spec.phases,
    )
    try:
        nodes.start()
    except ConnectionError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", None))
    while True:
        kind, value, message = inbox.get()
        if kind == "m":
            due[(message.node_id, message.seq)] = value + spec.phases[message.node_id]
            nodes(0, message)
        elif kind == "flush":
            delivered = nodes.flush(value)
            conn.send(("flushed", ShardResult(delivered, sent, nodes.stats(), lag_ms)))
        else:  # close
            nodes.close(flush=False)
            conn.send(("closed", None))
            return


class ShardedNodes:
    """The simulation's message sink: ``processes`` workers holding the nodes' sessions."""

    def __init__(
        self,
        cfg: HilConfig,
        node_ids: list[str],
        processes: int,
        address: Any,
        spread_s: float = 0.0,
    ) -> None:
        """``address(node) -> (host, port)`` says where each node connects; ``spread_s`` as
        :func:`sim.hil.spread_s` (node ``k`` of ``n`` delayed by ``k/n * spread_s``)."""
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.cfg = cfg
        n = len(node_ids)
        phases = {node: i * spread_s / n for i, node in enumerate(node_ids)}
        groups = [node_ids[s::processes] for s in range(min(processes, n))]
        self.specs = [
            ShardSpec(cfg, g, {k: phases[k] for k in g}, {k: address(k) for k in g}) for g in groups
        ]
        self._ctx = multiprocessing.get_context("spawn")
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self._inboxes: list[Any] = []
        self._inbox_of: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.published = 0
        self.results: list[ShardResult] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.pid is not None]

    def start(self) -> None:
        """Start the workers and wait until every node of every one is connected."""
        for spec in self.specs:
            ours, theirs = self._ctx.Pipe(duplex=False)
            inbox = self._ctx.Queue()
            proc = self._ctx.Process(
                target=_serve, args=(inbox, theirs, spec), name="hil-shard", daemon=True
            )
            proc.start()
            theirs.close()
            self._procs.append(proc)
            self._conns.append(ours)
            self._inboxes.append(inbox)
            self._inbox_of |= dict.fromkeys(spec.nodes, inbox)
        timeout = self.cfg.connect_timeout_s + 60  # a spawned interpreter imports first
        for conn in self._conns:
            if not conn.poll(timeout):
                self.close()
                raise ConnectionError(f"a node shard did not start within {timeout:g} s")
            kind, detail = conn.recv()
            if kind != "ready":
                self.close()
                raise ConnectionError(str(detail))

    def __call__(self, _k: int, message: Message) -> None:
        with self._lock:
            self.published += 1
            self._inbox_of[message.node_id].put(("m", time.time(), message))

    def flush(self, timeout: float | None = None) -> bool:
        """Every worker hands over what waits for its phase and delivers what it holds;
        ``False`` if any did not within ``timeout``. Collects their ledgers: call once."""
        wait = self.cfg.flush_timeout_s if timeout is None else timeout
        with self._lock:
            for inbox in self._inboxes:
                inbox.put(("flush", wait, None))
        self.results = []
        for conn in self._conns:
            if conn.poll(wait + 30):
                self.results.append(conn.recv()[1])
        return len(self.results) == len(self._conns) and all(r.delivered for r in self.results)

    def sent(self) -> dict[Key, tuple[float, int]]:
        """(node_id, seq) -> (publish time, detections), as the workers recorded them."""
        return {(node, seq): (at, n) for r in self.results for node, seq, at, n in r.sent}

    def stats(self) -> dict[str, int]:
        """Totals over every node's transport (from the flush)."""
        total: dict[str, int] = {}
        for r in self.results:
            for key, value in r.stats.items():
                total[key] = total.get(key, 0) + value
        return total

    def lag(self) -> dict[str, Any]:
        """How late the workers handed messages over against their due time, in ms."""
        every = np.array([x for r in self.results for x in r.lag_ms])
        if not every.size:
            return {"n": 0, "p50": None, "p99": None, "max": None}
        p50, p99 = np.percentile(every, [50, 99])
        return {
            "n": int(every.size),
            "p50": round(float(p50), 2),
            "p99": round(float(p99), 2),
            "max": round(float(every.max()), 2),
        }

    def close(self) -> None:
        """Disconnect every node and end the workers."""
        for inbox, conn in zip(self._inboxes, self._conns, strict=True):
            try:
                inbox.put(("close", None, None))
                if conn.poll(30):
                    conn.recv()
            except (OSError, EOFError, ValueError):
                pass  # the worker is already gone
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
        for conn in self._conns:
            conn.close()
        for inbox in self._inboxes:
            inbox.close()
            inbox.join_thread()
