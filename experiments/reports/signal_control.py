"""The signal-control part of ``edgeqi report``: what agreed plans do to SUMO's traffic.

Answers, from the runs' ``summary.json`` alone (their ``traffic`` section, written by
``world=sumo`` runs), the question of ``experiment=signal_control``: vehicle delay
(mean and p95 per vehicle), stops per vehicle and junction throughput under

- *fixed time*: SUMO's own programme, which every run also runs on the same demand and
  anomalies (``traffic.fixed_time``, the same whatever the cameras do; taken once per seed);
- *agreed plans*: the Webster plans the cameras agreed on (``traffic.edgeqi``) with no
  lying camera;
- *agreed plans, k liars*: the same with ``consensus.byzantine_per_intersection = k`` (and
  the ``consensus.lying_behaviour`` when the sweep sets it).

Each condition gets a mean and a 95 % Student's t interval over seeds, and each plan
condition its paired difference from fixed time on the same seed (same vehicles), whose
interval says whether the plans help, hurt or cannot be told apart from fixed time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.reports import figures as figs
from experiments.reports.intervals import mean_ci
from experiments.reports.sweep_data import run_summaries

LIARS_KEY = "consensus.byzantine_per_intersection"
BEHAVIOUR_KEY = "consensus.lying_behaviour"
METRICS = (
    ("delay_s_mean", "delay per vehicle, mean", "s"),
    ("delay_s_p95", "delay per vehicle, p95", "s"),
    ("stops_per_vehicle", "stops per vehicle", ""),
    ("throughput_veh", "junction throughput", "vehicles"),
)
FIXED = "fixed time"


def _figures(traffic: dict[str, Any]) -> dict[str, float]:
    return {
        "delay_s_mean": float(traffic["delay_s_mean"]),
        "delay_s_p95": float(traffic["delay_s_p95"]),
        "stops_per_vehicle": float(traffic["stops_per_vehicle"]),
        "throughput_veh": float(sum(traffic["throughput_veh"].values())),
        "vehicles": float(traffic["vehicles"]),
        "teleported": float(traffic["teleported"]),
    }


def _plans_label(liars: int, behaviour: str | None) -> str:
    if liars == 0:
        return "agreed plans"
    how = f" ({behaviour})" if behaviour else ""
    return f"agreed plans, {liars} liar{'s' * (liars > 1)}{how}"


def signal_rows(root: Path) -> pd.DataFrame:
    """One row per (condition, seed) of the runs below ``root`` that adopted agreed plans."""
    rows: list[dict[str, Any]] = []
    fixed_seen: set[str] = set()
    for path, summary, overrides, _ in run_summaries(root):
        traffic = summary.get("traffic")
        if not traffic or traffic.get("signals") != "consensus plans":
            continue
        seed = str(summary["sim"]["seed"])
        liars = int(overrides.get(LIARS_KEY, "0"))
        run = str(path.parent.relative_to(root))
        label = _plans_label(liars, overrides.get(BEHAVIOUR_KEY))
        rows.append(
            {"condition": label, "liars": liars, "seed": seed, "run": run}
            | _figures(traffic["edgeqi"])
        )
        if seed not in fixed_seen:
            fixed_seen.add(seed)
            rows.append(
                {"condition": FIXED, "liars": -1, "seed": seed, "run": run}
                | _figures(traffic["fixed_time"])
            )
    return pd.DataFrame(rows)


def signal_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per condition: each metric's mean and CI, and the plans' paired difference from
    fixed time on the same seeds (delay and stops)."""
    if rows.empty:
        return pd.DataFrame()
    fixed = rows[rows["condition"] == FIXED].set_index("seed")
    out = []
    for (liars, condition), group in rows.groupby(["liars", "condition"], sort=True):
        rec: dict[str, Any] = {"condition": condition, "liars": liars, "seeds": len(group)}
        for key, _, _ in METRICS:
            rec[key], rec[f"{key}_ci95"], _ = mean_ci(group[key])
        if condition != FIXED:
            paired = group.set_index("seed")
            for key in ("delay_s_mean", "delay_s_p95", "stops_per_vehicle"):
                diff = (paired[key] - fixed[key]).dropna()  # aligned on the seed
                rec[f"{key}_vs_fixed"], rec[f"{key}_vs_fixed_ci95"], _ = mean_ci(diff)
        out.append(rec)
    return pd.DataFrame(out)


def _pm(mean: float, half: float, digits: int) -> str:
    if np.isnan(mean):
        return "-"
    if np.isnan(half):
        return f"{mean:,.{digits}f}"
    return f"{mean:,.{digits}f} ± {half:,.{digits}f}"


def signal_markdown(summary: pd.DataFrame) -> str:
    lines = [
        "\n## Signal control on SUMO (vehicle delay, stops, throughput)\n",
        "Mean ± 95 % CI over seeds; *vs fixed* is the paired difference on the same seed "
        "(negative: the agreed plans are better).\n",
        "| signals | seeds | delay mean s | delay p95 s | stops / vehicle | throughput "
        "| delay mean vs fixed s | delay p95 vs fixed s | stops vs fixed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in summary.iterrows():
        vs = [
            _pm(r.get(f"{k}_vs_fixed", np.nan), r.get(f"{k}_vs_fixed_ci95", np.nan), d)
            for k, d in (("delay_s_mean", 1), ("delay_s_p95", 1), ("stops_per_vehicle", 2))
        ]
        own = [
            _pm(r[k], r[f"{k}_ci95"], d)
            for k, d in zip([m[0] for m in METRICS], (1, 1, 2, 0), strict=True)
        ]
        lines.append(f"| {r['condition']} | {r['seeds']} | " + " | ".join(own + vs) + " |")
    return "\n".join(lines) + "\n"


def signal_figure(summary: pd.DataFrame, stem: Path) -> list[Path]:
    """One panel per metric, one bar per signal condition, 95 % CI as error bars."""
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.0 * len(METRICS), 4.2))
    labels = [str(c).replace(", ", ",\n") for c in summary["condition"]]
    x = np.arange(len(labels))
    colours = ["#7f7f7f" if c == FIXED else "#1f77b4" for c in summary["condition"]]
    for ax, (key, title, unit) in zip(axes, METRICS, strict=True):
        half = np.nan_to_num(summary[f"{key}_ci95"].to_numpy(dtype=float), nan=0.0)
        ax.bar(x, summary[key].to_numpy(dtype=float), yerr=half, capsize=4, color=colours)
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(unit)
    fig.suptitle("Agreed signal plans against SUMO's fixed-time programme (95 % CI)", fontsize=10)
    return figs.save(fig, stem)


def signal_section(root: Path, fig_dir: Path) -> tuple[str, list[Path]]:
    """The section's text, CSVs and figure, when the sweep holds SUMO runs with plans."""
    rows = signal_rows(root)
    if rows.empty:
        return "", []
    summary = signal_summary(rows)
    rows.to_csv(root / "signal_control_runs.csv", index=False)
    summary.to_csv(root / "signal_control.csv", index=False)
    return signal_markdown(summary), signal_figure(summary, fig_dir / "signal_control")
