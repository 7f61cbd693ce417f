"""The per-request token check: revocation takes effect, and its query runs off the loop.

Every API request checks that the token's user still exists and is enabled. The check
is a coroutine on the event loop; a database query there would stall every other
request for its duration, so a cache miss is answered from the thread pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.core.orm import User
from tests.backend.test_api import Headers, runtime


def test_the_user_lookup_never_runs_on_the_event_loop(client: TestClient, admin: Headers) -> None:
    users = runtime(client).users
    opened = users.sessions
    on_loop: list[bool] = []

    @contextmanager
    def watched() -> Iterator[Session]:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # a worker thread has no running loop
            on_loop.append(False)
        with opened() as db:
            yield db

    users.sessions = watched  # type: ignore[assignment]
    users.forget("admin")
    assert client.get("/api/auth/me", headers=admin).status_code == 200
    assert on_loop == [False]
    assert client.get("/api/auth/me", headers=admin).status_code == 200
    assert on_loop == [False]  # the second answer came from the cache


def test_a_user_disabled_elsewhere_loses_its_token_within_the_ttl(
    client: TestClient, admin: Headers
) -> None:
    """Another replica disabled the user: this one learns it when its entry expires."""
    users = runtime(client).users
    users.ttl_s = 0.2
    assert client.get("/api/auth/me", headers=admin).status_code == 200
    with runtime(client).sessions() as db:
        db.execute(update(User).where(User.username == "admin").values(disabled=True))
        db.commit()
    time.sleep(0.3)
    r = client.get("/api/auth/me", headers=admin)
    assert r.status_code == 401 and r.json()["detail"] == "user no longer active"


def test_a_user_deleted_here_loses_its_token_at_once(
    client: TestClient, admin: Headers, make_user: Callable[[str], Headers]
) -> None:
    viewer = make_user("viewer")
    assert client.get("/api/auth/me", headers=viewer).status_code == 200
    users = client.get("/api/users", headers=admin).json()
    uid = next(u["id"] for u in users if u["username"] == "viewer-user")
    assert client.delete(f"/api/users/{uid}", headers=admin).status_code == 204
    assert client.get("/api/auth/me", headers=viewer).status_code == 401
