"""Figures of a sweep report, each saved as PNG (to look at) and PDF (for a paper).

Every mark comes from the runs' own files: bars and points are means over seeds with
95 % confidence intervals as error bars; the latency CDF pools every report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

PANELS = (
    ("bandwidth_reduction", "bandwidth saved vs stream_all", 100.0, "%"),
    ("energy_saving", "energy saved vs stream_all", 100.0, "%"),
    ("anomaly_recall", "anomaly recall (strict)", 100.0, "%"),
    ("detection_delay_s_p50", "detection delay p50", 1.0, "s"),
    ("false_alarms_per_node_hour", "false alarms", 1.0, "per node-hour"),
    ("anomaly_precision", "precision (strict)", 100.0, "%"),
    ("alert_latency_ms_p99", "alert latency p99 (per seed)", 1.0, "ms"),
    ("bytes_sent", "bytes sent", 1e-6, "MB"),
)


def save(fig: Any, stem: Path) -> list[Path]:
    """Write ``stem``.png and ``stem``.pdf and close the figure."""
    fig.tight_layout()
    paths = [stem.parent / f"{stem.name}.png", stem.parent / f"{stem.name}.pdf"]
    fig.savefig(paths[0], dpi=130)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def _err(values: pd.Series) -> np.ndarray:
    out: np.ndarray = np.nan_to_num(values.to_numpy(dtype=float), nan=0.0)
    return out


def comparison(agg: pd.DataFrame, stem: Path, title: str) -> list[Path]:
    """One panel per metric, one bar per policy, 95 % CI as error bars."""
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.5))
    policies = agg["policy"].tolist()
    x = np.arange(len(policies))
    for ax, (key, label, scale, unit) in zip(axes.flat, PANELS, strict=True):
        mean = agg[key].to_numpy(dtype=float) * scale
        half = _err(agg[f"{key}_ci95"]) * scale
        colors = ["tab:green" if p == "edgeqi" else "tab:blue" for p in policies]
        ax.bar(x, np.nan_to_num(mean), yerr=half, color=colors, capsize=3)
        ax.set_title(label, fontsize=9)
        ax.set_ylabel(unit, fontsize=8)
        ax.set_xticks(x, policies, rotation=55, ha="right", fontsize=7)
        if key == "bytes_sent" and np.nanmin(mean) > 0:
            ax.set_yscale("log")
        if key == "alert_latency_ms_p99":
            ax.axhline(250.0, color="tab:red", lw=0.8, ls="--", label="paper: 250 ms")
            ax.legend(fontsize=7)
    fig.suptitle(title + " (mean over seeds, 95 % CI)", fontsize=10)
    return save(fig, stem)


def tradeoff(points: pd.DataFrame, key: str, stem: Path) -> list[Path]:
    """Recall against bytes per node-hour, one line per group, one point per ``key`` value.

    ``points`` has columns group, value (of ``key``), kb_per_node_hour(_ci95),
    anomaly_recall(_ci95), false_alarms_per_node_hour.
    """
    fig, (ax, ax_fa) = plt.subplots(1, 2, figsize=(12, 4.5))
    for group, unsorted in points.groupby("group", sort=True):
        g = unsorted.sort_values("value")
        x = g["kb_per_node_hour"].to_numpy(dtype=float)
        ax.errorbar(
            x,
            g["anomaly_recall"].to_numpy(dtype=float) * 100.0,
            xerr=_err(g["kb_per_node_hour_ci95"]),
            yerr=_err(g["anomaly_recall_ci95"]) * 100.0,
            marker="o",
            capsize=3,
            label=str(group),
        )
        for xi, yi, v in zip(x, g["anomaly_recall"] * 100.0, g["value"], strict=True):
            ax.annotate(f"{v:g}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax_fa.errorbar(
            g["value"],
            g["false_alarms_per_node_hour"],
            yerr=_err(g["false_alarms_per_node_hour_ci95"]),
            marker="o",
            capsize=3,
            label=str(group),
        )
    ax.set(xlabel="kB sent per node-hour (edgeqi)", ylabel="anomaly recall %", xscale="log")
    ax.set_title(f"Trade-off: each point one value of {key}", fontsize=9)
    ax_fa.set(xlabel=key, ylabel="false alarms per node-hour")
    ax.legend(fontsize=7)
    ax_fa.legend(fontsize=7)
    return save(fig, stem)


def latency_cdf(latency: dict[str, np.ndarray], stem: Path) -> list[Path]:
    """Empirical CDF of alert latency per policy, every report of every run pooled."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for policy, ms in latency.items():
        if len(ms) == 0:
            continue
        x = np.sort(ms)
        ax.plot(x, np.arange(1, len(x) + 1) / len(x), label=f"{policy} ({len(x)})")
    ax.axvline(250.0, color="tab:red", lw=0.8, ls="--", label="paper: 250 ms")
    ax.set(xscale="log", xlabel="event at node to receipt at backend, ms", ylabel="share")
    ax.set_ylim(0.0, 1.0)
    ax.legend(fontsize=7)
    return save(fig, stem)


