"""Real-time mode: same results as virtual time, paced by the wall clock, stopped when late."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edgeqi.protocol import Message
from experiments.runs.run import execute
from sim.realtime import LagExceededError, anchored
from sim.runner import PolicySimulation, run_scenario
from sim.scenario_config import ConfigError, ScenarioConfig

Make = Callable[..., ScenarioConfig]


def test_real_time_changes_no_result_only_the_pace(scenario: Make) -> None:
    base = ("city=small", "duration_s=120", "seed=5", "policy.compare=[edgeqi]")
    virtual = PolicySimulation(scenario(*base), "edgeqi", record_queues=False).run()
    fast = scenario(*base, "realtime.mode=real", "realtime.speed=1000", "realtime.start_now=false")
    real = PolicySimulation(fast, "edgeqi", record_queues=False).run()
    assert real.metrics == virtual.metrics
    assert real.messages.equals(virtual.messages)
    assert virtual.realtime is None
    assert real.realtime is not None and real.realtime["checks"] == 120


def test_real_time_follows_the_wall_clock_at_the_speed_factor(scenario: Make) -> None:
    scn = scenario("city=small", "duration_s=6", "realtime.mode=real", "realtime.speed=4")
    started = time.monotonic()
    run = PolicySimulation(anchored(scn), "edgeqi", record_queues=False).run()
    assert time.monotonic() - started >= 6 / 4 - 0.05
    assert run.realtime is not None and float(run.realtime["max_lag_s"]) < 0.5  # type: ignore[arg-type]


def test_anchored_real_time_starts_at_the_wall_clock(scenario: Make) -> None:
    scn = anchored(scenario("city=small", "realtime.mode=real"))
    from sim.runner import start_epoch

    assert abs(start_epoch(scn) - time.time()) < 5
    virtual = scenario("city=small")
    assert anchored(virtual) is virtual


def test_a_run_that_falls_behind_stops_naming_the_lag(scenario: Make) -> None:
    scn = scenario(
        "city=small", "duration_s=60", "realtime.mode=real", "realtime.speed=20",
        "realtime.max_lag_s=0.3", "realtime.lag_check_s=0.5",
    )  # fmt: skip
    sim = PolicySimulation(scn, "stream_all", record_queues=False)

    def slow_uplink(_k: int, _m: Message) -> None:
        time.sleep(0.02)  # 4 nodes x 1 message per 2 s at 20x: 0.8 s of sleep per wall second

    sim.sink = slow_uplink
    with pytest.raises(LagExceededError, match=r"behind the wall clock .*max_lag_s=0.3"):
        sim.run()
    assert sim.lag.max_lag_s > 0.3


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("realtime.speed=0", "realtime.speed"),
        ("realtime.mode=fast", "realtime.mode"),
        ("realtime.hil.broker_url=mqtt://127.0.0.1:1883", "realtime"),
        ("realtime.max_lag_s=-1", "realtime.max_lag_s"),
        ("realtime.backfill_s=60", "realtime"),
    ],
)
def test_bad_realtime_config_is_refused_naming_the_key(
    scenario: Make, override: str, key: str
) -> None:
    with pytest.raises(ConfigError, match=key):
        scenario("city=small", override)


def test_edgeqi_run_reports_the_lag_of_a_real_time_run(tmp_path: Path, scenario: Make) -> None:
    from rich.console import Console

    from experiments.runs.results import summarise

    scn = scenario(
        "city=small", "duration_s=60", "policy.compare=[edgeqi]", "plots=false", "tables=false",
        "realtime.mode=real", "realtime.speed=600",
    )  # fmt: skip
    execute(scn, tmp_path, Console(quiet=True))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["realtime"]["edgeqi"]["checks"] == 60
    assert summary["realtime"]["edgeqi"]["max_lag_s"] < 5
    virtual = scenario("city=small", "duration_s=60", "policy.compare=[edgeqi]", "plots=false")
    run = run_scenario(virtual)
    assert "realtime" not in summarise(run)  # virtual-time summaries keep their keys


def test_a_backfill_runs_the_past_at_full_speed_then_follows_the_wall_clock(
    scenario: Make,
) -> None:
    scn = anchored(
        scenario(
            "city=small", "duration_s=603", "realtime.mode=real", "realtime.backfill_s=600",
            "realtime.lag_check_s=0.5", "policy.compare=[stream_all]",
        )
    )  # fmt: skip
    from sim.runner import start_epoch

    assert abs(start_epoch(scn) - (time.time() - 600)) < 5
    sim = PolicySimulation(scn, "stream_all", record_queues=False)
    stamps: list[tuple[float, float]] = []
    sim.sink = lambda _k, m: stamps.append((m.ts, time.time()))
    started = time.monotonic()
    run = sim.run()
    wall = time.monotonic() - started
    # The last 3 simulated seconds are live: the run ends when the wall clock reaches them.
    assert -0.5 < time.time() - (start_epoch(scn) + 603) < 2  # (2 s: a loaded machine's lag)
    assert run.realtime is not None
    caught_up = float(run.realtime["caught_up_wall_s"])  # type: ignore[arg-type]
    assert caught_up < wall
    # History went out ahead of its timestamps' wall time; the live part on time.
    assert stamps[0][0] < stamps[0][1] - 590
    period = scn.workload.observe_period_s  # a window's messages carry its start time
    assert -period - 2 < stamps[-1][0] - stamps[-1][1] < 0.5
    # Lag is watched from the catch-up on (a late backfill would have raised by now).
    assert int(run.realtime["checks"]) >= 1  # type: ignore[call-overload]
