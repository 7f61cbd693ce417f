"""The service classes of :mod:`experiments.services`, with pytest's missing-binary policy.

Locally a missing mosquitto/postgresql/redis skips the test; under ``CI=true`` it fails.
"""

from __future__ import annotations

from typing import NoReturn

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
