"""Users, passwords (argon2id), JWT access/refresh tokens, roles and login throttling."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import OrderedDict, deque
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


_MAX_KEYS = 100_000
"""Keys a limiter tracks at once; past it, expired keys and then the least recently
failed key that holds nobody back are forgotten. Locked keys are never forgotten before
their window passes (flooding other keys would otherwise lift a lockout); they can only
exceed the cap by failures per window / limit, since a locked key records no more."""


class LoginLimiter:
    """Sliding-window counts of failures per (client, name), per name and per client.

    The pair limit is the ordinary lockout; the per-name limit (across every address)
    stops guessing one account from many addresses, and the per-client limit (across
    every name) stops spraying many names from one address. ``client`` must be the
    peer address, or the forwarded one only behind a configured trusted proxy.
    """

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        per_name_max: int | None = None,
        per_client_max: int | None = None,
        max_keys: int = _MAX_KEYS,
    ) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._limits = {"pair": max_failures, "name": per_name_max, "client": per_client_max}
        self._failures: OrderedDict[tuple[str, ...], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, client: str, name: str) -> list[tuple[tuple[str, ...], int]]:
        keys = {
            "pair": ("pair", client, name),
            "name": ("name", name),
            "client": ("client", client),
        }
        return [(keys[kind], limit) for kind, limit in self._limits.items() if limit is not None]

    def retry_after(self, client: str, name: str) -> float:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key, limit in self._keys(client, name):
                q = self._failures.get(key)
                if q is None:
                    continue
                while q and now - q[0] > self.window_s:
                    q.popleft()
                if len(q) >= limit:
                    wait = max(wait, self.window_s - (now - q[-limit]))
        return wait

    def failed(self, client: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key, _ in self._keys(client, name):
                q = self._failures.pop(key, None) or deque()
                q.append(now)
                self._failures[key] = q  # most recently failed last
            touched = {key for key, _ in self._keys(client, name)}
            while len(self._failures) > self.max_keys and self._evict_one(now, touched):
                pass

    def __len__(self) -> int:
        """Keys tracked now (the memory the limiter holds)."""
        return len(self._failures)

    def _evict_one(self, now: float, keep: set[tuple[str, ...]]) -> bool:
        """Forget the oldest key that holds nobody back; False when every key does.

        Locked keys met on the way move to the back, so a flood of lockouts is scanned
        once rather than on every failure. ``keep`` (the keys just failed) survive so
        that a full table still counts new failures.
        """
        for _ in range(len(self._failures)):
            key, q = next(iter(self._failures.items()))
            while q and now - q[0] > self.window_s:
                q.popleft()
            limit = self._limits[key[0]]
            if key not in keep and (limit is None or len(q) < limit):
                del self._failures[key]
                return True
            self._failures.move_to_end(key)
        return False

    def succeeded(self, client: str, name: str) -> None:
        """A success clears only its own pair: failures against the name from elsewhere
        still count."""
        with self._lock:
            self._failures.pop(("pair", client, name), None)


def check_production_secret(settings: Settings) -> None:
    """Refuse to run production with the well-known default (or a short) secret."""
    if settings.env == "production" and (
        settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < 32
    ):
        raise RuntimeError(
            "EDGEQI_SECRET_KEY must be set to a random value of at least 32 characters "
            "in production"
        )
