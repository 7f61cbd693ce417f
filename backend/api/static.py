"""Serves the built dashboard (``backend/dashboard/dist``) at ``/`` with an SPA fallback.

Registered after every API router, so ``/api``, ``/ws``, ``/docs`` and friends keep
their own handlers; any other GET returns the file if the build has it, else
``index.html`` so client-side routes survive a reload. Hashed assets are cached
for a year; ``index.html`` is never cached, so a rebuild is picked up at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.routing import compile_path

DEFAULT_DIST = Path(__file__).resolve().parents[1] / "dashboard" / "dist"
RESERVED = ("api/", "ws", "docs", "redoc", "openapi.json", "health", "metrics")

NOT_BUILT = """<!doctype html><title>EDGE-QI</title>
<p>The dashboard has not been built. Run <code>make dashboard</code> (or
<code>make run</code>) and reload. The API is up: see <a href="/docs">/docs</a>.</p>"""


def _methods_by_path(app: Any) -> list[tuple[re.Pattern[str], set[str]]]:
    """Each path of the OpenAPI document as a pattern, with the methods it declares."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "methods", None)
    if table is None:
        table = [
            (compile_path(path)[0], {m.upper() for m in ops})
            for path, ops in app.openapi()["paths"].items()
        ]
        app.state.methods = table
    return table


def _other_methods(request: Request) -> set[str]:
    """The methods the API declares for this request's path (none: no such path).

    The catch-all matches every GET, so without this a GET on a POST-only route such as
    ``/api/auth/login`` would be a 404 instead of the 405 (with ``Allow``) that HTTP and
    the OpenAPI document say.
    """
    path = request.url.path
    allowed: set[str] = set()
    for pattern, methods in _methods_by_path(request.app):
        if pattern.match(path):
            allowed |= methods
    return allowed


def router_for(dist: Path | None) -> APIRouter:
    """A catch-all GET route over ``dist`` (default: the package's build folder).

    A plain Starlette route rather than an API route: it is no part of the API schema
    and needs no token (the app itself signs in; every API call it makes is checked).
    """
    root = (dist or DEFAULT_DIST).resolve()
    router = APIRouter()

    def dashboard(request: Request) -> Response:
        path: str = request.path_params["path"]
        allowed = _other_methods(request)
        if allowed and request.method not in allowed:
            raise HTTPException(
                status.HTTP_405_METHOD_NOT_ALLOWED,
                "Method Not Allowed",
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        if path.startswith(RESERVED):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            immutable = candidate.parent.name == "assets"
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(candidate, headers={"Cache-Control": cache})
        if "." in path.rsplit("/", 1)[-1]:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    router.add_route("/{path:path}", dashboard, methods=["GET", "HEAD"], include_in_schema=False)
    return router
