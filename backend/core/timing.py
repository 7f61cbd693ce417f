"""Request latency per route template, as a plain ASGI middleware.

Starlette's ``BaseHTTPMiddleware`` runs every request through an extra task and
memory stream, and finding the route by re-matching every route costs a loop per
request; under load both show in the tail. The router records the route it matched
in the shared ``scope``, so this wrapper only reads it back once the response starts.
"""

from __future__ import annotations

import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestTiming:
    """Observe seconds per (method, route template, status) in ``histogram``."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.histogram.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
