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
WALL_CLOCK_KEYS = ("wall_seconds", "node_seconds_per_wall_second", "policy_wall_seconds")
"""The only keys of summary.json that depend on the machine rather than the seed..."""
SUMO_WALL_CLOCK_KEY = "sumo_wall_seconds"
"""...and the one more that a world=sumo run adds under ``sim``."""


def _fraction_saved(value: float, reference: float) -> float | None:
    if reference <= 0:
        return None
    return round(1.0 - value / reference, 6)


def summarise(run: ScenarioRun) -> dict[str, Any]:
    scn = run.config
    policies = {name: r.metrics for name, r in run.policies.items()}
    comparison: dict[str, Any] = {"baseline": BASELINE}
    if BASELINE in policies:
        base = policies[BASELINE]
        per_policy = {}
        for name, m in policies.items():
            per_policy[name] = {
                "bandwidth_reduction": _fraction_saved(
                    float(m["bytes_sent"]),  # type: ignore[arg-type]
                    float(base["bytes_sent"]),  # type: ignore[arg-type]
                ),
                "energy_saving": _fraction_saved(
                    float(m["energy_j"]),  # type: ignore[arg-type]
                    float(base["energy_j"]),  # type: ignore[arg-type]
                ),
            }
        comparison["per_policy"] = per_policy
        if "edgeqi" in per_policy:
            comparison.update(per_policy["edgeqi"])
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
        "comparison": comparison,
        "sim": {
            "nodes": nodes,
            "intersections": scn.intersections,
            "sim_seconds": sim_seconds,
            "seed": scn.seed,
            "wall_seconds": round(wall, 3),
            "node_seconds_per_wall_second": round(node_seconds / wall, 1) if wall > 0 else None,
            "policy_wall_seconds": {n: round(r.wall_seconds, 3) for n, r in run.policies.items()},
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
    "delay p50 s",
    "false/node-h",
    "crit miss",
    "alert p99 ms",
]
