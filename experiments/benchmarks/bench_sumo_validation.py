"""The native queue model against Eclipse SUMO on the same junction and demand.

    python -m experiments.benchmarks.bench_sumo_validation [--seeds 1 2 3] [--sim-seconds 1800]
        [--saturation 1800 900] [--figure STEM] [--out bench_sumo_validation.json]

One signalised junction (``city=small``), the urban workload at the scenario's start time,
fixed-time signals with an even split, no anomalies, no cameras: only the two traffic
worlds. The native world is given SUMO's demand: each approach's weight is the SUMO
source edge's weight (``sim.sumo_demand.source_weights``, rescaled so that the four arms
carry the same total). Every simulated second both worlds record each approach's queue
(SUMO: halting vehicles on the approach's lanes; native: vehicles at the stop line) and
its departures; from these, per world, the queue distribution (mean, p50, p95, max,
share of time empty), the delay per vehicle by Little's law (queued vehicle-seconds over
vehicles served, the same definition in both), throughput, and the discharge rate
measured while an approach had a queue and green (SUMO's effective saturation flow),
which is what ``--saturation`` values for the native world can be calibrated against.
SUMO's own per-vehicle time loss (tripinfo) is given beside it.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from experiments.reports import figures as figs
from experiments.runs.compose import compose_scenario
from sim.scenario_config import ScenarioConfig
from sim.sumo_demand import source_weights
from sim.sumo_network import load_city
from sim.sumo_world import SumoWorld
from sim.traffic import TrafficWorld

NO_ANOMALIES = (
    "workload.anomalies.incident_per_hour=0",
    "workload.anomalies.surge_per_hour=0",
    "workload.anomalies.emergency_per_hour=0",
)


def _scenario(seed: int, seconds: float, saturation: float | None = None) -> ScenarioConfig:
    extra = (
        [] if saturation is None else [f"workload.saturation_flow_veh_per_h_per_lane={saturation}"]
    )
    return compose_scenario(
        [
            "progress=false",
            "city=small",
            "world=sumo",
            f"seed={seed}",
            f"duration_s={seconds}",
            *NO_ANOMALIES,
            *extra,
        ]
    )


def _sumo_green(world: SumoWorld) -> np.ndarray:
    state = world.traci.trafficlight.getRedYellowGreenState(world.net.tls[0])
    green = np.zeros(4, dtype=bool)
    for k, approach in enumerate(world.net.link_approach[0]):
        if approach >= 0 and k < len(state) and state[k] in "Gg":
            green[approach] = True
    return green


def run_sumo(scn: ScenarioConfig) -> dict[str, Any]:
    world = SumoWorld(scn, scn.start_epoch_s, np.random.default_rng(scn.seed))
    edge = world.traci.edge
    queues, served, green = [], [], []
    before = None
    for t in range(int(scn.duration_s)):
        world.advance(float(t), 1.0)
        on = np.array([edge.getLastStepVehicleNumber(ap.edge) for ap in world.net.approaches[0]])
        done = world.joined[0] - on
        if before is not None:
            served.append(done - before)
        before = done
        queues.append(world.queue[0].copy())
        green.append(_sumo_green(world))
    figures = world.finish()
    return _figures(queues, served, green, scn) | {
        "time_loss_s_mean": figures["delay_s_mean"],
        "time_loss_s_p95": figures["delay_s_p95"],
        "teleported": figures["teleported"],
    }


def run_native(scn: ScenarioConfig, weights: np.ndarray) -> dict[str, Any]:
    world = TrafficWorld(
        scn.city,
        scn.workload,
        1,
        scn.start_epoch_s,
        scn.duration_s,
        np.random.default_rng(scn.seed),
    )
    world.demand_weight[0] = weights
    world.offset_s[0] = 0.0
    queues, served, green = [], [], []
    for t in range(int(scn.duration_s)):
        before = world.departed[0].copy()
        mask = world.green_mask(float(t))[0]
        world.advance(float(t), 1.0)
        served.append(world.departed[0] - before)
        queues.append(world.queue[0].copy())
        green.append(mask)
    return _figures(queues, served, green, scn)


def _figures(
    queues: list[np.ndarray], served: list[np.ndarray], green: list[np.ndarray], scn: ScenarioConfig
) -> dict[str, Any]:
    q = np.array(queues, dtype=float)
    s = np.array(served, dtype=float)
    g = np.array(green[-len(served) :], dtype=bool)
    busy = g & (q[-len(served) :] > 0)
    lanes = scn.city.lanes_per_approach
    discharge = float(s[busy].sum() / busy.sum()) * 3600.0 / lanes if busy.any() else float("nan")
    return {
        "queue": q.ravel().tolist(),
        "queue_mean": round(float(q.mean()), 3),
        "queue_p50": float(np.percentile(q, 50)),
        "queue_p95": float(np.percentile(q, 95)),
        "queue_max": float(q.max()),
        "queue_empty_share": round(float((q == 0).mean()), 4),
        "served": int(s.sum()),
        "little_delay_s": round(float(q.sum() / max(1.0, s.sum())), 3),
        "discharge_veh_per_h_per_lane": round(discharge, 1),
    }


def native_weights(scn: ScenarioConfig) -> np.ndarray:
    """SUMO's source weights as the native world's per-approach demand weights (N, E, S, W)."""
    city = load_city(scn)
    by_edge = source_weights(scn, city)
    w = np.array([by_edge[ap.edge] for ap in city.approaches[0]])
    return np.asarray(w * len(w) / w.sum())


def figure(results: list[dict[str, Any]], stem: Path) -> list[Path]:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    bins = np.arange(0, max(max(r["queue"]) for r in results) + 3) - 0.5
    for r in results:
        label = r["world"] if r["world"] == "sumo" else f"native, {r['saturation']:.0f} veh/h/lane"
        axes[0].hist(
            r["queue"], bins=bins, density=True, histtype="step", linewidth=1.6, label=label
        )
        xs = np.sort(r["queue"])
        axes[1].plot(xs, np.arange(1, len(xs) + 1) / len(xs), label=label)
    axes[0].set_xlabel("vehicles queued on an approach (every second)")
    axes[0].set_ylabel("share of approach-seconds")
    axes[1].set_xlabel("vehicles queued on an approach")
    axes[1].set_ylabel("cumulative share")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.suptitle(
        "One junction, same demand, fixed time: native queue model against SUMO", fontsize=10
    )
    return figs.save(fig, stem)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--sim-seconds", type=float, default=1800.0)
    ap.add_argument("--saturation", type=float, nargs="+", default=[1800.0])
    ap.add_argument("--figure", type=Path)
    ap.add_argument("--out", type=Path, default=Path("bench_sumo_validation.json"))
    args = ap.parse_args(argv)
    started = time.perf_counter()
    pooled: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for seed in args.seeds:
        scn = _scenario(seed, args.sim_seconds)
        pooled.setdefault(("sumo", 0.0), []).append(run_sumo(scn))
        for sat in args.saturation:
            pooled.setdefault(("native", sat), []).append(
                run_native(_scenario(seed, args.sim_seconds, sat), native_weights(scn))
            )
    results = []
    for (world, sat), runs in pooled.items():
        queue = [v for r in runs for v in r["queue"]]
        q = np.array(queue)
        row: dict[str, Any] = {"world": world, "saturation": sat, "seeds": len(runs)}
        row |= {
            "queue_mean": round(float(q.mean()), 3),
            "queue_p50": float(np.percentile(q, 50)),
            "queue_p95": float(np.percentile(q, 95)),
            "queue_max": float(q.max()),
            "queue_empty_share": round(float((q == 0).mean()), 4),
        }
        for key in ("little_delay_s", "discharge_veh_per_h_per_lane", "served"):
            row[key] = round(float(np.mean([r[key] for r in runs])), 2)
        if world == "sumo":
            for key in ("time_loss_s_mean", "time_loss_s_p95", "teleported"):
                row[key] = round(float(np.mean([r[key] for r in runs])), 2)
        results.append(row | {"queue": queue})
    written = figure(results, args.figure) if args.figure else []
    for r in results:
        del r["queue"]
    out = {
        "seeds": args.seeds,
        "sim_seconds": args.sim_seconds,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": platform.platform(),
        "results": results,
        "figures": [str(p) for p in written],
    }
    args.out.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
