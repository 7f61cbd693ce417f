"""Small scenarios composed through Hydra exactly as `edgeqi run` composes them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from experiments.runs.compose import compose_scenario
from sim.scenario_config import ScenarioConfig


@pytest.fixture
def scenario() -> Callable[..., ScenarioConfig]:
    def make(*overrides: str) -> ScenarioConfig:
        return compose_scenario(["progress=false", *overrides])

    return make
