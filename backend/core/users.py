"""Who may still act: tokens are honoured only for users that exist and are enabled.

A JWT is valid until it expires, so deleting or disabling a user must be checked at
each request; the role is reread too, so a demotion applies at once. Lookups are
cached for ``ttl_s`` (the API answers many requests per user per second) and the
routes that change a user drop its entry, so on this replica a change is immediate
and on other replicas it is at most ``ttl_s`` late.

The lookup is a blocking database query, and the token check runs on the event loop
(it is a coroutine dependency, so that cheap checks need no thread); the check
therefore answers from :meth:`ActiveUsers.cached` on the loop and runs
:meth:`ActiveUsers.role` in the thread pool only on a miss.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.auth import Role
from backend.core.orm import User

_MAX_CACHED = 10_000


class ActiveUsers:
    """Cached ``username -> current role`` of enabled users (None: gone or disabled)."""

    def __init__(self, sessions: sessionmaker[Session], ttl_s: float = 5.0) -> None:
        self.sessions = sessions
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[Role | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, username: str) -> tuple[bool, Role | None]:
        """``(True, role)`` from a fresh cache entry, ``(False, None)`` when the database
        must be asked (no entry, or older than ``ttl_s``); never blocks on I/O."""
        with self._lock:
            hit = self._cache.get(username)
        if hit is not None and time.monotonic() - hit[1] <= self.ttl_s:
            return True, hit[0]
        return False, None

    def role(self, username: str) -> Role | None:
        """The user's role now, or None when the user no longer exists or is disabled.

        Blocking (a database query on a miss): call it from a worker thread."""
        known, role = self.cached(username)
        if known:
            return role
        now = time.monotonic()
        with self.sessions() as db:
            row = db.execute(
                select(User.role, User.disabled).where(User.username == username)
            ).first()
        role = None if row is None or row.disabled else Role(row.role)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[username] = (role, now)
        return role

    def forget(self, username: str) -> None:
        """Drop the cached entry after the user was changed on this replica."""
        with self._lock:
            self._cache.pop(username, None)
