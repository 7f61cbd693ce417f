"""The service classes of :mod:`experiments.services`, with pytest's missing-binary policy.

Locally a missing mosquitto/postgresql/redis skips the test; under ``CI=true`` it fails.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import NoReturn

import httpx
import pytest

from experiments import services
from experiments.services import (
    IN_CI,
    Mosquitto,
    Postgres,
    Redis,
    free_port,
    mosquitto_binary,
    mosquitto_client,
    mosquitto_with_logins,
    postgres_bindir,
    wait_port,
)


def _missing(message: str) -> NoReturn:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


services.on_missing = _missing

__all__ = [
    "IN_CI",
    "Mosquitto",
    "Postgres",
    "Redis",
    "free_port",
    "mosquitto_binary",
    "mosquitto_client",
    "mosquitto_with_logins",
    "postgres_bindir",
    "wait_port",
]


SERVE = "import sys; from experiments.cli import main; sys.exit(main(['serve', *sys.argv[1:]]))"
"""``edgeqi serve ARGS`` run with this interpreter (``python -c SERVE ARGS``)."""


@contextlib.contextmanager
def edgeqi_serve(env: dict[str, str]) -> Iterator[str]:
    """``edgeqi serve`` as an operator runs it, on a free loopback port; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "edgeqi serve exited"
                assert time.monotonic() < deadline, "edgeqi serve did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
