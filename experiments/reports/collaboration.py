"""The collaboration part of ``edgeqi report``: work division's energy, accuracy under liars.

Two questions of issue 9, answered from the runs' ``summary.json`` alone:

- *Energy saved by consensus-based work division.* Runs that differ only by
  ``consensus=none`` (cameras working alone) and ``consensus=pbft`` (the agreed
  coverage) are paired by seed and by every other override, so each pair shares its
  world; the saving is ``1 - E_pbft / E_none`` per pair, then a mean and a 95 %
  Student's t interval over the seeds. Total energy and the detection (compute) part
  are both given, because idle power dominates the total and dilutes the saving.
- *Decision accuracy against the fraction of Byzantine cameras.* Runs with PBFT are
  grouped by cluster size, coverage settings and the number of lying cameras per
  intersection; per group the fused queue's error against the simulated ground truth,
  the share of fused values inside the honest cameras' range and the signal plan's
  green-split error, each with its interval over seeds; how many liars suspicion
  excluded and after how many decisions, how often honest cameras were suspected, and
  the safety check's divergent commits (summed over the runs: it must be 0 within f).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.reports.intervals import mean_ci, mean_pm
from experiments.reports.sweep_data import NOT_VARIANT, run_summaries

COMPUTE_STATES = ("compute_full", "compute_reduced")
RADIO_STATES = ("radio", "radio_tail")
ACCURACY = (
    "decision_error_veh_mean",
    "decision_error_veh_p99",
    "within_honest_range_share",
    "fused_without_honest_share",
    "plan_split_error_mean",
    "robust_fusion_share",
    "liars_excluded_share",
    "decisions_to_exclude_max",
    "false_suspect_rate",
)
SETTINGS = (
    "cluster_size",
    "robust_coverage",
    "audit_every",
    "redundancy",
    "lying_behaviour",
    "lying_factor",
)
SAFETY = ("divergent_commits", "divergent_commits_within_f", "rounds_checked")


def _pair_key(overrides: dict[str, str], differing: set[str]) -> str:
    """The overrides that tell runs apart, less the seed and the consensus choice: what the
    two runs of a pair share. Overrides every run has in common are left out of the label."""
    kept = {
        k: v
        for k, v in overrides.items()
        if k in differing and k not in NOT_VARIANT and k != "consensus"
    }
    return ",".join(f"{k}={v}" for k, v in sorted(kept.items())) or "all"


def collab_rows(root: Path) -> pd.DataFrame:
    """One row per run and policy: energy by part and, with consensus on, its metrics."""
    rows: list[dict[str, Any]] = []
    for path, summary, overrides, differing in run_summaries(root):
        for policy, m in summary["policies"].items():
            by_state = m.get("energy_by_state_j", {})
            row: dict[str, Any] = {
                "run": str(path.parent.relative_to(root)),
                "pair": _pair_key(overrides, differing),
                "seed": summary["sim"]["seed"],
                "policy": policy,
                "consensus": summary["scenario"].get("consensus", "none"),
                "nodes": summary["sim"]["nodes"],
                "sim_seconds": summary["sim"]["sim_seconds"],
                "energy_j": float(m["energy_j"]),
                "compute_j": sum(float(by_state.get(s, 0.0)) for s in COMPUTE_STATES),
                "radio_j": sum(float(by_state.get(s, 0.0)) for s in RADIO_STATES),
            }
            c = m.get("consensus")
            if isinstance(c, dict):
                settings = c.get("settings", {})
                row.update({k: settings.get(k) for k in SETTINGS})
                row["byzantine_per_intersection"] = settings.get("byzantine_per_intersection", 0)
                row.update({k: c.get(k) for k in ACCURACY})
                row.update(_suspicion_and_safety(c))
                inter = c.get("intersection", {})
                row["decision_latency_ms_p50"] = inter.get("decision_latency_ms_p50")
                row["decision_latency_ms_p99"] = inter.get("decision_latency_ms_p99")
                row["undecided_rounds"] = c.get("undecided_rounds")
                row["coverage_saving_fraction"] = c.get("coverage_saving_fraction")
                row["consensus_energy_j"] = c.get("consensus_energy_j")
            rows.append(row)
    return pd.DataFrame(rows)


def _suspicion_and_safety(c: dict[str, Any]) -> dict[str, Any]:
    """The run's suspicion and safety figures (absent from runs made before they existed)."""
    sus, safety = c.get("suspicion") or {}, c.get("safety") or {}
    liars = sus.get("liars") or 0
    return {
        "robust_every_cycle": (c.get("geometry") or {}).get("robust_every_cycle"),
        "liars_excluded_share": sus.get("liars_excluded", 0) / liars if liars else None,
        "decisions_to_exclude_max": sus.get("decisions_to_exclude_max"),
        "false_suspect_rate": sus.get("false_suspect_rate"),
        **{k: safety.get(k) for k in SAFETY},
    }


