"""Optional Redis: latest node state for fast reads, and event fan-out between replicas.

With ``EDGEQI_REDIS_URL`` unset the backend runs without it: latest state is read
from the database and live events reach only the clients of this replica.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import redis

log = logging.getLogger(__name__)

NODE_KEY = "edgeqi:node:"


class Cache:
    """Redis client wrapper; every call degrades to a logged no-op on connection errors."""

    def __init__(self, url: str, channel: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def set_nodes(self, states: dict[str, dict[str, Any]]) -> None:
        """Store the latest state of each node (one pipeline round trip)."""
        if not states:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for node_id, state in states.items():
                pipe.set(NODE_KEY + node_id, json.dumps(state, default=str), ex=7 * 86400)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("redis set failed: %s", exc)

    def get_node(self, node_id: str) -> dict[str, Any] | None:
        try:
            raw = self.client.get(NODE_KEY + node_id)
        except redis.RedisError:
            return None
        if not isinstance(raw, bytes | str):
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    def relay(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Publish events for the other replicas: one Redis message per flush, not per event."""
        body = json.dumps(
            {"origin": self.origin, "events": [[topic, data] for topic, data in events]},
            default=str,
        )
        try:
            self.client.publish(self.channel, body)
        except redis.RedisError as exc:
            log.warning("redis publish failed: %s", exc)

    def listen(self, deliver: Callable[[list[tuple[str, dict[str, Any]]]], None]) -> None:
        """Deliver events relayed by other replicas, in a background thread."""

        def run() -> None:
            while not self._stop.is_set():
                try:
                    pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call, unused-ignore]
                    pubsub.subscribe(self.channel)
                    while not self._stop.is_set():
                        msg = pubsub.get_message(timeout=0.5)
                        if msg is None:
                            continue
                        event = json.loads(msg["data"])
                        if event.get("origin") != self.origin:
                            deliver([(str(t), dict(d)) for t, d in event["events"]])
                    pubsub.close()
                except (redis.RedisError, ValueError, KeyError, TypeError) as exc:
                    log.warning("redis listener restarting: %s", exc)
                    self._stop.wait(1.0)

        self._thread = threading.Thread(target=run, name="edgeqi-redis", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.client.close()
