"""The in-process message bus: the default ingest source when no broker is configured.

Publishers in the same process (the simulator in hardware-in-the-loop mode, tests,
``POST``-less demos) hand raw topic + bytes to the bus exactly as they would to a
broker, so the backend validates them through the same path as MQTT traffic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from paho.mqtt.client import topic_matches_sub

Handler = Callable[[str, bytes], None]


class LocalBus:
    """Synchronous publish/subscribe with MQTT topic-filter semantics."""

    def __init__(self) -> None:
        self._subs: list[tuple[str, Handler]] = []
        self._lock = threading.Lock()

    def subscribe(self, topic_filter: str, handler: Handler) -> Callable[[], None]:
        """Register ``handler`` for ``topic_filter``; return a function that unsubscribes."""
        entry = (topic_filter, handler)
        with self._lock:
            self._subs.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)

        return unsubscribe

    def publish(self, topic: str, payload: bytes | str) -> int:
        """Deliver to every matching subscriber; return how many received it."""
        data = payload.encode() if isinstance(payload, str) else payload
        with self._lock:
            targets = [h for f, h in self._subs if topic_matches_sub(f, topic)]
        for handler in targets:
            handler(topic, data)
        return len(targets)