def energy_pairs(rows: pd.DataFrame) -> pd.DataFrame:
    """Per pair, seed and policy: energy alone, with work division, and the savings."""
    if rows.empty or not {"none", "pbft"} <= set(rows["consensus"]):
        return pd.DataFrame()
    alone = {
        (r["pair"], r["seed"], r["policy"]): r
        for _, r in rows[rows["consensus"] == "none"].iterrows()
    }
    shared = rows[rows["consensus"] != "none"]
    out = []
    for _, r in shared.iterrows():
        a = alone.get((r["pair"], r["seed"], r["policy"]))
        if a is None:
            continue
        node_hours = float(r["nodes"]) * float(r["sim_seconds"]) / 3600.0
        out.append(
            {
                "pair": r["pair"],
                "seed": r["seed"],
                "policy": r["policy"],
                "consensus": r["consensus"],
                "alone_wh_per_node_hour": float(a["energy_j"]) / 3600.0 / node_hours,
                "shared_wh_per_node_hour": float(r["energy_j"]) / 3600.0 / node_hours,
                "energy_saving": 1.0 - float(r["energy_j"]) / float(a["energy_j"]),
                "compute_saving": 1.0 - float(r["compute_j"]) / float(a["compute_j"])
                if float(a["compute_j"]) > 0
                else math.nan,
                "radio_increase": float(r["radio_j"]) / float(a["radio_j"]) - 1.0
                if float(a["radio_j"]) > 0
                else math.nan,
                "coverage_saving_fraction": r.get("coverage_saving_fraction"),
                "consensus_energy_j": r.get("consensus_energy_j"),
            }
        )
    return pd.DataFrame(out)


def energy_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % CI over seeds of each saving, per pair and policy."""
    out = []
    keys = (
        "alone_wh_per_node_hour",
        "shared_wh_per_node_hour",
        "energy_saving",
        "compute_saving",
        "radio_increase",
    )
    for (pair, policy), g in pairs.groupby(["pair", "policy"], sort=True):
        row: dict[str, Any] = {"pair": pair, "policy": policy, "seeds": len(g)}
        for k in keys:
            mean, half, _ = mean_ci(g[k])
            row[k] = mean
            row[f"{k}_ci95"] = half
        out.append(row)
    return pd.DataFrame(out)


def accuracy_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per cluster size, coverage settings and liars per intersection (seeds pooled)."""
    if rows.empty or "byzantine_per_intersection" not in rows:
        return pd.DataFrame()
    with_c = rows[rows["cluster_size"].notna()]
    if with_c["byzantine_per_intersection"].nunique() < 2:
        return pd.DataFrame()
    group_keys = ["policy", *SETTINGS, "robust_every_cycle", "byzantine_per_intersection"]
    out = []
    for key, g in with_c.groupby(group_keys, sort=True, dropna=False):
        row: dict[str, Any] = dict(zip(group_keys, key, strict=True))
        n = int(row["cluster_size"])
        liars = int(row["byzantine_per_intersection"])
        row["f"] = (n - 1) // 3
        row["byzantine_fraction"] = liars / n
        row["seeds"] = len(g)
        for k in (*ACCURACY, "decision_latency_ms_p99", "undecided_rounds"):
            mean, half, _ = mean_ci(pd.to_numeric(g[k], errors="coerce"))
            row[k] = mean
            row[f"{k}_ci95"] = half
        # The slowest exclusion of any run, not the mean of each run's slowest.
        row["decisions_to_exclude_max"] = pd.to_numeric(g["decisions_to_exclude_max"]).max()
        for k in SAFETY:
            row[k] = pd.to_numeric(g[k], errors="coerce").sum(min_count=1)
        out.append(row)
    return pd.DataFrame(out)


