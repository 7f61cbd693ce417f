"""``edgeqi report SWEEP_DIR``: every run's summary.json in one table, with confidence intervals.

Finds each ``summary.json`` under the directory (a Hydra multirun, or any tree of
runs), makes one row per (run, policy), then for each variant (the run's overrides
less the seed, see :mod:`experiments.reports.sweep_data`), policy and metric the mean and a
95 % confidence interval over the seeds (Student's t). Writes into the directory:

- ``report.csv`` (per run and policy), ``aggregate.csv`` (per variant and policy);
- ``report.md``: the table, pooled alert latency, the paper's claims beside the
  measured values (:mod:`experiments.reports.claims`), battery lifetime for runs of a day or
  more, and the list of figures;
- ``figures/``: per-policy comparison with CIs, the pooled latency CDF, the trade-off
  curve when a numeric key was swept, state of charge over time for day-long runs,
  and for collaboration sweeps (:mod:`experiments.reports.collaboration`) energy with against
  without work division and accuracy against the share of lying cameras, and for SUMO
  signal-control sweeps (:mod:`experiments.reports.signal_control`) vehicle delay, stops and
  throughput under fixed time, agreed plans and agreed plans with liars; each as PNG
  and PDF.

A per-run p99 of alert latency rests on a few hundred reports, so one retransmitted
report moves it by a whole retransmission timeout; the report therefore also pools
every run's ``reports.parquet`` and gives the percentiles of all reports together.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.reports import figures as figs
from experiments.reports.collaboration import (
    accuracy_markdown,
    accuracy_summary,
    collab_rows,
    energy_markdown,
    energy_pairs,
    energy_summary,
)
from experiments.reports.intervals import mean_ci, mean_pm, quantile_ci
from experiments.reports.paired import (
    differences,
    differences_markdown,
    sensitivity,
    sensitivity_markdown,
    stops_beating,
)
from experiments.reports.signal_control import signal_section
from experiments.reports.sweep_data import (
    battery_rows,
    run_summaries,
    swept_keys,
    variant_of,
)

__all__ = ["aggregate", "collect", "main", "markdown", "mean_ci", "pooled_alert_latency"]

METRICS = (
    "bandwidth_reduction",
    "energy_saving",
    "anomaly_recall",
    "placebo_recall",
    "anomaly_precision",
    "anomaly_f1",
    "actionable_share",
    "detection_delay_s_p50",
    "false_alarms_per_node_hour",
    "critical_deadline_miss_rate",
    "alert_latency_ms_p99",
    "bytes_sent",
    "energy_j",
)
PERCENT = ("bandwidth_reduction", "energy_saving", "anomaly_recall", "placebo_recall")
SHOWN = (
    "bandwidth_reduction",
    "energy_saving",
    "anomaly_recall",
    "placebo_recall",
    "anomaly_precision",
    "anomaly_f1",
    "detection_delay_s_p50",
    "false_alarms_per_node_hour",
    "alert_latency_ms_p99",
    "bytes_sent",
)
"""The columns of the report's table (scoring is strict: recall counts only reports seen
while their episode was active; precision and F1 beside it)."""
DAY_S = 86400.0


def collect(root: Path) -> pd.DataFrame:
    """One row per run and policy, from every summary.json below ``root``."""
    rows: list[dict[str, Any]] = []
    for path, summary, all_overrides, differing in run_summaries(root):
        per = summary.get("comparison", {}).get("per_policy", {})
        overrides = {k: v for k, v in all_overrides.items() if k in differing}
        for policy, metrics in summary["policies"].items():
            row: dict[str, Any] = {
                "run": str(path.parent.relative_to(root)),
                "variant": variant_of(overrides),
                "seed": summary["sim"]["seed"],
                "city": summary["scenario"]["city"],
                "workload": summary["scenario"]["workload"],
                "network": summary["scenario"]["network"],
                "tolerance_s": summary.get("scoring", {}).get("tolerance_s"),
                "nodes": summary["sim"]["nodes"],
                "sim_seconds": summary["sim"]["sim_seconds"],
                "policy": policy,
                "harvested_j": metrics.get("harvested_j"),
            }
            for key in METRICS:
                row[key] = per.get(policy, {}).get(key, metrics.get(key))
            rows.append(row)
    return pd.DataFrame(rows)


def pooled_latencies(root: Path, runs: list[str] | None = None) -> dict[str, np.ndarray]:
    """Alert latency in ms of every report, per policy, over the runs below ``root``."""
    paths = (
        [root / r / "reports.parquet" for r in runs]
        if runs is not None
        else sorted(root.rglob("reports.parquet"))
    )
    frames = [
        pd.read_parquet(p, columns=["policy", "event_at", "received_at"])
        for p in paths
        if p.is_file()
    ]
    if not frames:
        return {}
    reports = pd.concat(frames, ignore_index=True)
    ms = (reports["received_at"] - reports["event_at"]) * 1000.0
    out: dict[str, np.ndarray] = {}
    for policy, group in ms.groupby(reports["policy"], sort=False, observed=True):
        out[str(policy)] = group.dropna().to_numpy(dtype=float)
    return out


def pooled_alert_latency(root: Path, runs: list[str] | None = None) -> pd.DataFrame:
    """Alert latency percentiles per policy over the reports of every run below ``root``."""
    rows = []
    for policy, ms in pooled_latencies(root, runs).items():
        if len(ms) == 0:
            continue
        p99, lo, hi = quantile_ci(ms, 0.99)
        rows.append(
            {
                "policy": policy,
                "reports": len(ms),
                "p50_ms": float(np.percentile(ms, 50)),
                "p99_ms": p99,
                "p99_lo_ms": lo,
                "p99_hi_ms": hi,
                "over_250_ms": int((ms > 250.0).sum()),
            }
        )
    return pd.DataFrame(rows)


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % CI half-width per variant and policy (``runs`` = seeds pooled)."""
    out = []
    if "variant" not in runs:
        runs = runs.assign(variant="default")
    for (variant, policy), group in runs.groupby(["variant", "policy"], sort=False):
        row: dict[str, Any] = {"variant": variant, "policy": policy, "runs": len(group)}
        for key in (*METRICS, "kb_per_node_hour"):
            if key == "kb_per_node_hour":
                values = group["bytes_sent"] / 1e3 / (group["nodes"] * group["sim_seconds"] / 3600)
            else:
                values = group[key]
            mean, half, _ = mean_ci(values)
            row[key] = mean
            row[f"{key}_ci95"] = half
        out.append(row)
    return pd.DataFrame(out)


