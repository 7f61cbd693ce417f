"""Compose a scenario from Python exactly as ``edgeqi run`` does from the command line.

For notebooks, benchmarks and tests: ``compose_scenario(["city=small", "seed=3"])``.
"""

from __future__ import annotations

from typing import Any

from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from sim.config import ScenarioConfig, load_scenario


def compose_raw(overrides: list[str]) -> dict[str, Any]:
    """The composed config as a plain dict (unvalidated)."""
    with initialize_config_module(config_module="scenarios", version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    return {str(k): v for k, v in raw.items()}


def compose_scenario(overrides: list[str]) -> ScenarioConfig:
    """The composed and validated scenario; raises :class:`sim.config.ConfigError`."""
    return load_scenario(compose_raw(overrides))