_pm = functools.partial(mean_pm, digits=3)
"""Three significant digits: these tables sit in prose."""


def energy_markdown(summary: pd.DataFrame) -> str:
    text = (
        "\nEnergy saved by consensus-based work division (consensus=pbft against "
        "consensus=none on the same worlds, paired by seed; mean ± 95 % CI):\n\n"
        "| setting | policy | seeds | Wh per node-hour alone | with work division | "
        "energy saved | detection energy saved | radio energy added |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|\n"
    )
    for _, r in summary.iterrows():
        text += (
            f"| {r['pair']} | {r['policy']} | {r['seeds']} | "
            f"{_pm(r['alone_wh_per_node_hour'], r['alone_wh_per_node_hour_ci95'])} | "
            f"{_pm(r['shared_wh_per_node_hour'], r['shared_wh_per_node_hour_ci95'])} | "
            f"{_pm(r['energy_saving'], r['energy_saving_ci95'], pct=True)} | "
            f"{_pm(r['compute_saving'], r['compute_saving_ci95'], pct=True)} | "
            f"{_pm(r['radio_increase'], r['radio_increase_ci95'], pct=True)} |\n"
        )
    return text


def _num(value: Any, fmt: str = "{:.0f}") -> str:
    return "-" if value is None or pd.isna(value) else fmt.format(float(value))


def accuracy_markdown(summary: pd.DataFrame) -> str:
    text = (
        "\nDecision accuracy against the fraction of Byzantine (lying) cameras per "
        "intersection (mean ± 95 % CI over seeds; inside honest range counts a value no "
        "honest camera reported as outside; divergent commits and rounds checked are "
        "summed over the runs):\n\n"
        "| cameras (f) | 2f+1 on every approach every cycle | audit every | liars | kind | "
        "fraction | "
        "error veh mean | error veh p99 | inside honest range | no honest report | "
        "green-split error | robust share | liars excluded | decisions to exclude (max) | "
        "false-suspect rate | divergent commits / rounds checked |\n"
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    for _, r in summary.iterrows():
        robust = r.get("robust_every_cycle")
        text += (
            f"| {int(r['cluster_size'])} ({int(r['f'])}) | "
            f"{'-' if robust is None or pd.isna(robust) else ('yes' if robust else 'no')} | "
            f"{int(r['audit_every'])} | {int(r['byzantine_per_intersection'])} | "
            f"{r['lying_behaviour']} | {r['byzantine_fraction']:.2f} | "
            f"{_pm(r['decision_error_veh_mean'], r['decision_error_veh_mean_ci95'])} | "
            f"{_pm(r['decision_error_veh_p99'], r['decision_error_veh_p99_ci95'])} | "
            f"{_pm(r['within_honest_range_share'], r['within_honest_range_share_ci95'], True)} | "
            f"{_pm(r['fused_without_honest_share'], r['fused_without_honest_share_ci95'], True)}"
            f" | {_pm(r['plan_split_error_mean'], r['plan_split_error_mean_ci95'])} | "
            f"{_pm(r['robust_fusion_share'], r['robust_fusion_share_ci95'], True)} | "
            f"{_pm(r['liars_excluded_share'], r['liars_excluded_share_ci95'], True)} | "
            f"{_num(r['decisions_to_exclude_max'], '{:.1f}')} | "
            f"{_num(r['false_suspect_rate'], '{:.4f}')} | "
            f"{_num(r['divergent_commits'])} / {_num(r['rounds_checked'])} |\n"
        )
    return text