def markdown(agg: pd.DataFrame) -> str:
    """The aggregated table, one row per policy (and variant, when there are several)."""
    shown = SHOWN
    several = agg["variant"].nunique() > 1 if "variant" in agg else False
    head = ["variant"] if several else []
    lines = [
        "| " + " | ".join([*head, "policy", "runs", *shown]) + " |",
        "|---" * (len(shown) + 2 + len(head)) + "|",
    ]
    for _, r in agg.iterrows():
        cells = [mean_pm(r[k], r[f"{k}_ci95"], k in PERCENT) for k in shown]
        lead = [str(r["variant"])] if several else []
        lines.append("| " + " | ".join([*lead, str(r["policy"]), str(r["runs"]), *cells]) + " |")
    return "\n".join(lines) + "\n"


def latency_markdown(pooled: pd.DataFrame) -> str:
    text = "| policy | reports | p50 ms | p99 ms [95 % CI] | over 250 ms |\n"
    text += "|---|---:|---:|---:|---:|\n"
    for _, r in pooled.iterrows():
        text += (
            f"| {r['policy']} | {r['reports']} | {r['p50_ms']:.0f} | "
            f"{r['p99_ms']:.0f} [{r['p99_lo_ms']:.0f}, {r['p99_hi_ms']:.0f}] | "
            f"{r['over_250_ms']} |\n"
        )
    return text


