"""Live push: WebSocket clients subscribe to topics; ingest and the system ticker publish.

Publishing is thread-safe (ingest runs in its own thread): events are handed to the
event loop with ``call_soon_threadsafe``. Each client has a bounded queue; a client
too slow to keep up loses its oldest events rather than slowing ingest down. With
Redis configured, events are also relayed to the other replicas (see ``cache``).
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


@dataclass(eq=False)
class Client:
    """One connected WebSocket and the topics it wants."""

    ws: WebSocket
    topics: set[str] = field(default_factory=lambda: set(TOPICS))
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(CLIENT_QUEUE))
    dropped: int = 0


class Hub:
    """The set of live clients of this replica."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.clients: set[Client] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.relay: Callable[[str, dict[str, Any]], None] | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def publish(self, topic: str, data: dict[str, Any], relay: bool = True) -> None:
        """Send an event to local subscribers (from any thread) and to other replicas."""
        if relay and self.relay is not None:
            self.relay(topic, data)
        loop = self.loop
        if loop is None or loop.is_closed() or not self.clients:
            return
        text = json.dumps({"topic": topic, "data": data}, default=str)
        with contextlib.suppress(RuntimeError):  # loop closed between the check and the call
            loop.call_soon_threadsafe(self._fanout, topic, text)

    def _fanout(self, topic: str, text: str) -> None:
        for client in list(self.clients):
            if topic not in client.topics:
                continue
            if client.queue.full():
                client.queue.get_nowait()
                client.dropped += 1
            client.queue.put_nowait(text)

    async def serve(self, ws: WebSocket, topics: set[str]) -> None:
        """Run one client until it disconnects; it may send ``{"subscribe": [...]}``."""
        client = Client(ws, topics)
        self.clients.add(client)
        self.metrics.ws_clients.set(len(self.clients))
        sender = asyncio.create_task(self._send(client))
        try:
            await ws.send_json({"topic": "subscribed", "data": sorted(client.topics)})
            while True:
                text = await ws.receive_text()
                try:
                    request = json.loads(text)
                    wanted = request.get("subscribe") if isinstance(request, dict) else None
                except json.JSONDecodeError:
                    wanted = None
                if not isinstance(wanted, list):
                    await ws.send_json({"topic": "error", "data": 'send {"subscribe": [...]}'})
                    continue
                client.topics = {t for t in wanted if t in TOPICS}
                await ws.send_json({"topic": "subscribed", "data": sorted(client.topics)})
        except Exception:  # disconnects surface as several exception types
            log.debug("websocket closed", exc_info=True)
        finally:
            sender.cancel()
            self.clients.discard(client)
            self.metrics.ws_clients.set(len(self.clients))

    async def _send(self, client: Client) -> None:
        with contextlib.suppress(Exception):
            while True:
                await client.ws.send_text(await client.queue.get())
