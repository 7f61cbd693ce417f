"""``edgeqi report SWEEP_DIR``: every run's summary.json in one table, with confidence intervals.

Finds each ``summary.json`` under the directory (a Hydra multirun, or any tree of
runs), makes one row per (run, policy), then for each policy and metric the mean
and a 95 % confidence interval over the runs (Student's t on the seeds). Writes
``report.csv`` (per run) and ``report.md`` (aggregated) into the directory.

A per-run p99 of alert latency rests on a few hundred reports, so one retransmitted
report moves it by a whole retransmission timeout; the report therefore also pools
every run's ``reports.parquet`` and gives the percentiles of all reports together.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

METRICS = (
    "bandwidth_reduction",
    "energy_saving",
    "anomaly_recall",
    "detection_delay_s_p50",
    "false_alarms_per_node_hour",
    "critical_deadline_miss_rate",
    "alert_latency_ms_p99",
    "bytes_sent",
    "energy_j",
)


def collect(root: Path) -> pd.DataFrame:
    """One row per run and policy, from every summary.json below ``root``."""
    rows: list[dict[str, Any]] = []
    for path in sorted(root.rglob("summary.json")):
        summary = json.loads(path.read_text())
        per = summary.get("comparison", {}).get("per_policy", {})
        for policy, metrics in summary["policies"].items():
            row: dict[str, Any] = {
                "run": str(path.parent.relative_to(root)),
                "seed": summary["sim"]["seed"],
                "city": summary["scenario"]["city"],
                "nodes": summary["sim"]["nodes"],
                "policy": policy,
            }
            for key in METRICS:
                row[key] = per.get(policy, {}).get(key, metrics.get(key))
            rows.append(row)
    return pd.DataFrame(rows)


def pooled_alert_latency(root: Path) -> pd.DataFrame:
    """Alert latency percentiles per policy over the reports of every run below ``root``."""
    frames = [
        pd.read_parquet(path, columns=["policy", "event_at", "received_at"])
        for path in sorted(root.rglob("reports.parquet"))
    ]
    if not frames:
        return pd.DataFrame()
    reports = pd.concat(frames, ignore_index=True)
    reports["latency_ms"] = (reports["received_at"] - reports["event_at"]) * 1000.0
    rows = []
    for policy, group in reports.groupby("policy", sort=False, observed=True):
        ms = group["latency_ms"].dropna().to_numpy(dtype=float)
        if len(ms) == 0:
            continue
        rows.append(
            {
                "policy": policy,
                "reports": len(ms),
                "p50_ms": float(np.percentile(ms, 50)),
                "p99_ms": float(np.percentile(ms, 99)),
                "over_250_ms": int((ms > 250.0).sum()),
            }
        )
    return pd.DataFrame(rows)


def mean_ci(values: pd.Series, confidence: float = 0.95) -> tuple[float, float, int]:
    """Mean and half-width of its confidence interval; half-width NaN below two values."""
    v = values.dropna().astype(float)
    n = len(v)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(v.mean())
    if n < 2:
        return mean, math.nan, n
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return mean, half, n


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    out = []
    for policy, group in runs.groupby("policy", sort=False):
        row: dict[str, Any] = {"policy": policy, "runs": len(group)}
        for key in METRICS:
            mean, half, _ = mean_ci(group[key])
            row[key] = mean
            row[f"{key}_ci95"] = half
        out.append(row)
    return pd.DataFrame(out)


def markdown(agg: pd.DataFrame) -> str:
    def cell(mean: float, half: float, pct: bool) -> str:
        if math.isnan(mean):
            return "-"
        if pct:
            return f"{mean:.1%}" + ("" if math.isnan(half) else f" ± {half:.1%}")
        return f"{mean:.4g}" + ("" if math.isnan(half) else f" ± {half:.2g}")

    shown = METRICS[:7]
    lines = ["| policy | runs | " + " | ".join(shown) + " |", "|---" * (len(shown) + 2) + "|"]
    for _, r in agg.iterrows():
        cells = [
            cell(
                r[k],
                r[f"{k}_ci95"],
                k in ("bandwidth_reduction", "energy_saving", "anomaly_recall"),
            )
            for k in shown
        ]
        lines.append(f"| {r['policy']} | {r['runs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="edgeqi report", description=__doc__)
    ap.add_argument("sweep_dir", type=Path)
    args = ap.parse_args(argv)
    runs = collect(args.sweep_dir)
    if runs.empty:
        print(f"edgeqi report: no summary.json under {args.sweep_dir}")
        return 1
    agg = aggregate(runs)
    runs.to_csv(args.sweep_dir / "report.csv", index=False)
    text = markdown(agg)
    pooled = pooled_alert_latency(args.sweep_dir)
    if not pooled.empty:
        text += "\nAlert latency, every report of every run pooled:\n\n"
        text += "| policy | reports | p50 ms | p99 ms | over 250 ms |\n|---|---:|---:|---:|---:|\n"
        for _, r in pooled.iterrows():
            text += (
                f"| {r['policy']} | {r['reports']} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | "
                f"{r['over_250_ms']} |\n"
            )
    (args.sweep_dir / "report.md").write_text(text)
    print(text)
    return 0
