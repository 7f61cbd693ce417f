"""What every transport offers a node runtime, whatever carries the bytes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from edgeqi.protocol import Message, encode, topic_for
from edgeqi.transport.buffer import Buffer, Envelope, SendPriority, priority_of

AckHook = Callable[[Envelope], None]
"""Called once per message the far end confirmed (from the transport's own thread)."""


@dataclass
class TransportStats:
    """Counters a runtime reports in its heartbeat and a load test checks."""

    accepted: int
    delivered: int
    refused: int
    queued: int
    inflight: int
    dropped: dict[str, int] = field(default_factory=dict)
    connects: int = 0
    disconnects: int = 0
    unrouted: int = 0
    """Messages the broker accepted with nobody subscribed, taken back and sent again."""


class Transport(Protocol):
    """Store-and-forward delivery of protocol messages to the backend."""

    def send(self, message: Message) -> bool:
        """Queue a message; ``False`` when the buffer was full and dropped this very one."""
        ...

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight; ``False`` on timeout."""
        ...

    def stats(self) -> TransportStats: ...

    def close(self) -> None: ...


def enqueue(buffer: Buffer, message: Message) -> tuple[Envelope | None, bool]:
    """Encode ``message`` into ``buffer``; return (the dropped envelope, whether it was kept)."""
    priority: SendPriority = priority_of(message)
    dropped = buffer.push(
        topic_for(message), encode(message), priority, message.node_id, message.seq
    )
    kept = dropped is None or (dropped.node_id, dropped.seq) != (message.node_id, message.seq)
    return dropped, kept


def buffer_stats(buffer: Buffer, refused: int, connects: int, disconnects: int) -> TransportStats:
    return TransportStats(
        accepted=buffer.accepted,
        delivered=buffer.acked - refused,
        refused=refused,
        queued=buffer.queued,
        inflight=buffer.inflight,
        dropped={p.name.lower(): n for p, n in buffer.dropped.items()},
        connects=connects,
        disconnects=disconnects,
    )
