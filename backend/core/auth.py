"""Users, passwords (argon2id), JWT access/refresh tokens, roles and login throttling."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.core.settings import DEFAULT_SECRET, Settings

ALGORITHM = "HS256"
_hasher = PasswordHasher()


class Role(StrEnum):
    """Ordered roles: each includes the rights of those before it."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


def hash_password(password: str) -> str:
    """argon2id hash with the library's current recommended parameters."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Constant-time verification; a malformed stored hash verifies nothing."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against this when the user does not exist keeps login time independent
# of whether the username is known.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


def dummy_verify(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


@dataclass(frozen=True)
class Principal:
    """Who a valid access token says the caller is."""

    username: str
    role: Role


class TokenError(ValueError):
    """A token that is missing, expired, forged, or of the wrong type."""


class Tokens:
    """Issues and checks HS256 tokens signed with the configured secret."""

    def __init__(self, settings: Settings) -> None:
        self.secret = settings.secret_key
        self.access_ttl = settings.access_token_ttl_s
        self.refresh_ttl = settings.refresh_token_ttl_s

    def issue(self, username: str, role: Role, kind: str = "access") -> str:
        now = int(time.time())
        ttl = self.access_ttl if kind == "access" else self.refresh_ttl
        claims = {
            "sub": username,
            "role": role.value,
            "type": kind,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def pair(self, username: str, role: Role) -> dict[str, Any]:
        return {
            "access_token": self.issue(username, role, "access"),
            "refresh_token": self.issue(username, role, "refresh"),
            "token_type": "bearer",
            "expires_in": self.access_ttl,
        }

    def check(self, token: str, kind: str = "access") -> Principal:
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from None
        if claims.get("type") != kind:
            raise TokenError(f"not a {kind} token")
        try:
            return Principal(str(claims["sub"]), Role(str(claims.get("role"))))
        except ValueError:
            raise TokenError("unknown role") from None


class LoginLimiter:
    """Sliding-window count of failed logins per (client, username)."""

    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str, username: str) -> float:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        now = time.monotonic()
        with self._lock:
            q = self._failures.get((client, username))
            if q is None:
                return 0.0
            while q and now - q[0] > self.window_s:
                q.popleft()
            if len(q) < self.max_failures:
                return 0.0
            return self.window_s - (now - q[0])

    def failed(self, client: str, username: str) -> None:
        with self._lock:
            self._failures.setdefault((client, username), deque()).append(time.monotonic())
            if len(self._failures) > 100_000:
                self._failures.clear()

    def succeeded(self, client: str, username: str) -> None:
        with self._lock:
            self._failures.pop((client, username), None)


def check_production_secret(settings: Settings) -> None:
    """Refuse to run production with the well-known default (or a short) secret."""
    if settings.env == "production" and (
        settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < 32
    ):
        raise RuntimeError(
            "EDGEQI_SECRET_KEY must be set to a random value of at least 32 characters "
            "in production"
        )
