"""The ingestor: validate, batch, store; refuse into quarantine, never raise.

Sources (the in-process bus, the MQTT subscriber) call :meth:`Ingestor.submit` with
the raw topic and bytes. Validation happens there, in the caller's thread; database
work happens in one flusher thread that writes a batch when ``batch_size`` messages
are pending or ``flush_interval_s`` has passed, whichever comes first. ``submit``
blocks only when ``max_pending`` messages are waiting, which is the back-pressure
that keeps memory bounded when the database falls behind.

What the live stream promises. ``accept_listeners`` hear a message as soon as it is
accepted (parsed, validated, registered when that is required) and queued for its
flush, when the :class:`FreshGate` proves it is not a duplicate; every other accepted
message reaches ``listeners`` with the flush that stored it, and a duplicate or a
refused message reaches no listener at all. A message pushed on acceptance is not
acknowledged to the broker before its commit, and a database outage only delays the
commit (the flusher retries until the database is back), so every pushed message is
stored, with two exceptions: a message the database refuses for its content
(``store_error``, which validation exists to make impossible) and the process dying
before the commit, after which the broker redelivers the unacknowledged message and it
is stored, and pushed, again. A consumer that must see exactly what is stored reads the
API; the stream is for being told early.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from backend.core.prometheus import Metrics
from backend.ingest.fresh_gate import FreshGate
from backend.ingest.identity import Registry, SeqWatch
from backend.ingest.quota import QuarantineQuota, publisher
from backend.ingest.recent_window import RecentWindow
from backend.ingest.store import Accepted, AlertHook, Refused, Store, WriteResult, ms
from edgeqi.protocol import (
    CONSENSUS_SUBSCRIPTION,
    NODE_ID_PATTERN,
    ConsensusMessage,
    Message,
    ProtocolError,
    decode,
    parse_node_topic,
)

log = logging.getLogger(__name__)

Listener = Callable[[WriteResult], None]
AcceptListener = Callable[[Accepted], None]
Ack = Callable[[], None]
_CONSENSUS_PREFIX = CONSENSUS_SUBSCRIPTION.removesuffix("#")
_MEMBER = re.compile(NODE_ID_PATTERN)


def validate(topic: str, payload: bytes) -> Message:
    """Check the topic and the payload against each other; raise ProtocolError with a reason."""
    if topic.startswith(_CONSENSUS_PREFIX):
        # ``.../{cluster}/{sender}/{phase}`` is a broadcast; a seventh part names the one
        # member a message is for (catch-up help), which the backend records like any
        # other. The broker lets a login publish only under its own sender level, so a
        # message whose node_id is not that level speaks for another node.
        parts = topic.split("/")
        if len(parts) not in (6, 7) or (len(parts) == 7 and not _MEMBER.match(parts[6])):
            raise ProtocolError("bad_topic", topic[:200])
        message = decode(payload)
        if not isinstance(message, ConsensusMessage):
            raise ProtocolError("kind_mismatch", f"{message.kind} on a consensus topic")
        if message.node_id != parts[4]:
            raise ProtocolError("node_mismatch", f"{message.node_id} on the topic of {parts[4]}")
        if (message.cluster, message.phase) != (parts[3], parts[5]):
            raise ProtocolError("topic_mismatch", "cluster/phase differ from the topic")
        check_ranges(message)
        return message
    node_id, kind = parse_node_topic(topic)
    if b"\\u0000" in payload:
        raise ProtocolError("nul_char", "NUL characters are not storable")
    message = decode(payload)
    if message.kind != kind.value:
        raise ProtocolError("kind_mismatch", f"{message.kind} on a {kind.value} topic")
    if message.node_id != node_id:
        raise ProtocolError("node_mismatch", f"{message.node_id} on the topic of {node_id}")
    check_ranges(message)
    return message


_MAX_INT = 2**63 - 1
_MAX_TS = 1e11  # seconds: year 5138; keeps epoch milliseconds far inside BIGINT
_TIME_FIELDS = frozenset({"ts", "frame_ts", "observed_at", "window_start", "window_end"})


def check_ranges(message: Message) -> None:
    """Refuse values the schema allows but a 64-bit SQL column cannot hold."""
    for name, value in message:
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and value > _MAX_INT:
            raise ProtocolError("out_of_range", f"{name} does not fit 64 bits")
        if name in _TIME_FIELDS and isinstance(value, float) and value > _MAX_TS:
            raise ProtocolError("out_of_range", f"{name} is not a plausible epoch time")
    for det in getattr(message, "detections", ()):
        if det.track is not None and det.track > _MAX_INT:
            raise ProtocolError("out_of_range", "track does not fit 64 bits")


class Ingestor:
    """Thread-safe entry point of every ingest source."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics | None = None,
        batch_size: int = 500,
        flush_interval_s: float = 0.2,
        max_pending: int = 50_000,
        alert_hook: AlertHook | None = None,
        quota: QuarantineQuota | None = None,
        registry: Registry | None = None,
        require_registration: bool = False,
    ) -> None:
        self.store = store
        self.quota = quota
        self.registry = registry
        self.require_registration = require_registration
        self._seqs = SeqWatch()
        self.metrics = metrics or Metrics()
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self.alert_hook = alert_hook
        self.listeners: list[Listener] = []
        self.accept_listeners: list[AcceptListener] = []
        self.gate = FreshGate()
        self.recent = RecentWindow()
        self._accepted: list[Accepted] = []
        self._refused: list[Refused] = []
        self._cond = threading.Condition()
        self._flush_lock = threading.Lock()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.stored = 0
        self.last_error: str | None = None

    # -- intake -----------------------------------------------------------------------

    def submit(
        self,
        topic: str,
        payload: bytes | bytearray | memoryview | str,
        received_at: float | None = None,
        ack: Ack | None = None,
    ) -> None:
        """Take one raw message; never raises (bad input is queued for quarantine)."""
        received_ms = round((time.time() if received_at is None else received_at) * 1000)
        try:
            raw = payload.encode() if isinstance(payload, str) else bytes(payload)
        except (UnicodeError, TypeError) as exc:
            raw = b""
            refused = Refused(str(topic), raw, received_ms, "bad_payload", repr(exc), ack)
            self._enqueue(refused)
            return
        try:
            message = validate(topic, raw)
            self._check_registered(message.node_id)
            item: Accepted | Refused = Accepted(topic, raw, received_ms, message, ack)
        except ProtocolError as exc:
            item = Refused(topic, raw, received_ms, exc.reason, exc.detail, ack)
        except Exception as exc:  # the contract is "never raise"
            item = Refused(str(topic), raw, received_ms, "internal", repr(exc)[:500], ack)
        self._enqueue(item)

    def _check_registered(self, node_id: str) -> None:
        """Count (or, with ``require_registration``, refuse) a sender never registered."""
        if self.registry is None or self.registry.registered(node_id):
            return
        if self.require_registration:
            raise ProtocolError("unregistered", f"{node_id} is not a registered node")
        self.metrics.flagged.labels("unregistered").inc()

    def _over_quota(self, item: Refused) -> bool:
        """Whether the publisher's quarantine budget is spent (then the item is counted,
        acknowledged and not kept)."""
        if self._charged(item.topic, item.payload, item.reason):
            return False
        if item.ack is not None:
            item.ack()
        return True

    def _charged(self, topic: str, payload: bytes, reason: str) -> bool:
        """Charge one quarantine row to the publisher of ``topic``; False (and counted
        as dropped) when its budget is spent."""
        if self.quota is None:
            return True
        if self.quota.charge(publisher(topic), min(len(payload), self.store.keep)):
            return True
        self.metrics.quarantine_dropped.labels(reason).inc()
        return False

    def _keep_duplicate(self, item: Accepted) -> bool:
        """Duplicates are found only at the ledger, so they are charged there (the store
        calls this inside its transaction; a flush retried after a database error charges
        them again, which errs on the side of the disk)."""
        return self._charged(item.topic, item.payload, "duplicate")

    def _enqueue(self, item: Accepted | Refused) -> None:
        if isinstance(item, Refused) and self._over_quota(item):
            return
        with self._cond:
            while self._pending() >= self.max_pending and self._running():
                self._cond.wait(0.5)
            if isinstance(item, Accepted):
                self._accepted.append(item)
                # Inside the lock, so two copies of one message racing in from two
                # source threads cannot both pass the gate.
                item.pushed = bool(self.accept_listeners) and self.gate.admit(
                    item.message.node_id, item.message.seq
                )
            else:
                self._refused.append(item)
            n = self._pending()
            self.metrics.pending.set(n)
            if n >= self.batch_size:
                self._cond.notify_all()
        if isinstance(item, Accepted) and item.pushed:
            self._tell(self.accept_listeners, item)

    @staticmethod
    def _tell(listeners: list[Any], arg: object) -> None:
        for listener in listeners:
            try:
                listener(arg)
            except Exception:  # a listener must not stop ingest
                log.exception("ingest listener failed")

    def _pending(self) -> int:
        return len(self._accepted) + len(self._refused)

    def _running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop

    # -- flushing ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the background flusher (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="edgeqi-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Flush what is pending and stop the flusher."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        self.metrics.ingest_threads.join()
        while True:
            with self._cond:
                deadline = time.monotonic() + self.flush_interval_s
                while not self._stop and self._pending() < self.batch_size:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if self._stop:
                    return
            try:
                self.flush()
            except Exception:  # the flusher must outlive any single failure
                log.exception("ingest flush failed")
                time.sleep(self.flush_interval_s)

    def flush(self) -> int:
        """Write everything pending now; return the number of newly stored messages."""
        stored = 0
        with self._flush_lock:
            while True:
                with self._cond:
                    accepted = self._accepted[: self.batch_size]
                    refused = self._refused[: self.batch_size]
                    del self._accepted[: len(accepted)]
                    del self._refused[: len(refused)]
                    self.metrics.pending.set(self._pending())
                    self._cond.notify_all()
                if not accepted and not refused:
                    return stored
                stored += self._write(accepted, refused)

    def _write(self, accepted: list[Accepted], refused: list[Refused]) -> int:
        """Write one batch, retrying while the database is unreachable.

        A batch the database refuses for its content is split until the offending
        message is alone, and that one is quarantined as ``store_error``.
        """
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                result = self.store.write(accepted, refused, self.alert_hook, self._keep_duplicate)
            except OperationalError as exc:
                self.metrics.store_errors.inc()
                self.last_error = str(exc)[:500]
                log.warning("database unavailable, retrying in %.1fs: %s", delay, exc)
                if self._stop and delay > 5:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            except (DBAPIError, ValueError, OverflowError, TypeError) as exc:
                self.metrics.store_errors.inc()
                self.last_error = str(exc)[:500]
                return self._split(accepted, refused, exc)
            self._done(result, accepted, refused, time.perf_counter() - started)
            return len(result.new)

    def _split(self, accepted: list[Accepted], refused: list[Refused], exc: Exception) -> int:
        items: list[Accepted | Refused] = [*accepted, *refused]
        if len(items) > 1:
            stored = 0
            half = len(items) // 2
            for part in (items[:half], items[half:]):
                stored += self._write(
                    [i for i in part if isinstance(i, Accepted)],
                    [i for i in part if isinstance(i, Refused)],
                )
            return stored
        item = items[0]
        log.error("message refused by the database, quarantining: %s", exc)
        counts = self.store.quarantine_only(
            [(item.topic, item.payload, item.received_ms, "store_error", str(exc)[:1000])]
        )
        for reason, n in counts.items():
            self.metrics.quarantined.labels(reason).inc(n)
        if item.ack is not None:
            item.ack()
        return 0

    def _done(
        self,
        result: WriteResult,
        accepted: list[Accepted],
        refused: list[Refused],
        seconds: float,
    ) -> None:
        m = self.metrics
        m.batch_size.observe(len(accepted) + len(refused))
        m.flush_seconds.observe(seconds)
        m.duplicates.inc(result.duplicates)
        now_ms = time.time() * 1000
        for item in result.new:
            self.gate.stored(item.message.node_id, item.message.seq)
            self.recent.add(
                item.received_ms, len(item.payload), item.received_ms - ms(item.message.ts)
            )
            m.ingested.labels(item.message.kind).inc()
            if self._seqs.regressed(item.message.node_id, item.message.seq):
                m.flagged.labels("seq_regression").inc()
            m.lag_seconds.observe(max(0.0, (now_ms - item.received_ms) / 1000))
            detections = getattr(item.message, "detections", None)
            if detections:
                m.detections.inc(len(detections))
        for reason, n in result.quarantined.items():
            m.quarantined.labels(reason).inc(n)
        for loss in result.nodes:
            m.node_lost.labels(loss.node_id).set(loss.lost)
        for alert in result.alerts:
            m.alerts.labels(alert["severity"]).inc()
        self.stored += len(result.new)
        acks = [i.ack for i in accepted] + [i.ack for i in refused]
        for ack in acks:
            if ack is not None:
                ack()
        self._tell(self.listeners, result)

    def stats(self) -> dict[str, Any]:
        """Counters for the health endpoint."""
        return {"pending": self._pending(), "stored": self.stored, "last_error": self.last_error}
