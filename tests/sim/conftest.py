"""Small scenarios composed through Hydra exactly as `edgeqi run` composes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from sim.config import ScenarioConfig, load_scenario


def compose_raw(overrides: list[str]) -> dict[str, Any]:
    with initialize_config_module(config_module="scenarios", version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    return {str(k): v for k, v in raw.items()}


@pytest.fixture
def scenario() -> Callable[..., ScenarioConfig]:
    def make(*overrides: str) -> ScenarioConfig:
        return load_scenario(compose_raw(["progress=false", *overrides]))

    return make
