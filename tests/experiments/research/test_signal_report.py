"""The signal-control report: conditions per seed, paired differences from fixed time, figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from experiments.reports.signal_control import signal_section


def _traffic(delay: float, p95: float, stops: float, through: int) -> dict[str, Any]:
    return {
        "vehicles": 100,
        "delay_s_mean": delay,
        "delay_s_p95": p95,
        "stops_per_vehicle": stops,
        "throughput_veh": {"A0": through},
        "teleported": 0,
    }


def _run(root: Path, liars: int, seed: int, plans: float, fixed: float) -> None:
    d = root / f"consensus.byzantine_per_intersection={liars},seed={seed}"
    (d / ".hydra").mkdir(parents=True)
    overrides = [f"consensus.byzantine_per_intersection={liars}", f"seed={seed}"]
    (d / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    summary = {
        "sim": {"seed": seed},
        "traffic": {
            "signals": "consensus plans",
            "edgeqi": _traffic(plans, 2 * plans, plans / 20, 500),
            "fixed_time": _traffic(fixed, 2 * fixed, fixed / 20, 490),
        },
    }
    (d / "summary.json").write_text(json.dumps(summary))


def test_conditions_and_paired_differences_from_fixed_time(tmp_path: Path) -> None:
    fixed = [30.0, 20.0, 40.0]
    for seed, f in enumerate(fixed):
        _run(tmp_path, 0, seed, plans=f - 3.0, fixed=f)  # plans 3 s better on every seed
        _run(tmp_path, 1, seed, plans=f + 5.0 + seed, fixed=f)  # a liar costs 5-7 s
    (tmp_path / "figures").mkdir()
    text, written = signal_section(tmp_path, tmp_path / "figures")
    summary = pd.read_csv(tmp_path / "signal_control.csv").set_index("condition")
    assert list(summary.index) == ["fixed time", "agreed plans", "agreed plans, 1 liar"]
    assert summary.loc["fixed time", "seeds"] == 3  # once per seed, not once per run
    assert summary.loc["fixed time", "delay_s_mean"] == pytest.approx(30.0)
    # Paired by seed: the spread of fixed time across seeds does not enter the difference.
    assert summary.loc["agreed plans", "delay_s_mean_vs_fixed"] == pytest.approx(-3.0)
    assert summary.loc["agreed plans", "delay_s_mean_vs_fixed_ci95"] == pytest.approx(0.0)
    assert summary.loc["agreed plans, 1 liar", "delay_s_mean_vs_fixed"] == pytest.approx(6.0)
    assert summary.loc["agreed plans", "throughput_veh"] == pytest.approx(500.0)
    assert "| agreed plans, 1 liar | 3 |" in text
    assert [p.name for p in written] == ["signal_control.png", "signal_control.pdf"]
    assert all(p.stat().st_size > 0 for p in written)


def test_runs_without_agreed_plans_give_no_section(tmp_path: Path) -> None:
    d = tmp_path / "run"
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({"sim": {"seed": 0}}))
    assert signal_section(tmp_path, tmp_path) == ("", [])
