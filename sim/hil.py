"""Hardware-in-the-loop: the simulator's nodes publish over a real broker.

Each virtual node gets the transport a field node uses (:class:`MqttTransport`: its
own client id and credentials, QoS 1, reconnect with backoff, bounded
store-and-forward buffer). The simulation runs in real time (``sim/realtime.py``);
every message a node's ``step`` returns is handed to that node's transport at the
wall-clock moment the node produced it, shifted by the node's phase within the
observation period when ``realtime.hil.stagger`` is on (the simulator steps all nodes
at one tick; real cameras do not share a clock). The virtual network model keeps
running alongside: it still drives the node's own link feedback and energy
accounting, while delivery to the backend is the real broker's.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from edgeqi.protocol import Message
from edgeqi.transport import TransportStats
from edgeqi.transport.buffer import Envelope
from netio.mqtt_transport import MqttTransport, broker_host_port
from netio.netloop import NetworkLoop
from sim.realtime import HilConfig

if TYPE_CHECKING:
    from sim.runner import PolicySimulation
    from sim.scenario_config import ScenarioConfig

PublishHook = Callable[[Message, float], None]
"""Called with each message and the wall time (``time.time()``) it was handed over."""


def read_credentials(path: str | Path) -> dict[str, str]:
    """``node_id:password`` lines (blank lines and ``#`` comments ignored)."""
    out: dict[str, str] = {}
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        node, sep, password = line.partition(":")
        if not sep:
            raise ValueError(f"{path}: expected node_id:password, got {line[:40]!r}")
        out[node] = password
    return out


def spread_s(scn: ScenarioConfig) -> float:
    """Wall seconds over which one tick's publications are spread (0: all at the tick).

    Not with a backfill: its past runs at full speed and must not be held back by phases
    that only mean something once the run follows the wall clock."""
    rt = scn.realtime
    if not rt.hil.stagger or rt.backfill_s > 0:
        return 0.0
    return scn.workload.observe_period_s / rt.speed


class HilNodes:
    """One MQTT transport per node; callable as the simulation's message sink."""

    def __init__(
        self,
        cfg: HilConfig,
        node_ids: list[str],
        on_publish: PublishHook | None = None,
        on_ack: Callable[[Envelope], None] | None = None,
        address: Callable[[str], tuple[str, int]] | None = None,
        spread_s: float = 0.0,
        phases: Mapping[str, float] | None = None,
    ) -> None:
        """``address`` may route a node elsewhere than the broker (e.g. a cuttable link);
        ``spread_s`` delays node ``k`` of ``n`` by ``k/n * spread_s`` (see :func:`spread_s`);
        ``phases`` gives each node's delay instead (a shard of a city keeps the city's
        phases, experiments/loadtest/node_shards.py)."""
        if cfg.broker_url is None:
            raise ValueError("realtime.hil.broker_url is not set")
        broker = broker_host_port(cfg.broker_url)
        where = address or (lambda _node: broker)
        creds = read_credentials(cfg.credentials_file) if cfg.credentials_file else {}
        missing = [n for n in node_ids if creds and n not in creds]
        if missing:
            raise ValueError(f"no credentials for {len(missing)} nodes, e.g. {missing[0]}")
        self.cfg = cfg
        self.on_publish = on_publish
        self.published = 0
        self.loop: NetworkLoop | None = None
        self.transports = {
            node: MqttTransport(
                *where(node),
                client_id=node,
                username=node if creds else None,
                password=creds.get(node),
                capacity=cfg.buffer_messages,
                window=cfg.window,
                reconnect_max_s=cfg.reconnect_max_s,
                on_ack=on_ack,
            )
            for node in node_ids
        }
        self._phase = (
            {node: phases[node] for node in node_ids}
            if phases is not None
            else {node: i * spread_s / len(node_ids) for i, node in enumerate(node_ids)}
        )
        self._due: list[tuple[float, int, Message]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closing = False
        self._dispatcher: threading.Thread | None = None
        if any(p > 0 for p in self._phase.values()):
            self._dispatcher = threading.Thread(
                target=self._dispatch, name="hil-stagger", daemon=True
            )
            self._dispatcher.start()

    def start(self) -> None:
        """Connect every node (one shared network thread); refuse to run if any cannot."""
        self.loop = NetworkLoop()
        for transport in self.transports.values():
            transport.start(self.loop)
        deadline = time.monotonic() + self.cfg.connect_timeout_s
        for node, transport in self.transports.items():
            if not transport.wait_connected(max(0.0, deadline - time.monotonic())):
                self.close(flush=False)
                raise ConnectionError(
                    f"node {node} could not connect to {self.cfg.broker_url}: "
                    f"{transport.last_refusal or 'no answer'}"
                )

    def __call__(self, _k: int, message: Message) -> None:
        phase = self._phase[message.node_id]
        if phase <= 0 or self._dispatcher is None:
            self._hand_over(message)
            return
        with self._cond:
            heapq.heappush(self._due, (time.monotonic() + phase, next(self._order), message))
            self._cond.notify()

    def _hand_over(self, message: Message) -> None:
        """The publish proper: the moment the load test's ledger calls "published"."""
        self.published += 1
        if self.on_publish is not None:
            self.on_publish(message, time.time())
        self.transports[message.node_id].send(message)

    def _dispatch(self) -> None:
        """Hand each delayed message over at its time, in order (a node's keep theirs)."""
        with self._cond:
            while not self._closing:
                if not self._due:
                    self._cond.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, message = heapq.heappop(self._due)
                self._hand_over(message)

    def _release(self) -> None:
        """Stop delaying: hand over everything still waiting for its phase, now."""
        if self._dispatcher is None:
            return
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._dispatcher.join()
        self._dispatcher = None
        while self._due:
            self._hand_over(heapq.heappop(self._due)[2])

    def flush(self, timeout: float | None = None) -> bool:
        """Hand over what still waits for its phase, then wait until every node delivered
        what it holds; ``False`` on timeout. Ends the staggering: call it at the end."""
        self._release()
        deadline = time.monotonic() + (self.cfg.flush_timeout_s if timeout is None else timeout)
        return all(t.flush(max(0.0, deadline - time.monotonic())) for t in self.transports.values())

    def stats(self) -> dict[str, int]:
        """Totals over every node's transport."""
        total: dict[str, int] = {}
        for transport in self.transports.values():
            s: TransportStats = transport.stats()
            for key in (
                "accepted",
                "delivered",
                "refused",
                "unrouted",
                "queued",
                "inflight",
                "disconnects",
            ):
                total[key] = total.get(key, 0) + int(getattr(s, key))
            for priority, n in s.dropped.items():
                total[f"dropped_{priority}"] = total.get(f"dropped_{priority}", 0) + n
        return total

    def close(self, flush: bool = True) -> None:
        if flush:
            self.flush()
        else:
            self._release()
        for transport in self.transports.values():
            transport.close()
        if self.loop is not None:
            self.loop.stop()
            self.loop = None


@contextmanager
def attached(sim: PolicySimulation) -> Iterator[HilNodes]:
    """Connect the simulation's nodes to the configured broker for the length of a run."""
    from sim.scoring import node_name

    names = [node_name(k) for k in range(sim.n)]
    nodes = HilNodes(sim.scn.realtime.hil, names, spread_s=spread_s(sim.scn))
    nodes.start()
    sim.sink = nodes
    try:
        yield nodes
    finally:
        sim.sink = None
        nodes.close()
        sim.hil_stats = nodes.stats()
