"""Live push: WebSocket clients subscribe to topics; ingest and the system ticker publish.

Ingest publishes what one flush stored as one list (:meth:`Hub.publish_many`): each
event is encoded to JSON once, whatever the number of subscribers, and the list
crosses into the event loop with one ``call_soon_threadsafe``, not one per event.
Each client has a bounded queue; a client whose queue is full has fallen behind by
that many events and is disconnected (close code 1013, "try again later"), counted in
``edgeqi_ws_slow_clients_dropped_total``: it is never waited for, so it cannot slow
ingest or the other clients, and a client that reconnects knows it missed events,
which a client silently losing its oldest events would not. With Redis configured,
events are also relayed to the other replicas (see ``cache``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket

from backend.core.prometheus import Metrics

log = logging.getLogger(__name__)

TOPICS = ("system", "nodes", "detections", "consensus", "logs", "alerts")
CLIENT_QUEUE = 1000
"""Events a client may be behind before it is dropped (about a second of a 100-node city)."""
CLOSE_TIMEOUT_S = 1.0
SLOW_CLIENT_CLOSE = 1013

Event = tuple[str, dict[str, Any]]
Relay = Callable[[list[Event]], None]


@dataclass(eq=False)
class Client:
    """One connected WebSocket, the topics it wants and the encoded events it is owed."""

    ws: WebSocket
    topics: set[str]
    queue: asyncio.Queue[str]
    gone: asyncio.Event = field(default_factory=asyncio.Event)


def encode(topic: str, data: Any) -> str:
    """The wire form of one event, shared by every subscriber."""
    return json.dumps({"topic": topic, "data": data}, default=str)


class Hub:
    """The set of live clients of this replica."""

    def __init__(self, metrics: Metrics, queue_size: int = CLIENT_QUEUE) -> None:
        self.metrics = metrics
        self.queue_size = queue_size
        self.clients: set[Client] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.relay: Relay | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def publish(self, topic: str, data: dict[str, Any], relay: bool = True) -> None:
        """Send one event to local subscribers (from any thread) and to other replicas."""
        self.publish_many([(topic, data)], relay)

    def publish_many(self, events: list[Event], relay: bool = True) -> None:
        """Send events, in order, to local subscribers (from any thread) and to other
        replicas; each is encoded once."""
        if not events:
            return
        if relay and self.relay is not None:
            self.relay(events)
        loop = self.loop
        if loop is None or loop.is_closed() or not self.clients:
            return
        encoded = [(topic, encode(topic, data)) for topic, data in events]
        with contextlib.suppress(RuntimeError):  # loop closed between the check and the call
            loop.call_soon_threadsafe(self._fanout, encoded)

    def _fanout(self, encoded: list[tuple[str, str]]) -> None:
        for client in list(self.clients):
            for topic, text in encoded:
                if topic in client.topics and not self._offer(client, text):
                    break

    def _offer(self, client: Client, text: str) -> bool:
        """Queue one event for a client; drop the client if it is too far behind."""
        try:
            client.queue.put_nowait(text)
        except asyncio.QueueFull:
            if client in self.clients:
                self.clients.discard(client)
                self.metrics.ws_slow_dropped.inc()
                self.metrics.ws_clients.set(len(self.clients))
                log.info("dropping a WebSocket client %d events behind", client.queue.qsize())
            client.gone.set()
            return False
        return True

    async def serve(self, ws: WebSocket, topics: set[str]) -> None:
        """Run one client until it disconnects or is dropped; it may send
        ``{"subscribe": [...]}``. Replies go through its queue: one sender per socket."""
        client = Client(ws, topics, asyncio.Queue(self.queue_size))
        await ws.send_text(encode("subscribed", sorted(client.topics)))
        self.clients.add(client)
        self.metrics.ws_clients.set(len(self.clients))
        tasks = [
            asyncio.create_task(self._send(client)),
            asyncio.create_task(self._receive(client)),
            asyncio.create_task(client.gone.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            dropped = client.gone.is_set()
            self.clients.discard(client)
            self.metrics.ws_clients.set(len(self.clients))
            if dropped:
                with contextlib.suppress(Exception):  # its socket may be wedged or gone
                    await asyncio.wait_for(
                        ws.close(code=SLOW_CLIENT_CLOSE, reason="too slow"), CLOSE_TIMEOUT_S
                    )

    async def _receive(self, client: Client) -> None:
        try:
            while True:
                text = await client.ws.receive_text()
                try:
                    request = json.loads(text)
                    wanted = request.get("subscribe") if isinstance(request, dict) else None
                except json.JSONDecodeError:
                    wanted = None
                if not isinstance(wanted, list):
                    reply = encode("error", 'send {"subscribe": [...]}')
                else:
                    client.topics = {t for t in wanted if t in TOPICS}
                    reply = encode("subscribed", sorted(client.topics))
                if not self._offer(client, reply):
                    return
        except Exception:  # disconnects surface as several exception types
            log.debug("websocket closed", exc_info=True)

    async def _send(self, client: Client) -> None:
        with contextlib.suppress(Exception):
            while True:
                await client.ws.send_text(await client.queue.get())
