"""Fixtures of the hardware tests."""

from __future__ import annotations

import pytest

from experiments.services import IN_CI
from experiments.tools.model_cache import complete


@pytest.fixture
def models_cached() -> None:
    """The detectors and the street video in the model cache (``make models``)."""
    if not complete():
        message = "model cache incomplete: run `make models`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
