"""Refuse URLs whose path or query is not NUL-free UTF-8, before any route runs.

PostgreSQL refuses NUL in text, and a percent-encoded byte sequence that is not UTF-8
(a lone surrogate such as ``%ED%A0%80``) either fails to encode or is silently replaced;
either way no route can answer it meaningfully. One guard for every path and query
parameter, answered as the 400 every router declares, instead of a check per route.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.request_body import state_no_nul


def bad_url_reason(raw_path: bytes, query: bytes) -> str | None:
    """Why the URL is refused, or None when its text is acceptable."""
    for part, raw in (("path", raw_path), ("query", query.replace(b"+", b" "))):
        decoded = unquote_to_bytes(raw)
        if b"\x00" in decoded:
            return f"{part} contains a NUL byte"
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError:
            return f"{part} is not valid UTF-8"
    return None


class UrlGuard:
    """ASGI middleware answering 400 to HTTP requests with a hostile path or query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            reason = bad_url_reason(raw_path, scope.get("query_string", b""))
            if reason is not None and scope["type"] == "http":
                body = json.dumps({"detail": reason}).encode()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(body)),
                ]
                await send({"type": "http.response.start", "status": 400, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            if reason is not None:
                await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)


def state_url_rule(schema: dict[str, Any]) -> dict[str, Any]:
    """State the guard's NUL rule on every string path and query parameter of an OpenAPI
    document that states no pattern or enum of its own, so that clients (and
    schemathesis) know a NUL is refused as the declared 400. In place and idempotent."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") not in ("path", "query"):
                    continue
                # Formatted ones too: the guard refuses a NUL before any format is read.
                state_no_nul(parameter.get("schema", {}), frozenset({"pattern", "enum"}))
    return schema