def battery(series: pd.DataFrame, stem: Path) -> list[Path]:
    """Mean state of charge and nodes up over time per policy (mean over runs)."""
    fig, (ax_s, ax_a) = plt.subplots(1, 2, figsize=(12, 4.2))
    for policy, g in series.groupby("policy", sort=False, observed=True):
        m = g.groupby("t")[["mean_soc", "alive_share"]].mean()
        hours = m.index.to_numpy(dtype=float) / 3600.0
        days = hours / 24.0
        ax_s.plot(days, m["mean_soc"] * 100.0, label=str(policy), lw=0.9)
        ax_a.plot(days, m["alive_share"] * 100.0, label=str(policy), lw=0.9)
    ax_s.set(xlabel="simulated days", ylabel="mean state of charge %")
    ax_a.set(xlabel="simulated days", ylabel="nodes powered %")
    ax_s.legend(fontsize=7)
    if not math.isnan(float(series["t"].max())):
        ax_a.set_ylim(0.0, 105.0)
    return save(fig, stem)


def collaboration_energy(summary: pd.DataFrame, stem: Path) -> list[Path]:
    """Energy saved by work division against working alone, per setting and policy, with CIs."""
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(summary) + 3), 4.2))
    labels = [f"{r['pair']}\n{r['policy']}" for _, r in summary.iterrows()]
    x = np.arange(len(labels))
    w = 0.38
    for off, key, label in (
        (-w / 2, "energy_saving", "total energy"),
        (w / 2, "compute_saving", "detection (compute) energy"),
    ):
        ax.bar(
            x + off,
            summary[key].to_numpy(dtype=float) * 100.0,
            w,
            yerr=_err(summary[f"{key}_ci95"]) * 100.0,
            capsize=3,
            label=label,
        )
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("saved vs cameras alone, %")
    ax.set_title("Consensus-based work division (paired by seed, 95 % CI)", fontsize=9)
    ax.legend(fontsize=7)
    return save(fig, stem)


