"""Which methods the API declares for a path, for 405 answers and their ``Allow`` header.

FastAPI registers one route per (path, method), and Starlette's 405 names only the
methods of the first route whose path matched, so ``OPTIONS /api/users`` answered
``Allow: GET`` although the path also takes POST; and the dashboard's catch-all GET
answered 404 for ``GET /api/auth/login``. Both now read the methods from the OpenAPI
document, which is what clients (and schemathesis) hold the API to.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.routing import compile_path


def _methods_by_path(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    """Each path of the OpenAPI document as a pattern, with the methods it declares."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "methods", None)
    if table is None:
        table = [
            (compile_path(path)[0], {m.upper() for m in ops})
            for path, ops in app.openapi()["paths"].items()
        ]
        app.state.methods = table
    return table


def declared_methods(request: Request) -> set[str]:
    """The methods the API declares for this request's path (empty: no such path)."""
    path = request.url.path
    allowed: set[str] = set()
    for pattern, methods in _methods_by_path(request.app):
        if pattern.match(path):
            allowed |= methods
    return allowed


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """Starlette's 405, with ``Allow`` listing every method the path declares."""
    assert isinstance(exc, HTTPException)
    allowed = declared_methods(request)
    if allowed:
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(allowed))}
    return await http_exception_handler(request, exc)
