"""Serves the built dashboard (``backend/dashboard/dist``) at ``/`` with an SPA fallback.

Registered after every API router, so ``/api``, ``/ws``, ``/docs`` and friends keep
their own handlers; any other GET returns the file if the build has it, else
``index.html`` so client-side routes survive a reload. Hashed assets are cached
for a year; ``index.html`` is never cached, so a rebuild is picked up at once.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, Response

from backend.api.methods import declared_methods

DEFAULT_DIST = Path(__file__).resolve().parents[1] / "dashboard" / "dist"
RESERVED = ("api/", "ws", "docs", "redoc", "openapi.json", "health", "metrics")

NOT_BUILT = """<!doctype html><title>EDGE-QI</title>
<p>The dashboard has not been built. Run <code>make dashboard</code> (or
<code>make run</code>) and reload. The API is up: see <a href="/docs">/docs</a>.</p>"""


def router_for(dist: Path | None) -> APIRouter:
    """A catch-all GET route over ``dist`` (default: the package's build folder).

    A plain Starlette route rather than an API route: it is no part of the API schema
    and needs no token (the app itself signs in; every API call it makes is checked).
    """
    root = (dist or DEFAULT_DIST).resolve()
    router = APIRouter()

    def dashboard(request: Request) -> Response:
        path: str = request.path_params["path"]
        allowed = declared_methods(request)
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
