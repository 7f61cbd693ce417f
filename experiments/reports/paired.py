"""EDGE-QI against each baseline, paired by seed: differences with 95 % intervals.

Every policy of a run sees the same world (traffic, detector noise, faults), so the
honest comparison is the per-seed difference, EDGE-QI minus the baseline, and its
Student's t interval over seeds; the spread between worlds cancels. A difference is
called a win or a loss only when its whole interval lies on one side of zero, in the
direction that is better for that figure; otherwise the two are not told apart.

For a sensitivity sweep the same differences are given per value of each swept key
(pooled over the other keys), which shows how each headline figure moves and where
EDGE-QI stops beating a baseline.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from experiments.reports.intervals import mean_ci

FOCUS = "edgeqi"
BASELINES = ("stream_all", "fifo", "periodic", "oracle")
FIGURES: tuple[tuple[str, str, int], ...] = (
    ("anomaly_f1", "F1", +1),
    ("anomaly_recall", "recall", +1),
    ("anomaly_precision", "precision", +1),
    ("detection_delay_s_p50", "delay p50 s", -1),
    ("mb_sent", "MB sent", -1),
    ("energy_kj", "kJ", -1),
)
"""(column, label, +1 if higher is better else -1)."""


def paired(runs: pd.DataFrame, baseline: str, key: str) -> pd.Series:
    """Per run (seed), EDGE-QI's ``key`` minus the baseline's on the same world."""
    wide = runs.pivot_table(index="run", columns="policy", values=key, aggfunc="first")
    if FOCUS not in wide or baseline not in wide:
        return pd.Series(dtype=float)
    return (wide[FOCUS] - wide[baseline]).dropna()


def verdict(mean: float, half: float, better: int) -> str:
    if math.isnan(mean):
        return "not measured"
    if math.isnan(half):
        return "one seed: no interval"
    lo, hi = mean - half, mean + half
    if (lo > 0 and better > 0) or (hi < 0 and better < 0):
        return "EDGE-QI better"
    if (hi < 0 and better > 0) or (lo > 0 and better < 0):
        return "EDGE-QI worse"
    return "not distinguishable"


def with_units(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.assign(mb_sent=runs["bytes_sent"] / 1e6, energy_kj=runs["energy_j"] / 1e3)


def differences(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per baseline and figure: mean paired difference, half-width, seeds, verdict."""
    runs = with_units(runs)
    rows: list[dict[str, Any]] = []
    for baseline in BASELINES:
        for key, label, better in FIGURES:
            d = paired(runs, baseline, key)
            if d.empty:
                continue
            mean, half, n = mean_ci(d)
            rows.append(
                {
                    "baseline": baseline,
                    "figure": label,
                    "key": key,
                    "mean_diff": mean,
                    "ci95": half,
                    "seeds": n,
                    "verdict": verdict(mean, half, better),
                }
            )
    return pd.DataFrame(rows)


def _cell(mean: float, half: float) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:+.4g}" + ("" if math.isnan(half) else f" ± {half:.2g}")


def differences_markdown(diff: pd.DataFrame) -> str:
    if diff.empty:
        return ""
    lines = [
        "| baseline | figure | EDGE-QI minus baseline (95 % CI) | seeds | verdict |",
        "|---|---|---:|---:|---|",
    ]
    for _, r in diff.iterrows():
        lines.append(
            f"| {r['baseline']} | {r['figure']} | {_cell(r['mean_diff'], r['ci95'])} | "
            f"{r['seeds']} | {r['verdict']} |"
        )
    return "\n".join(lines) + "\n"


def sensitivity(
    runs: pd.DataFrame, overrides: dict[str, dict[str, str]], keys: list[str]
) -> pd.DataFrame:
    """Paired differences per value of each swept key, pooled over the other keys.

    ``overrides`` maps each run to its overrides; ``keys`` are the swept keys."""
    rows: list[pd.DataFrame] = []
    for key in keys:
        values = runs["run"].map(lambda r, k=key: overrides.get(r, {}).get(k, "-"))
        for value in sorted(set(values)):
            diff = differences(runs[values == value])
            if not diff.empty:
                rows.append(diff.assign(axis=key, value=value))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def sensitivity_markdown(sens: pd.DataFrame) -> str:
    """Per swept key and value: F1 and bytes against each baseline, and who wins."""
    if sens.empty:
        return ""
    shown = sens[sens["key"].isin(["anomaly_f1", "mb_sent", "detection_delay_s_p50"])]
    lines = [
        "| axis | value | baseline | F1 diff | F1 verdict | MB diff | bytes verdict | "
        "delay diff s | delay verdict |",
        "|---|---|---|---:|---|---:|---|---:|---|",
    ]
    for (axis, value, baseline), g in shown.groupby(["axis", "value", "baseline"], sort=False):
        cells = []
        for key in ("anomaly_f1", "mb_sent", "detection_delay_s_p50"):
            r = g[g["key"] == key]
            if r.empty:
                cells += ["-", "-"]
            else:
                row = r.iloc[0]
                cells += [_cell(row["mean_diff"], row["ci95"]), str(row["verdict"])]
        lines.append(f"| {axis} | {value} | {baseline} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def stops_beating(sens: pd.DataFrame) -> list[str]:
    """Sentences naming, per baseline and headline figure, the swept values at which
    EDGE-QI is no longer better."""
    out: list[str] = []
    if sens.empty:
        return out
    for (baseline, label), g in sens.groupby(["baseline", "figure"], sort=False):
        if label not in ("F1", "MB sent"):
            continue
        lost = g[g["verdict"] != "EDGE-QI better"]
        won = g[g["verdict"] == "EDGE-QI better"]
        if lost.empty:
            out.append(f"- {label} vs {baseline}: EDGE-QI better at every swept value.")
            continue
        where = ", ".join(f"{r['axis']}={r['value']} ({r['verdict']})" for _, r in lost.iterrows())
        also = "" if won.empty else f"; better at {len(won)} other value(s)"
        out.append(f"- {label} vs {baseline}: not better at {where}{also}.")
    return out
