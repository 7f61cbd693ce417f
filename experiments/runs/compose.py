"""Compose a scenario from Python exactly as ``edgeqi run`` does from the command line.

For notebooks, benchmarks and tests: ``compose_scenario(["city=small", "seed=3"])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from experiments.runs.override_keys import check_override_keys
from sim.scenario_config import ScenarioConfig, load_scenario

if TYPE_CHECKING:
    from sim.runner import ScenarioRun


def compose_raw(overrides: list[str]) -> dict[str, Any]:
    """The composed config as a plain dict (unvalidated); an unknown key raises
    :class:`sim.scenario_config.ConfigError` with the keys it probably meant."""
    try:
        with initialize_config_module(config_module="scenarios", version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
    except ConfigCompositionException:
        check_override_keys(overrides)
        raise
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    return {str(k): v for k, v in raw.items()}


def compose_scenario(overrides: list[str]) -> ScenarioConfig:
    """The composed and validated scenario; raises :class:`sim.scenario_config.ConfigError`."""
    return load_scenario(compose_raw(overrides))


def run_metro_edgeqi(
    nodes: int, sim_seconds: float, extra: Sequence[str] = ()
) -> tuple[ScenarioConfig, ScenarioRun, float]:
    """The metro city under EDGE-QI alone, run once in virtual time, as the scale benchmarks
    do; returns the scenario, the run and its wall seconds (set-up excluded)."""
    import time

    from sim.runner import run_scenario

    scn = compose_scenario(
        [
            "city=metro",
            *extra,
            f"nodes={nodes}",
            f"duration_s={sim_seconds}",
            "policy.compare=[edgeqi]",
            "progress=false",
        ]
    )
    started = time.perf_counter()
    run = run_scenario(scn)
    return scn, run, time.perf_counter() - started
