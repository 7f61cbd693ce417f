"""Reading a sweep back: which overrides made each run, and what its time series say.

A Hydra multirun stores the command-line overrides of each job in
``.hydra/overrides.yaml``. The *variant* of a run is those overrides less the seed
(and launcher/experiment/output choices, which change where and how a run executes,
not what it computes), so runs that differ only by seed are pooled into one mean and
confidence interval, and a threshold sweep keeps one row per threshold.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

NOT_VARIANT = ("seed", "experiment", "launcher", "progress", "plots", "tables")


def run_overrides(run_dir: Path) -> dict[str, str]:
    """The ``key=value`` overrides Hydra recorded for the run in ``run_dir`` (empty if none)."""
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return {}
    items = OmegaConf.to_container(OmegaConf.load(path)) or []
    assert isinstance(items, list)
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        key = key.lstrip("+~")
        if sep and not key.startswith("hydra."):
            out[key] = value
    return out


def varying_keys(all_overrides: list[dict[str, str]]) -> set[str]:
    """Override keys whose value is not the same in every run (absent counts as a value).

    Only these tell variants apart; an override every run shares (``city=small`` on the
    whole sweep) is part of the experiment, not of a variant's name.
    """
    keys = {k for ov in all_overrides for k in ov}
    return {k for k in keys if len({ov.get(k) for ov in all_overrides}) > 1}


def run_summaries(
    root: Path,
) -> Iterator[tuple[Path, dict[str, Any], dict[str, str], set[str]]]:
    """Every ``summary.json`` below ``root``, in path order, with its run's overrides and
    the override keys that vary across the whole sweep."""
    paths = sorted(root.rglob("summary.json"))
    overrides_of = {p: run_overrides(p.parent) for p in paths}
    differing = varying_keys(list(overrides_of.values()))
    for path in paths:
        yield path, json.loads(path.read_text()), overrides_of[path], differing


def variant_of(overrides: dict[str, str]) -> str:
    """A stable label for the overrides that change what a run computes, seed left out."""
    kept = {k: v for k, v in overrides.items() if k not in NOT_VARIANT}
    return ",".join(f"{k}={v}" for k, v in sorted(kept.items())) or "default"


def swept_keys(variants: dict[str, dict[str, str]]) -> tuple[list[str], list[str]]:
    """The keys whose value differs between variants: (numeric ones, categorical ones)."""
    keys: dict[str, set[str]] = {}
    for ov in variants.values():
        for k, v in ov.items():
            if k not in NOT_VARIANT:
                keys.setdefault(k, set()).add(v)
    numeric, categorical = [], []
    for k, values in sorted(keys.items()):
        if len(values) < 2:
            continue
        try:
            [float(v) for v in values]
        except ValueError:
            categorical.append(k)
        else:
            numeric.append(k)
    return numeric, categorical


def battery_rows(run_dir: Path, nodes: int, sim_seconds: float) -> list[dict[str, Any]]:
    """Per policy: when a node first went down, node-hours down, mean charge at the end.

    From ``timeseries.parquet`` (one sample of alive nodes and mean state of charge per
    sampling period). A node is down while its battery is empty (until solar brings it
    back) or while crashed; with ``faults=none`` only the battery takes nodes down.
    A run in which no node went down gives no first-depletion time: the lifetime is
    longer than the run, and the report says so rather than inventing a number.
    """
    path = run_dir / "timeseries.parquet"
    if not path.is_file():
        return []
    ts = pd.read_parquet(path, columns=["policy", "t", "alive", "mean_soc"])
    rows = []
    for policy, unsorted in ts.groupby("policy", sort=False, observed=True):
        g = unsorted.sort_values("t")
        t = g["t"].to_numpy(dtype=float)
        down = nodes - g["alive"].to_numpy(dtype=float)
        dt = np.diff(np.concatenate([[0.0], t]))
        first = t[down > 0]
        rows.append(
            {
                "policy": policy,
                "first_down_h": float(first[0] / 3600.0) if len(first) else None,
                "node_hours_down": float((down * dt).sum() / 3600.0),
                "down_fraction": float((down * dt).sum() / (nodes * sim_seconds)),
                "end_mean_soc": float(g["mean_soc"].iloc[-1]),
                "min_mean_soc": float(g["mean_soc"].min()),
            }
        )
    return rows
