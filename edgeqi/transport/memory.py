"""An in-memory transport with the MQTT transport's interface and buffer semantics.

Used by tests and by runtimes that need no broker (the simulator's virtual time, an
embedded backend): messages are handed to ``deliver`` at once while the link is up
and held in the same bounded store-and-forward buffer while it is down.
"""

from __future__ import annotations

from collections.abc import Callable

from edgeqi.protocol import Message
from edgeqi.transport.base import AckHook, TransportStats, buffer_stats, enqueue
from edgeqi.transport.buffer import ForwardBuffer

Deliver = Callable[[str, bytes], bool]
"""Takes (topic, payload); returns whether the far end accepted it (like a PUBACK)."""


class InMemoryTransport:
    """Synchronous delivery; :meth:`set_link` simulates an outage and its end."""

    def __init__(
        self,
        deliver: Deliver,
        capacity: int = 10_000,
        on_ack: AckHook | None = None,
    ) -> None:
        self.buffer = ForwardBuffer(capacity)
        self.deliver = deliver
        self.on_ack = on_ack
        self.up = True
        self.refused = 0
        self.connects = 1
        self.disconnects = 0

    def send(self, message: Message) -> bool:
        _, kept = enqueue(self.buffer, message)
        self._pump()
        return kept

    def set_link(self, up: bool) -> None:
        """Take the link down (messages accumulate) or bring it back (they drain)."""
        if up and not self.up:
            self.connects += 1
        elif not up and self.up:
            self.disconnects += 1
        self.up = up
        self._pump()

    def _pump(self) -> None:
        while self.up and self.buffer.queued:
            for envelope in self.buffer.take(self.buffer.queued):
                if not self.deliver(envelope.topic, envelope.payload):
                    self.refused += 1
                self.buffer.ack(envelope.id)
                if self.on_ack is not None:
                    self.on_ack(envelope)

    def flush(self, timeout: float) -> bool:
        """Everything is delivered synchronously, so this only reports the state."""
        self._pump()
        return len(self.buffer) == 0

    def stats(self) -> TransportStats:
        return buffer_stats(self.buffer, self.refused, self.connects, self.disconnects)

    def close(self) -> None:
        self.up = False
