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

Table = tuple[dict[str, set[str]], list[tuple[re.Pattern[str], set[str]]]]


def _methods_by_path(app: FastAPI) -> Table:
    """The OpenAPI document's methods per literal path, and per templated path pattern."""
    table: Table | None = getattr(app.state, "methods", None)
    if table is None:
        literal: dict[str, set[str]] = {}
        templated: list[tuple[re.Pattern[str], set[str]]] = []
        for path, ops in app.openapi()["paths"].items():
            methods = {m.upper() for m in ops}
            if "{" in path:
                templated.append((compile_path(path)[0], methods))
            else:
                literal[path] = methods
        table = app.state.methods = (literal, templated)
    return table


def declared_methods(request: Request) -> set[str]:
    """The methods the API declares for this request's path (empty: no such path).

    A literal path is its own operation (``/api/nodes/register`` is not the
    ``/api/nodes/{node_id}`` of a node called "register"), as OpenAPI reads it."""
    path = request.url.path
    literal, templated = _methods_by_path(request.app)
    if path in literal:
        return literal[path]
    allowed: set[str] = set()
    for pattern, methods in templated:
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
