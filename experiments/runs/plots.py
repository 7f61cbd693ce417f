"""Figures a person would rather look at than read: queues, bytes and energy, policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from sim.runner import ScenarioRun

FOCUS = "edgeqi"


def plot_queues(run: ScenarioRun, out: Path, panels: int = 4) -> Path:
    """Ground-truth queues of the approaches that had episodes, with episodes shaded and the
    reports that reached the backend (under EDGE-QI) marked at their receipt time."""
    policy = run.policies.get(FOCUS) or next(iter(run.policies.values()))
    episodes = policy.episodes
    queues = run.queues
    chosen = (
        episodes[episodes["kind"].isin(["incident", "surge", "emergency"])]
        .drop_duplicates(["intersection", "approach"])
        .head(panels)
    )
    if chosen.empty:
        chosen = queues.drop_duplicates(["intersection", "approach"]).head(panels)
    fig, axes = plt.subplots(len(chosen), 1, figsize=(10, 2.4 * max(1, len(chosen))), squeeze=False)
    for ax, (_, row) in zip(axes[:, 0], chosen.iterrows(), strict=False):
        q = queues[
            (queues["intersection"] == row["intersection"])
            & (queues["approach"] == row["approach"])
        ]
        ax.plot(q["t"] / 60.0, q["vehicles"], lw=0.8, color="0.3", label="ground-truth queue")
        here = episodes[
            (episodes["intersection"] == row["intersection"])
            & (episodes["approach"] == row["approach"])
        ]
        for _, e in here.iterrows():
            ax.axvspan(e["onset"] / 60.0, e["end"] / 60.0, color="tab:orange", alpha=0.25)
            ax.text(e["onset"] / 60.0, ax.get_ylim()[1] * 0.9, e["kind"], fontsize=7)
        rep = policy.reports
        rep = rep[
            (rep["intersection"] == row["intersection"])
            & (rep["approach"].isin([row["approach"], "*"]))
        ]
        if len(rep):
            ymax = max(1.0, float(q["vehicles"].max()) if len(q) else 1.0)
            ax.scatter(
                rep["received_at"] / 60.0,
                [ymax * 1.05] * len(rep),
                marker="v",
                color="tab:red",
                s=14,
                label="report received",
            )
        ax.set_ylabel(f"{row['intersection']} {row['approach']}\nvehicles", fontsize=8)
    axes[-1, 0].set_xlabel("simulated minutes")
    axes[0, 0].legend(loc="upper left", fontsize=7)
    fig.suptitle(f"Queues against ground truth, reports under '{policy.name}'")
    fig.tight_layout()
    path = out / "queues.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bytes_energy(run: ScenarioRun, out: Path) -> Path:
    fig, (ax_b, ax_e) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, r in run.policies.items():
        ts = r.timeseries
        if ts.empty:
            continue
        ax_b.plot(ts["t"] / 60.0, ts["bytes"] / 1e6, label=name)
        ax_e.plot(ts["t"] / 60.0, ts["energy_j"] / 1e3, label=name)
    ax_b.set(xlabel="simulated minutes", ylabel="MB sent (cumulative)", yscale="symlog")
    ax_e.set(xlabel="simulated minutes", ylabel="kJ drawn (cumulative)")
    ax_b.legend(fontsize=7)
    fig.tight_layout()
    path = out / "bytes_energy.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_comparison(summary: dict[str, Any], out: Path) -> Path:
    pols = summary["policies"]
    df = pd.DataFrame(
        {
            "MB sent": {k: v["bytes_sent"] / 1e6 for k, v in pols.items()},
            "kJ drawn": {k: v["energy_j"] / 1e3 for k, v in pols.items()},
            "anomaly recall": {k: v["anomaly_recall"] or 0.0 for k, v in pols.items()},
            "alert p99 ms": {k: v["alert_latency_ms_p99"] or 0.0 for k, v in pols.items()},
        }
    )
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    for ax, col in zip(axes, df.columns, strict=True):
        df[col].plot.bar(ax=ax, color="tab:blue")
        ax.set_title(col)
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        if col == "MB sent":
            ax.set_yscale("log")
    fig.tight_layout()
    path = out / "comparison.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
