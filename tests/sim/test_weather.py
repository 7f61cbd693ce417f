"""The sky over the panels: clear days unchanged, overcast days in spells, shares as set."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.runs.compose import compose_scenario
from sim.runner import PolicySimulation
from sim.scenario_config import ConfigError, WeatherConfig, load_scenario
from sim.weather import DAY_S, Sky

MONDAY = 1_772_409_600.0  # 2026-03-02 00:00 UTC


def sky(cfg: WeatherConfig, days: int, seed: int = 0) -> Sky:
    return Sky(cfg, MONDAY, days * DAY_S, np.random.default_rng(seed))


def test_a_clear_sky_scales_nothing_and_draws_nothing() -> None:
    rng = np.random.default_rng(1)
    s = Sky(WeatherConfig(), MONDAY + 7 * 3600, 3 * DAY_S, rng)
    assert s.factors == [1.0] * 4 and s.overcast_days == 0
    assert rng.random() == np.random.default_rng(1).random(), "no draw from its stream"


def test_overcast_days_come_at_the_set_share_in_spells_of_the_set_output() -> None:
    cfg = WeatherConfig(overcast_share=0.4, persistence=0.6, overcast_output=(0.1, 0.3))
    s = sky(cfg, 4000)
    overcast = np.array([f < 1.0 for f in s.factors])
    assert overcast.mean() == pytest.approx(0.4, abs=0.04)
    low = [f for f in s.factors if f < 1.0]
    assert min(low) >= 0.1 and max(low) <= 0.3
    # Spells: tomorrow repeats today far more often than independent days would.
    same = (overcast[1:] == overcast[:-1]).mean()
    independent = 0.4**2 + 0.6**2
    assert same > independent + 0.2
    no_spells = sky(WeatherConfig(overcast_share=0.4), 4000)
    o2 = np.array([f < 1.0 for f in no_spells.factors])
    assert (o2[1:] == o2[:-1]).mean() == pytest.approx(independent, abs=0.04)


def test_the_factor_follows_calendar_days_of_the_run() -> None:
    s = sky(WeatherConfig(overcast_share=1.0, overcast_output=(0.2, 0.2)), 2)
    assert s.factor(MONDAY + 3600) == pytest.approx(0.2)
    assert s.factor(MONDAY + DAY_S + 3600) == pytest.approx(0.2)
    assert s.factor(MONDAY + 40 * DAY_S) == pytest.approx(0.2)  # past the end: the last day


def test_an_overcast_week_harvests_less_and_a_clear_one_matches_no_weather() -> None:
    args = ["city=small", "duration_s=172800", "start_time=2026-03-02T00:00:00+00:00",
            "progress=false", "plots=false", "tables=false"]  # fmt: skip
    harvested = {}
    for weather in ("clear", "overcast_spells"):
        scn = compose_scenario([*args, f"weather={weather}", "seed=1"])
        sim = PolicySimulation(scn, "edgeqi", record_queues=False)
        sim.run()
        harvested[weather] = float(sim.energy.harvested_j.sum())
        if weather == "overcast_spells":
            assert sim.sky.overcast_days > 0
    assert harvested["overcast_spells"] < 0.8 * harvested["clear"]


def test_an_inverted_output_range_is_refused() -> None:
    raw = compose_scenario(["weather=overcast_spells"]).model_dump()
    raw["weather"]["overcast_output"] = (0.5, 0.2)
    with pytest.raises(ConfigError, match="overcast_output"):
        load_scenario(raw)