def battery_section(root: Path, runs: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """Battery lifetime per policy for runs of at least a simulated day."""
    long_runs = runs[runs["sim_seconds"] >= DAY_S].drop_duplicates("run")
    rows = []
    for _, r in long_runs.iterrows():
        for b in battery_rows(root / r["run"], int(r["nodes"]), float(r["sim_seconds"])):
            rows.append({"run": r["run"], "variant": r["variant"], **b})
    if not rows:
        return "", pd.DataFrame()
    frame = pd.DataFrame(rows)
    per = runs.set_index(["run", "policy"])
    net = []
    for _, row in frame.iterrows():
        m = per.loc[(row["run"], row["policy"])]
        node_days = float(m["nodes"]) * float(m["sim_seconds"]) / DAY_S
        net.append((float(m["harvested_j"] or 0.0) - float(m["energy_j"])) / 3600.0 / node_days)
    frame["net_wh_per_node_day"] = net
    days = float(long_runs["sim_seconds"].max()) / DAY_S
    text = (
        f"\nBattery lifetime of solar-powered nodes ({days:g} simulated days; first time a "
        "node went down on an empty battery, mean over the runs that had one):\n\n"
        "| policy | runs | runs with a node down | first down, h | node-hours down | "
        "share of node-time down | mean charge at end | net Wh per node-day (harvest - draw) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    for policy, g in frame.groupby("policy", sort=False):
        first = g["first_down_h"].dropna()
        fd, fh, _ = mean_ci(first)
        nd, nh, _ = mean_ci(g["node_hours_down"])
        sd, sh, _ = mean_ci(g["down_fraction"])
        ed, eh, _ = mean_ci(g["end_mean_soc"])
        wd, wh, _ = mean_ci(g["net_wh_per_node_day"])
        text += (
            f"| {policy} | {len(g)} | {len(first)} | "
            f"{mean_pm(fd, fh, False) if len(first) else f'none in {days:g} d'} | "
            f"{mean_pm(nd, nh, False)} | {mean_pm(sd, sh, True)} | {mean_pm(ed, eh, True)} | "
            f"{mean_pm(wd, wh, False)} |\n"
        )
    return text, frame


def _battery_series(root: Path, runs: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for _, r in runs[runs["sim_seconds"] >= DAY_S].drop_duplicates("run").iterrows():
        path = root / r["run"] / "timeseries.parquet"
        if path.is_file():
            ts = pd.read_parquet(path, columns=["policy", "t", "alive", "mean_soc"])
            frames.append(ts.assign(alive_share=ts["alive"] / float(r["nodes"])))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def tradeoff_points(agg: pd.DataFrame, runs: pd.DataFrame) -> tuple[str, pd.DataFrame] | None:
    """EDGE-QI's points along the numeric key swept with the most values, grouped by every
    other swept key (categorical or numeric)."""
    variants = {v: run_overrides_of(runs, v) for v in agg["variant"].unique()}
    numeric, categorical = swept_keys(variants)
    if not numeric:
        return None
    key = max(numeric, key=lambda k: len({ov.get(k) for ov in variants.values()}))
    categorical = sorted([*categorical, *(k for k in numeric if k != key)])
    focus = agg[agg["policy"] == "edgeqi"].copy()
    if focus.empty:
        return None
    focus["value"] = [float(variants[v][key]) for v in focus["variant"]]
    focus["group"] = [
        ",".join(f"{k}={variants[v].get(k, '-')}" for k in categorical) or "all"
        for v in focus["variant"]
    ]
    return key, focus


def run_overrides_of(runs: pd.DataFrame, variant: str) -> dict[str, str]:
    """Overrides of a variant, read back from its label (``k=v`` pairs joined by commas)."""
    if variant == "default":
        return {}
    out: dict[str, str] = {}
    for part in variant.split(","):
        key, _, value = part.partition("=")
        out[key] = value
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)[:80]


def collaboration_section(root: Path, fig_dir: Path) -> tuple[str, list[Path]]:
    """Work division's energy and accuracy under liars, when the sweep holds such runs."""
    rows = collab_rows(root)
    text = ""
    written: list[Path] = []
    pairs = energy_pairs(rows)
    if not pairs.empty:
        summary = energy_summary(pairs)
        text += energy_markdown(summary)
        pairs.to_csv(root / "collaboration_energy.csv", index=False)
        written += figs.collaboration_energy(summary, fig_dir / "collaboration_energy")
    accuracy = accuracy_summary(rows)
    if not accuracy.empty:
        text += accuracy_markdown(accuracy)
        accuracy.to_csv(root / "byzantine_accuracy.csv", index=False)
        written += figs.byzantine_accuracy(accuracy, fig_dir / "byzantine_accuracy")
    return text, written


def conditions(runs: pd.DataFrame) -> str:
    """The scenario a measured value holds under, from the runs' own summaries."""
    first = runs.iloc[0]
    seeds = runs["seed"].nunique()
    return (
        f"{first['city']} city, {first['nodes']} nodes, {first['sim_seconds']:g} s, "
        f"workload {first['workload']}, network {first['network']}, {seeds} seed(s), "
        f"strict scoring (tolerance_s={first['tolerance_s']})"
    )


def sensitivity_section(
    root: Path, runs: pd.DataFrame, agg: pd.DataFrame, variants: list[str]
) -> str:
    """For a sweep over several keys: how each headline figure moves per swept value,
    where EDGE-QI stops beating each baseline, and the paper's claims per condition."""
    from experiments.reports.claims import claims_by_condition

    if len(variants) < 2:
        return ""
    overrides = {
        r: run_overrides_of(runs, v) for r, v in runs[["run", "variant"]].drop_duplicates().values
    }
    numeric, categorical = swept_keys({v: run_overrides_of(runs, v) for v in variants})
    sens = sensitivity(runs, overrides, [*numeric, *categorical])
    if sens.empty:
        return ""
    sens.to_csv(root / "sensitivity.csv", index=False)
    text = (
        "\nSensitivity: EDGE-QI minus each baseline, paired by seed, per value of each swept "
        "key (pooled over the other keys):\n\n"
    )
    text += sensitivity_markdown(sens)
    text += "\nWhere EDGE-QI stops beating each baseline:\n\n" + "\n".join(stops_beating(sens))
    text += "\n\nThe paper's claims per condition (EDGE-QI against stream_all):\n\n"
    text += claims_by_condition(runs, conditions)
    return text


def threshold_points(other: Path) -> pd.DataFrame:
    """EDGE-QI's aggregated points of another sweep (a threshold sweep), labelled by
    variant, to draw on this sweep's Pareto figure beside every policy."""
    runs = collect(other)
    if runs.empty:
        return pd.DataFrame()
    agg = aggregate(runs)
    agg = agg[agg["policy"] == "edgeqi"]
    return agg.assign(policy="edgeqi (threshold sweep)")


def build(root: Path, pareto_with: Path | None = None) -> str | None:
    """Write every output of the report for ``root``; the markdown, or None without runs.
    ``pareto_with``: a threshold sweep whose EDGE-QI points join the Pareto figure."""
    from experiments.reports.claims import claims, claims_markdown

    runs = collect(root)
    if runs.empty:
        return None
    agg = aggregate(runs)
    runs.to_csv(root / "report.csv", index=False)
    agg.to_csv(root / "aggregate.csv", index=False)
    fig_dir = root / "figures"
    fig_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    text = markdown(agg)
    variants = list(dict.fromkeys(agg["variant"]))
    for variant in variants:
        in_variant = runs[runs["variant"] == variant]
        run_names = list(dict.fromkeys(in_variant["run"]))
        latency = pooled_latencies(root, run_names)
        label = "" if len(variants) == 1 else f" ({variant})"
        pooled = pooled_alert_latency(root, run_names)
        if not pooled.empty:
            text += f"\nAlert latency{label}, every report of every run pooled:\n\n"
            text += latency_markdown(pooled)
        if {"edgeqi", "stream_all"} <= set(in_variant["policy"]) and len(variants) <= 4:
            text += (
                f"\nThe paper's claims{label}, EDGE-QI against stream_all on the same worlds, "
                f"under these conditions: {conditions(in_variant)}:\n\n"
            )
            text += claims_markdown(claims(in_variant, latency.get("edgeqi")))
        if len(variants) <= 4:
            diff = differences(in_variant)
            if not diff.empty:
                text += f"\nEDGE-QI against each baseline{label}, paired by seed:\n\n"
                text += differences_markdown(diff)
            suffix = "" if len(variants) == 1 else "_" + _slug(variant)
            written += figs.comparison(
                agg[agg["variant"] == variant],
                fig_dir / f"comparison{suffix}",
                f"{in_variant['city'].iloc[0]}, {in_variant['nodes'].iloc[0]} nodes{label}",
            )
            if latency:
                written += figs.latency_cdf(latency, fig_dir / f"latency_cdf{suffix}")
    text += sensitivity_section(root, runs, agg, variants)
    extra = threshold_points(pareto_with) if pareto_with is not None else pd.DataFrame()
    written += figs.pareto(pd.concat([agg, extra], ignore_index=True), fig_dir / "pareto")
    point = tradeoff_points(agg, runs)
    if point is not None:
        key, frame = point
        written += figs.tradeoff(frame, key, fig_dir / "tradeoff")
        frame.to_csv(root / "tradeoff.csv", index=False)
    battery_text, battery = battery_section(root, runs)
    if battery_text:
        text += battery_text
        battery.to_csv(root / "battery.csv", index=False)
        written += figs.battery(_battery_series(root, runs), fig_dir / "battery")
    for section_text, section_figures in (
        collaboration_section(root, fig_dir),
        signal_section(root, fig_dir),
    ):
        text += section_text
        written += section_figures
    text += "\nFigures: " + ", ".join(str(p.relative_to(root)) for p in written) + "\n"
    (root / "report.md").write_text(text)
    return text


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="edgeqi report",
        description=(
            "Gather every run's summary.json under SWEEP_DIR (a Hydra multirun, or any tree of "
            "runs) into report.md, report.csv, aggregate.csv and figures/: means and 95 % "
            "intervals over seeds per variant and policy, pooled alert latency, paired "
            "differences against every baseline, and the paper's claims beside the measured "
            "values and the conditions they hold under."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument(
        "sweep_dir", type=Path, help="a sweep's directory (e.g. multirun/paper_comparison)"
    )
    ap.add_argument(
        "--pareto-with",
        type=Path,
        default=None,
        help="a threshold sweep (multirun/threshold_sweep) whose EDGE-QI points join the "
        "Pareto figure of bytes against strict recall and delay",
    )
    args = ap.parse_args(argv)
    text = build(args.sweep_dir, args.pareto_with)
    if text is None:
        print(f"edgeqi report: no summary.json under {args.sweep_dir}")
        return 1
    print(text)
    return 0
