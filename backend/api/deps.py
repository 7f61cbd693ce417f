"""Dependencies shared by routes: the runtime, a database session, the caller's role."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.core.auth import LoginLimiter, Principal, Role, TokenError
from backend.core.service import Runtime

bearer = HTTPBearer(auto_error=False, description="Access token from /api/auth/login")


# Cheap dependencies are coroutines: FastAPI runs a plain ``def`` dependency in the
# thread pool, where under load each one waits for a free thread before the handler
# (which needs one of its own) can even start.


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def db_session(rt: RuntimeDep) -> Iterator[Session]:
    """One session per request, committed by the handler when it writes."""
    with rt.sessions() as session:
        yield session


DB = Annotated[Session, Depends(db_session)]


async def principal(
    rt: RuntimeDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller from a valid access token; 401 otherwise."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        who = rt.tokens.check(creds.credentials, "access")
    except TokenError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"invalid token: {exc}",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    # Deleted or disabled users lose their tokens; the lookup's query runs off the loop.
    known, role = rt.users.cached(who.username)
    if not known:
        role = await run_in_threadpool(rt.users.role, who.username)
    if role is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "user no longer active",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Principal(who.username, role)


async def metrics_reader(
    rt: RuntimeDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """Who reads ``/metrics``: the scrape token's holder, or any signed-in user.

    The scrape token (``EDGEQI_METRICS_TOKEN``) is compared in constant time and opens
    nothing but ``/metrics``; any other bearer goes through the user token check.
    """
    token = rt.settings.metrics_token
    if (
        token is not None
        and creds is not None
        and creds.scheme.lower() == "bearer"
        and hmac.compare_digest(creds.credentials.encode(), token.get_secret_value().encode())
    ):
        return "scraper"
    who = await principal(rt, creds)
    return who.username


MetricsReader = Annotated[str, Depends(metrics_reader)]


def throttle(limiter: LoginLimiter, client: str, name: str) -> None:
    """429 with ``Retry-After`` while ``limiter`` holds (client, name) back."""
    wait = limiter.retry_after(client, name)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed attempts",
            headers={"Retry-After": str(int(wait) + 1)},
        )


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting callers whose role is at least ``role``."""

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role.rank < role.rank:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs role {role.value}")
        return who

    return check


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


def ms(seconds: float | None) -> int | None:
    """API times are epoch seconds; storage is epoch milliseconds."""
    return None if seconds is None else round(seconds * 1000)


Seconds = Annotated[float | None, Query(ge=0, le=1e11, description="epoch seconds")]
"""A time bound in epoch seconds; bounded so that milliseconds fit a 64-bit column."""
Id = Annotated[int, Path(ge=0, le=2**63 - 1)]
"""A row id or counter in a path; bounded to what a 64-bit column holds."""


class Problem(BaseModel):
    """The body of every error response: FastAPI's ``{"detail": ...}``."""

    detail: str


Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such item"}}
"""``responses=`` entry of routes that answer 404 for an unknown id."""
CONFLICT: Responses = {409: {"model": Problem, "description": "Already exists"}}
THROTTLED: Responses = {429: {"model": Problem, "description": "Too many failed attempts"}}
TOKEN_ERRORS: Responses = {
    401: {"model": Problem, "description": "Missing, invalid or revoked token"},
    403: {"model": Problem, "description": "Role too low"},
}
"""Declared on every router whose routes need a token, so the OpenAPI document lists
what the API answers to a caller without one."""
BAD_BODY: Responses = {
    400: {
        "model": Problem,
        "description": "Body, path or query is not valid UTF-8, or the URL holds a NUL byte",
    }
}
"""Declared on every router: a body that is not UTF-8 is a 400 before validation, and so
is a path or query that is not NUL-free UTF-8 (``backend.api.url_guard``)."""
