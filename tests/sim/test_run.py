"""A whole scenario, end to end: results contract, determinism, the policies' differences."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from experiments.runs.results import WALL_CLOCK_KEYS
from experiments.runs.run import execute
from sim.scenario_config import ScenarioConfig

CONTRACT = (
    "bytes_sent",
    "energy_j",
    "critical_deadline_miss_rate",
    "anomaly_recall",
    "detection_delay_s_p50",
    "false_alarms_per_node_hour",
    "alert_latency_ms_p99",
)


def _run(scn: ScenarioConfig, out: Path) -> dict[str, object]:
    execute(scn, out, Console(quiet=True))
    summary = json.loads((out / "summary.json").read_text())
    assert isinstance(summary, dict)
    return summary


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    from experiments.runs.compose import compose_scenario

    scn = compose_scenario(["city=small", "duration_s=1800", "seed=4", "progress=false"])
    out = tmp_path_factory.mktemp("small")
    return out, _run(scn, out)


def test_summary_follows_the_results_contract(small_run: tuple[Path, dict[str, object]]) -> None:
    out, summary = small_run
    policies = summary["policies"]
    assert isinstance(policies, dict)
    assert set(policies) == {
        "edgeqi",
        "stream_all",
        "periodic",
        "fifo",
        "oracle",
        "edgeqi_no_alg1",
        "edgeqi_no_alg2",
    }
    for metrics in policies.values():
        for key in CONTRACT:
            assert key in metrics
    comparison = summary["comparison"]
    assert isinstance(comparison, dict)
    assert {"bandwidth_reduction", "energy_saving"} <= set(comparison)
    assert summary["scoring"] == {  # type: ignore[index]
        "tolerance_s": 0.0,
        "rule": summary["scoring"]["rule"],  # type: ignore[index]
    }
    edgeqi_vs = comparison["per_policy"]["edgeqi"]["vs"]
    assert set(edgeqi_vs) == {"stream_all", "fifo", "periodic", "oracle"}
    assert {"bytes_ratio", "anomaly_f1_diff"} <= set(edgeqi_vs["fifo"])
    for metrics in policies.values():
        assert {"anomaly_precision", "anomaly_f1", "actionable_share", "by_kind"} <= set(metrics)
    sim = summary["sim"]
    assert isinstance(sim, dict)
    assert sim["nodes"] == 4 and sim["sim_seconds"] == 1800 and sim["seed"] == 4
    for name in (
        "summary.json",
        "messages.parquet",
        "reports.parquet",
        "episodes.parquet",
        "queues.png",
    ):
        assert (out / name).exists(), name


def test_bytes_are_the_sum_of_recorded_publishes(small_run: tuple[Path, dict[str, object]]) -> None:
    out, summary = small_run
    messages = pd.read_parquet(out / "messages.parquet")
    policies = summary["policies"]
    assert isinstance(policies, dict)
    for name, metrics in policies.items():
        sent = int(messages.loc[messages["policy"] == name, "wire_bytes"].sum())
        assert metrics["bytes_sent"] == sent + metrics["bytes_by_kind"]["video"]


def test_seq_is_monotonic_per_node(small_run: tuple[Path, dict[str, object]]) -> None:
    out, _ = small_run
    messages = pd.read_parquet(out / "messages.parquet")
    for (_, _), group in messages.groupby(["policy", "node"]):
        seq = group.sort_values("sent_at", kind="stable")["seq"].to_numpy()
        assert (np.diff(seq) > 0).all()


def test_edgeqi_sends_far_less_than_stream_all(small_run: tuple[Path, dict[str, object]]) -> None:
    _, summary = small_run
    p = summary["policies"]
    assert isinstance(p, dict)
    assert p["edgeqi"]["bytes_sent"] < 0.5 * p["stream_all"]["bytes_sent"]
    assert p["edgeqi"]["energy_j"] < p["stream_all"]["energy_j"]


def test_same_seed_same_summary(tmp_path: Path, scenario: Callable[..., ScenarioConfig]) -> None:
    scn = scenario("city=small", "duration_s=600", "seed=11", "plots=false", "tables=false")
    a = _run(scn, tmp_path / "a")
    b = _run(scn, tmp_path / "b")
    for s in (a, b):
        sim = s["sim"]
        assert isinstance(sim, dict)
        for key in WALL_CLOCK_KEYS:
            sim.pop(key)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    c = _run(
        scenario("city=small", "duration_s=600", "seed=12", "plots=false", "tables=false"),
        tmp_path / "c",
    )
    assert c["policies"] != a["policies"]


def test_replayed_world_gives_each_policy_its_results_alone(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    """Policies after the first replay what the first one's cameras saw (sim.runner.ViewTape)
    instead of re-simulating the world: each must end exactly as if it had run alone."""
    from sim.runner import run_scenario

    common = ("city=small", "faults=demo", "duration_s=2700", "seed=5")
    together = run_scenario(scenario(*common, "policy.compare=[stream_all,edgeqi,periodic]"))
    for name in ("edgeqi", "periodic"):
        alone = run_scenario(scenario(*common, f"policy.compare=[{name}]")).policies[name]
        replayed = together.policies[name]
        assert replayed.metrics == alone.metrics
        assert int(alone.metrics["episodes"]) > 0  # type: ignore[call-overload]
        for table in ("messages", "reports", "episodes", "timeseries"):
            pd.testing.assert_frame_equal(getattr(replayed, table), getattr(alone, table))


def test_scripted_faults_leave_their_marks(scenario: Callable[..., ScenarioConfig]) -> None:
    from sim.runner import PolicySimulation

    scn = scenario("city=small", "faults=demo", "duration_s=3400", "plots=false")
    sim = PolicySimulation(scn, "edgeqi", record_queues=False)
    run = sim.run()
    msgs = run.messages
    # The crashed node 0 (900-1200 s) sends nothing while down.
    node0 = msgs[msgs["node"] == 0]
    assert not ((node0["sent_at"] > 905) & (node0["sent_at"] < 1195)).any()
    # Node 1's outage (1200-1440 s): what it sends then waits in its buffer and arrives after.
    held = msgs[(msgs["node"] == 1) & (msgs["sent_at"] > 1205) & (msgs["sent_at"] < 1435)]
    assert len(held) > 0 and held["buffered"].all()
    assert (held["arrival"] >= 1440.0).all()
    # Node 2's camera fault is a ground-truth episode and is reported.
    eps = run.episodes
    camera = eps[(eps["kind"] == "camera_fault") & (eps["node"] == 2) & (eps["onset"] == 1500.0)]
    assert len(camera) == 1 and bool(camera["detected"].iloc[0])
    # Node 3's battery is emptied at 2400 s: morning sun cannot revive it within the run.
    assert sim.energy.depleted[3]
    node3 = msgs[msgs["node"] == 3]
    assert len(node3[node3["sent_at"] < 2400]) > 0
    assert len(node3[node3["sent_at"] > 2405]) == 0
    # The partition at 3000 s holds every node's messages until it heals.
    cut = msgs[(msgs["sent_at"] > 3005) & (msgs["sent_at"] < 3175)]
    assert len(cut) > 0 and (cut["arrival"] >= 3180.0).all()


def test_report_aggregates_runs_and_pools_alert_latency(
    small_run: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    import shutil

    from experiments.reports.sweep_report import main as report_main

    out, _ = small_run
    rng = np.random.default_rng(0)
    pooled = []
    for name, scale in (("a", 50.0), ("b", 400.0)):
        shutil.copytree(out, tmp_path / name)
        event_at = rng.uniform(0, 3600, 200)
        latency_s = rng.exponential(scale, 200) / 1000.0
        pooled.append(latency_s * 1000.0)
        pd.DataFrame(
            {"policy": "edgeqi", "event_at": event_at, "received_at": event_at + latency_s}
        ).to_parquet(tmp_path / name / "reports.parquet")
    assert report_main([str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "| edgeqi | 2 |" in text
    every = np.concatenate(pooled)
    lo, hi = np.sort(every)[[391, 399]]  # 392nd and 400th of 400 bound p99 at 95 %
    row = (
        f"| edgeqi | 400 | {np.percentile(every, 50):.0f} | {np.percentile(every, 99):.0f} "
        f"[{lo:.0f}, {hi:.0f}] | {int((every > 250).sum())} |"
    )
    assert row in text


_TZ_SCRIPT = """
import json, sys
from rich.console import Console
from experiments.runs.compose import compose_scenario
from experiments.runs.run import execute
from experiments.runs.results import WALL_CLOCK_KEYS
scn = compose_scenario(["city=small", "duration_s=600", "seed=11", "progress=false",
    "plots=false", "tables=false", "policy.compare=[edgeqi,periodic]",
    "start_time=2026-03-02T07:30:00"])
execute(scn, __import__("pathlib").Path(sys.argv[1]), Console(quiet=True))
s = json.load(open(sys.argv[1] + "/summary.json"))
for k in WALL_CLOCK_KEYS:
    s["sim"].pop(k, None)
print(json.dumps(s, sort_keys=True))
"""


def test_summary_is_the_same_under_two_time_zones(tmp_path: Path) -> None:
    """A start_time without an offset means UTC, whatever the machine's zone."""
    import os
    import subprocess
    import sys

    outputs = []
    for tz in ("UTC", "Asia/Tokyo"):
        env = {**os.environ, "TZ": tz}
        out = tmp_path / tz.replace("/", "_")
        done = subprocess.run(
            [sys.executable, "-c", _TZ_SCRIPT, str(out)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
