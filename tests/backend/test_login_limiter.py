"""The login limiter keeps a lockout in force however many other keys an attacker fails.

Memory is bounded by evicting keys that hold nobody back; a locked (client, name) pair
stays until its window has passed, or flooding other keys would reset it.
"""

from __future__ import annotations

import time

from backend.core.auth import LoginLimiter


def _lock(limiter: LoginLimiter, client: str, name: str, times: int) -> None:
    for _ in range(times):
        limiter.failed(client, name)


def test_flooding_other_keys_does_not_evict_a_lockout() -> None:
    limiter = LoginLimiter(max_failures=3, window_s=600, max_keys=10)
    _lock(limiter, "203.0.113.9", "alice", 3)
    assert limiter.retry_after("203.0.113.9", "alice") > 0
    for i in range(1_000):
        limiter.failed(f"198.51.100.{i}", "bob")
    assert limiter.retry_after("203.0.113.9", "alice") > 0
    assert len(limiter) <= 10


def test_a_table_full_of_lockouts_still_counts_new_failures() -> None:
    limiter = LoginLimiter(max_failures=2, window_s=600, max_keys=4)
    for i in range(6):
        _lock(limiter, f"10.0.0.{i}", "mallory", 2)
    _lock(limiter, "10.0.1.1", "alice", 2)
    assert limiter.retry_after("10.0.1.1", "alice") > 0
    assert all(limiter.retry_after(f"10.0.0.{i}", "mallory") > 0 for i in range(6))


def test_expired_lockouts_are_forgotten_under_pressure() -> None:
    limiter = LoginLimiter(max_failures=2, window_s=0.05, max_keys=4)
    for i in range(4):
        _lock(limiter, f"10.0.0.{i}", "mallory", 2)
    time.sleep(0.1)
    for i in range(4):
        limiter.failed(f"10.0.2.{i}", "bob")
    assert len(limiter) <= 4
    assert limiter.retry_after("10.0.0.0", "mallory") == 0
