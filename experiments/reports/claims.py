"""The paper's claims beside what this testbed measures, each with its interval.

The EDGE-QI paper states three figures from its own simulation (less bandwidth and
less energy than streaming everything, responses under a latency bound), kept in
``scenarios/paper_claims.yaml`` as claims to check. Here each is set beside the
measured value for the ``edgeqi`` policy against ``stream_all`` on the same worlds:
the mean over seeds with a 95 % Student's t interval for the two savings, and for
latency both the per-seed p99 (mean and interval) and the p99 of every report of every
run pooled, with a distribution-free 95 % interval from the binomial order statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from experiments.reports.intervals import mean_ci, quantile_ci

FOCUS = "edgeqi"
PAPER: dict[str, float] = {
    str(k): float(v)
    for k, v in OmegaConf.to_container(
        OmegaConf.create((resources.files("scenarios") / "paper_claims.yaml").read_text())
    ).items()  # type: ignore[union-attr]
}


@dataclass(frozen=True)
class Claim:
    name: str
    paper: str
    measured: str
    verdict: str


def _saving_verdict(mean: float, half: float, claim: float) -> str:
    if math.isnan(mean):
        return "not measured"
    if math.isnan(half):
        return "one run: no interval"
    if mean - half > claim:
        return "above the claim"
    if mean + half < claim:
        return "below the claim"
    return "claim inside the interval"


def _saving(runs: pd.DataFrame, key: str, claim: float, label: str) -> Claim:
    mean, half, n = mean_ci(runs.loc[runs["policy"] == FOCUS, key])
    shown = "-" if math.isnan(mean) else f"{mean:.1%}"
    if not math.isnan(half):
        shown += f" ± {half:.1%} (95 % CI, {n} seeds)"
    return Claim(label, f"{claim:.1%}", shown, _saving_verdict(mean, half, claim))


def claims(runs: pd.DataFrame, latency_ms: np.ndarray | None) -> list[Claim]:
    """The three claims for ``runs`` (one variant: rows per seed and policy)."""
    out = [
        _saving(runs, "bandwidth_reduction", PAPER["bandwidth_reduction"], "bandwidth reduction"),
        _saving(runs, "energy_saving", PAPER["energy_saving"], "energy saving vs stream_all"),
    ]
    mean, half, n = mean_ci(runs.loc[runs["policy"] == FOCUS, "alert_latency_ms_p99"])
    parts = []
    if not math.isnan(mean):
        per_seed = f"per-seed p99 {mean:.0f}"
        if not math.isnan(half):
            per_seed += f" ± {half:.0f} ms ({n} seeds)"
        parts.append(per_seed)
    verdict = "not measured"
    if latency_ms is not None and len(latency_ms):
        p99, lo, hi = quantile_ci(latency_ms, 0.99)
        bound = PAPER["alert_latency_ms"]
        over = float((latency_ms > bound).mean())
        parts.append(
            f"pooled p99 {p99:.0f} ms [{lo:.0f}, {hi:.0f}] over {len(latency_ms)} reports, "
            f"{over:.1%} above {bound:.0f} ms"
        )
        verdict = (
            f"p99 under {bound:.0f} ms"
            if hi < bound
            else f"p99 over {bound:.0f} ms"
            if lo > bound
            else f"{bound:.0f} ms inside the p99 interval"
        )
    limit = f"< {PAPER['alert_latency_ms']:.0f} ms"
    out.append(Claim("alert latency (event to backend)", limit, "; ".join(parts), verdict))
    return out


def claims_markdown(items: list[Claim]) -> str:
    lines = [
        "| paper's claim | paper | measured (edgeqi) | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| {c.name} | {c.paper} | {c.measured} | {c.verdict} |" for c in items]
    return "\n".join(lines) + "\n"


def claims_by_condition(runs: pd.DataFrame, conditions: Callable[[pd.DataFrame], str]) -> str:
    """One row per variant: each claim's measured value and verdict beside the conditions
    (the variant's overrides and scenario) under which it was measured."""
    lines = [
        "| conditions | bandwidth reduction | energy saving | alert latency p99 |",
        "|---|---|---|---|",
    ]
    for variant, group in runs.groupby("variant", sort=False):
        if not {FOCUS, "stream_all"} <= set(group["policy"]):
            continue
        bw, energy, _ = claims(group, None)
        mean, half, _ = mean_ci(group.loc[group["policy"] == FOCUS, "alert_latency_ms_p99"])
        lat = "-" if math.isnan(mean) else f"per-seed p99 {mean:.0f} ms"
        if not math.isnan(half):
            bound = PAPER["alert_latency_ms"]
            lat += f" ± {half:.0f}: " + (
                f"under {bound:.0f} ms"
                if mean + half < bound
                else f"over {bound:.0f} ms"
                if mean - half > bound
                else f"{bound:.0f} ms inside the interval"
            )
        lines.append(
            f"| {variant}; {conditions(group)} | {bw.measured}: {bw.verdict} | "
            f"{energy.measured}: {energy.verdict} | {lat} |"
        )
    return "\n".join(lines) + "\n"
