"""A bounded, priority-aware store-and-forward buffer (pure: no clock, no I/O).

A node keeps every outgoing message here until the broker acknowledged it, so an
outage delays messages instead of losing them. Memory on a field device is finite,
so the buffer has a capacity; when it is full something must go, and what goes is
decided by priority: the oldest message of the least important class present is
dropped first, and counted, so a critical report is never dropped while anything
less important is still held. Messages handed to the network (in flight) are never
dropped: they may already be at the broker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from edgeqi.protocol import (
    AnomalyReport,
    BatchSummary,
    Command,
    ConsensusMessage,
    DetectionBatch,
    LogRecord,
    Message,
    ReportPriority,
)


class SendPriority(IntEnum):
    """Smaller is more important; the buffer sends in this order and drops in reverse."""

    CRITICAL = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3


_REPORT = {
    ReportPriority.CRITICAL: SendPriority.CRITICAL,
    ReportPriority.HIGH: SendPriority.HIGH,
    ReportPriority.NORMAL: SendPriority.NORMAL,
}


def priority_of(message: Message) -> SendPriority:
    """Transport priority of a protocol message.

    Anomaly reports keep the priority Algorithm 2 gave them; control traffic
    (consensus, commands) is high; heartbeats and queue observations are normal;
    bulk data (detections, batch summaries, logs) is low, because it can be
    summarised again later while an alert cannot.
    """
    if isinstance(message, AnomalyReport):
        return _REPORT[message.priority]
    if isinstance(message, ConsensusMessage | Command):
        return SendPriority.HIGH
    if isinstance(message, DetectionBatch | BatchSummary | LogRecord):
        return SendPriority.LOW
    return SendPriority.NORMAL


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message in the buffer; ``id`` is the buffer's own handle for acknowledging it."""

    id: int
    topic: str
    payload: bytes
    priority: SendPriority
    node_id: str
    seq: int


class Buffer(Protocol):
    """What a transport needs of its store-and-forward buffer.

    :class:`ForwardBuffer` keeps messages in memory; a field node injects a durable one
    (``hardware.disk_buffer.DiskForwardBuffer``) that keeps them across a restart. The
    rules any implementation keeps: ``take`` hands out the most important, oldest
    messages first; a message stays held until ``ack``; a full buffer drops the oldest
    of the least important class (never one in flight) and counts it in ``dropped``.
    """

    @property
    def queued(self) -> int: ...

    @property
    def inflight(self) -> int: ...

    @property
    def accepted(self) -> int: ...

    @property
    def acked(self) -> int: ...

    @property
    def dropped(self) -> Mapping[SendPriority, int]: ...

    def __len__(self) -> int: ...

    def push(
        self, topic: str, payload: bytes, priority: SendPriority, node_id: str, seq: int
    ) -> Envelope | None:
        """Store a message; return whatever was dropped to make room (possibly this one)."""
        ...

    def take(self, limit: int) -> list[Envelope]:
        """Move up to ``limit`` queued messages in flight, most important and oldest first."""
        ...

    def ack(self, envelope_id: int) -> Envelope | None:
        """Forget a delivered in-flight message (``None`` if unknown)."""
        ...

    def retry(self, envelope_id: int) -> Envelope | None:
        """Put one in-flight message back at the head of its class (``None`` if unknown)."""
        ...

    def requeue(self) -> int:
        """Put every in-flight message back in the queue; return how many."""
        ...


class ForwardBuffer:
    """Queued messages per priority plus the in-flight ones, bounded by ``capacity``."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._queues: tuple[deque[Envelope], ...] = tuple(deque() for _ in SendPriority)
        self._inflight: dict[int, Envelope] = {}
        self._next_id = 0
        self.accepted = 0
        self.acked = 0
        self.retried = 0
        self.dropped = dict.fromkeys(SendPriority, 0)

    def __len__(self) -> int:
        return self.queued + len(self._inflight)

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self._queues)

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def push(
        self, topic: str, payload: bytes, priority: SendPriority, node_id: str, seq: int
    ) -> Envelope | None:
        """Store a message; return whatever was dropped to make room (possibly this one)."""
        envelope = Envelope(self._next_id, topic, payload, priority, node_id, seq)
        self._next_id += 1
        self.accepted += 1
        dropped: Envelope | None = None
        if len(self) >= self.capacity:
            victim = self._least_important()
            if victim is None or self._queues[victim][0].priority < priority:
                self.dropped[priority] += 1
                return envelope  # everything held is more important (or in flight)
            dropped = self._queues[victim].popleft()
            self.dropped[dropped.priority] += 1
        self._queues[priority].append(envelope)
        return dropped

    def _least_important(self) -> int | None:
        for p in reversed(SendPriority):
            if self._queues[p]:
                return int(p)
        return None

    def take(self, limit: int) -> list[Envelope]:
        """Move up to ``limit`` queued messages, most important and oldest first, in flight."""
        out: list[Envelope] = []
        for q in self._queues:
            while q and len(out) < limit:
                envelope = q.popleft()
                self._inflight[envelope.id] = envelope
                out.append(envelope)
        return out

    def ack(self, envelope_id: int) -> Envelope | None:
        """The network confirmed delivery: forget the message (``None`` if unknown)."""
        envelope = self._inflight.pop(envelope_id, None)
        if envelope is not None:
            self.acked += 1
        return envelope

    def retry(self, envelope_id: int) -> Envelope | None:
        """The far end took the message but could not pass it on: send it again later.

        The message goes back to the head of its queue, among any other retried ones in
        their original order (every queued message of a class is younger than every
        in-flight one, because each queue is first in, first out).
        """
        envelope = self._inflight.pop(envelope_id, None)
        if envelope is None:
            return None
        queue = self._queues[envelope.priority]
        at = 0
        while at < len(queue) and queue[at].id < envelope.id:
            at += 1
        queue.insert(at, envelope)
        self.retried += 1
        return envelope

    def requeue(self) -> int:
        """Put every in-flight message back at the head of its queue, in original order.

        For a link whose unacknowledged messages are lost with the connection; a
        client library that retransmits them itself (paho) does not need it.
        """
        back = sorted(self._inflight.values(), key=lambda e: e.id, reverse=True)
        for envelope in back:
            self._queues[envelope.priority].appendleft(envelope)
        self._inflight.clear()
        return len(back)