def byzantine_accuracy(summary: pd.DataFrame, stem: Path) -> list[Path]:
    """Fused decision's error and honest-range share against the share of lying cameras."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = (
        ("decision_error_veh_mean", "queue error vs ground truth, vehicles (mean)", 1.0),
        ("within_honest_range_share", "fused value inside the honest range, %", 100.0),
        ("plan_split_error_mean", "green-split error vs plan from truth", 1.0),
    )
    lines = ["cluster_size", "audit_every", "lying_behaviour"]
    for (n_key, audit, kind), unsorted in summary.groupby(lines, sort=True, dropna=False):
        g = unsorted.sort_values("byzantine_fraction")
        n = int(float(str(n_key)))
        f = (n - 1) // 3
        label = f"{n} cameras (f={f}), audit every {int(float(str(audit)))}, {kind}"
        for ax, (key, _, scale) in zip(axes, panels, strict=True):
            line = ax.errorbar(
                g["byzantine_fraction"],
                g[key].to_numpy(dtype=float) * scale,
                yerr=_err(g[f"{key}_ci95"]) * scale,
                marker="o",
                capsize=3,
                label=label,
            )
            ax.axvline(f / n, color=line[0].get_color(), lw=0.7, ls=":")
    for ax, (_, title, _) in zip(axes, panels, strict=True):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("share of lying cameras per intersection (dotted: f / n)")
    axes[0].legend(fontsize=7)
    return save(fig, stem)


def consensus_scale(points: pd.DataFrame, stem: Path) -> list[Path]:
    """Decision latency and messages per decision against the PBFT cluster size."""
    fig, (ax_l, ax_m) = plt.subplots(1, 2, figsize=(12, 4.2))
    p = points.sort_values("cluster_size")
    n = p["cluster_size"].to_numpy(dtype=float)
    ax_l.plot(n, p["latency_ms_p50"], marker="o", label="p50")
    ax_l.plot(n, p["latency_ms_p99"], marker="s", label="p99")
    ax_l.axhline(1000.0, color="tab:red", lw=0.8, ls="--", label="target p99 1 s")
    ax_l.set(xlabel="cameras per intersection (PBFT replicas)", ylabel="decision latency, ms")
    ax_l.legend(fontsize=7)
    ax_m.plot(n, p["publishes_per_decision"], marker="o", label="publishes measured")
    ax_m.plot(n, p["expected_publishes"], ls="--", label="publishes expected (3n + n/k)")
    ax_m.plot(n, p["deliveries_per_decision"], marker="s", label="deliveries measured")
    ax_m.plot(n, p["expected_deliveries"], ls="--", label="deliveries expected")
    ax_m.set(xlabel="cameras per intersection (PBFT replicas)", ylabel="per decision")
    ax_m.set_yscale("log")
    ax_m.legend(fontsize=7)
    return save(fig, stem)


def pareto(agg: pd.DataFrame, stem: Path) -> list[Path]:
    """Bytes against strict recall and against detection delay: one point per policy and
    variant, 95 % CIs as bars. Bytes are per node-hour, so that sweeps of different sizes
    (a 20-node threshold sweep beside a 40-node sensitivity sweep) share the axis; points
    of a threshold sweep (policy ``edgeqi (threshold sweep)``) are joined in variant order
    and labelled with their variant, tracing EDGE-QI's trade-off curve."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    policies = list(dict.fromkeys(agg["policy"]))
    colors = {p: plt.get_cmap("tab10")(i % 10) for i, p in enumerate(policies)}
    for ax, (key, label) in zip(
        axes,
        (("anomaly_recall", "strict recall"), ("detection_delay_s_p50", "delay p50, s")),
        strict=True,
    ):
        for policy in policies:
            g = agg[agg["policy"] == policy]
            sweep = policy.endswith("(threshold sweep)")
            # A t interval over two seeds is 12.7 standard errors wide: drawn, it hides
            # every point; CIs are drawn from three runs up.
            shown = g["runs"] >= 3
            ax.errorbar(
                g["kb_per_node_hour"],
                g[key],
                xerr=_err(g["kb_per_node_hour_ci95"].where(shown, 0.0)),
                yerr=_err(g[f"{key}_ci95"].where(shown, 0.0)),
                fmt="s" if sweep else "o",
                markersize=4 if sweep else 5,
                color=colors[policy],
                label=policy,
                capsize=2,
                alpha=0.8,
            )
            if sweep:
                for x, y, text in zip(g["kb_per_node_hour"], g[key], g["variant"], strict=True):
                    short = str(text).replace("policy.transmission.", "")
                    ax.annotate(short, (x, y), fontsize=5, alpha=0.7, rotation=30)
        ax.set_xscale("log")
        ax.set_xlabel("kB sent per node-hour (log)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Pareto: bytes against strict recall and delay (each point a policy and variant)")
    return save(fig, stem)
