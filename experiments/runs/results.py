"""Writing a run's results: summary.json, Parquet tables, plots, a comparison table.

``summary.json`` follows the results contract of DESIGN.md. Everything in it except
the wall-clock timings under ``sim`` is a function of the config and the seed, so
two runs of the same scenario write the same bytes there (keys sorted, floats
rounded where they are computed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sim.policies import DESCRIPTIONS
from sim.runner import ScenarioRun

BASELINE = "stream_all"
"""The reference of the contract's ``bandwidth_reduction`` / ``energy_saving`` keys."""
BASELINES = ("stream_all", "fifo", "periodic", "oracle")
"""Every policy is compared with each of these that ran: continuous video, every
observation without video (the bandwidth reference), sampling, and the ground-truth floor."""
QUALITY_KEYS = ("anomaly_recall", "anomaly_precision", "anomaly_f1", "detection_delay_s_p50")
WALL_CLOCK_KEYS = (
    "wall_seconds",
    "node_seconds_per_wall_second",
    "policy_wall_seconds",
    "peak_rss_mib",
)
"""The only keys of summary.json that depend on the machine rather than the seed..."""
SUMO_WALL_CLOCK_KEY = "sumo_wall_seconds"
"""...and the one more that a world=sumo run adds under ``sim``."""


def _fraction_saved(value: float, reference: float) -> float | None:
    if reference <= 0:
        return None
    return round(1.0 - value / reference, 6)


def _difference(a: object, b: object) -> float | None:
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return None
    return round(float(a) - float(b), 6)


def against(m: dict[str, object], base: dict[str, object]) -> dict[str, float | None]:
    """One policy against one baseline: fractions saved, the bytes ratio, and the
    differences (policy minus baseline) of each quality figure."""
    out: dict[str, float | None] = {
        "bandwidth_reduction": _fraction_saved(
            float(m["bytes_sent"]),  # type: ignore[arg-type]
            float(base["bytes_sent"]),  # type: ignore[arg-type]
        ),
        "energy_saving": _fraction_saved(
            float(m["energy_j"]),  # type: ignore[arg-type]
            float(base["energy_j"]),  # type: ignore[arg-type]
        ),
        "bytes_ratio": round(float(m["bytes_sent"]) / float(base["bytes_sent"]), 6)  # type: ignore[arg-type]
        if float(base["bytes_sent"])  # type: ignore[arg-type]
        else None,
    }
    for key in QUALITY_KEYS:
        out[f"{key}_diff"] = _difference(m.get(key), base.get(key))
    return out


def comparison_block(policies: dict[str, dict[str, object]]) -> dict[str, Any]:
    """``comparison`` of summary.json: the contract's keys against ``stream_all`` (top level
    for EDGE-QI, and per policy) and a ``vs`` block per policy per baseline that ran."""
    comparison: dict[str, Any] = {
        "baseline": BASELINE,
        "baselines": [b for b in BASELINES if b in policies],
    }
    per_policy: dict[str, dict[str, Any]] = {}
    for name, m in policies.items():
        entry: dict[str, Any] = {}
        if BASELINE in policies:
            stream = against(m, policies[BASELINE])
            entry["bandwidth_reduction"] = stream["bandwidth_reduction"]
            entry["energy_saving"] = stream["energy_saving"]
        entry["vs"] = {b: against(m, policies[b]) for b in BASELINES if b in policies and b != name}
        per_policy[name] = entry
    comparison["per_policy"] = per_policy
    if "edgeqi" in per_policy and BASELINE in policies:
        comparison["bandwidth_reduction"] = per_policy["edgeqi"]["bandwidth_reduction"]
        comparison["energy_saving"] = per_policy["edgeqi"]["energy_saving"]
    return comparison


def summarise(run: ScenarioRun) -> dict[str, Any]:
    scn = run.config
    policies = {name: r.metrics for name, r in run.policies.items()}
    comparison = comparison_block(policies)
    sim_seconds = scn.duration_s
    nodes = scn.node_count
    wall = run.wall_seconds
    node_seconds = nodes * sim_seconds * len(run.policies)
    summary: dict[str, Any] = {
        "scenario": {
            "city": scn.city.name,
            "network": scn.network.name,
            "energy": scn.energy.name,
            "device": scn.energy.device.name,
            "workload": scn.workload.name,
            "faults": scn.faults.name,
            "consensus": scn.consensus.name,
            "weather": scn.weather.name,
            "start_time": scn.start_time,
            "policies": {name: DESCRIPTIONS[name] for name in run.policies},
        },
        "policies": policies,
        "scoring": {
            "tolerance_s": scn.scoring.tolerance_s,
            "rule": "a report detects an episode only if seen between its onset and the end "
            "of its effect (+ tolerance_s), at its place; every other report is a false alarm",
        },
        "comparison": comparison,
        "sim": {
            "nodes": nodes,
            "intersections": scn.intersections,
            "sim_seconds": sim_seconds,
            "seed": scn.seed,
            "wall_seconds": round(wall, 3),
            "node_seconds_per_wall_second": round(node_seconds / wall, 1) if wall > 0 else None,
            "policy_wall_seconds": {n: round(r.wall_seconds, 3) for n, r in run.policies.items()},
            "peak_rss_mib": round(run.peak_rss_mib, 1),
        },
    }
    if run.traffic is not None:  # world=sumo; a native run's summary is unchanged
        summary["scenario"]["world"] = scn.world.name
        traffic = dict(run.traffic)
        summary["sim"][SUMO_WALL_CLOCK_KEY] = traffic.pop(SUMO_WALL_CLOCK_KEY)
        summary["traffic"] = traffic
    return summary


def write_tables(run: ScenarioRun, out: Path) -> list[Path]:
    """Tidy per-event tables, one row per record, a ``policy`` column where it applies."""
    written = []

    def concat(attr: str) -> pd.DataFrame:
        frames = [getattr(r, attr).assign(policy=name) for name, r in run.policies.items()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    for name, frame in (
        ("messages", concat("messages")),
        ("reports", concat("reports")),
        ("episodes", concat("episodes")),
        ("timeseries", concat("timeseries")),
        ("queues", run.queues),
    ):
        path = out / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        written.append(path)
    return written


def write_summary(summary: dict[str, Any], out: Path) -> Path:
    path = out / "summary.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return path


def comparison_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row per policy for the console table."""
    per = summary["comparison"].get("per_policy", {})

    def fmt(v: object, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    rows = []
    for name, m in summary["policies"].items():
        c = per.get(name, {})
        rows.append(
            [
                name,
                fmt(m["bytes_sent"] / 1e6, ".1f"),
                fmt(c.get("bandwidth_reduction"), ".1%"),
                fmt(m["energy_j"] / 1e3, ".1f"),
                fmt(c.get("energy_saving"), ".1%"),
                fmt(m["anomaly_recall"], ".3f"),
                fmt(m["anomaly_precision"], ".3f"),
                fmt(m["anomaly_f1"], ".3f"),
                fmt(m["detection_delay_s_p50"], ".1f"),
                fmt(m["false_alarms_per_node_hour"], ".2f"),
                fmt(m["critical_deadline_miss_rate"], ".4f"),
                fmt(m["alert_latency_ms_p99"], ".0f"),
            ]
        )
    return rows


COMPARISON_HEADERS = [
    "policy",
    "MB sent",
    "bw saved",
    "kJ",
    "energy saved",
    "recall",
    "precision",
    "F1",
    "delay p50 s",
    "false/node-h",
    "crit miss",
    "alert p99 ms",
]
