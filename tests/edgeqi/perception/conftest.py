"""Perception tests run the real prepared models; `make models` fills the cache first."""

from __future__ import annotations

import pytest

from experiments.tools.model_cache import complete
from hardware.model_store import cache_root


@pytest.fixture(scope="session")
def prepared() -> None:
    if not complete():
        pytest.fail(
            f"model cache {cache_root()} is incomplete: run `make models` "
            "(or `edgeqi models prepare`) first"
        )
