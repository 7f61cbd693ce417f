"""Scale of the simulator: wall time, CPU time and peak memory against node count.

    python -m experiments.benchmarks.bench_scale [--nodes 10,30,100,300,1000,3000,10000]
                                      [--sim-seconds 600] [--city district] [--out scale.json]

Each point is one ``edgeqi run`` (policy ``edgeqi`` only, every algorithm on, no
tables or plots) in its own child process, so its peak resident memory is its own
(``os.wait4`` hands back the child's resource usage). The reference, measured in the
same run, is a child that only imports the simulator and the run command: its
memory and start-up time are the floor under every point, and the figures above it
are the simulation's. CPU seconds are given beside wall seconds because on a shared
machine the wall clock also counts other processes' turns. Node counts round up to whole
intersections of ``--city`` (its districts of 25 intersections each share a backhaul), so
10,000 nodes of the default city are the ``city=megacity`` preset's 2,500 intersections.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BASELINE = "import experiments.runs.run, sim.runner"


def _child(cmd: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024.0, 1),
    }


def measure(
    nodes: list[int], sim_seconds: float, workdir: Path, city: str = "district"
) -> dict[str, Any]:
    """The baseline child, then one run per node count; figures per point."""
    base = _child([sys.executable, "-c", BASELINE])
    points = []
    for n in nodes:
        out = workdir / f"nodes_{n}"
        fig = _child(
            [
                sys.executable,
                "-m",
                "experiments.cli",
                "run",
                f"city={city}",
                f"nodes={n}",
                f"duration_s={sim_seconds}",
                "policy.compare=[edgeqi]",
                "plots=false",
                "tables=false",
                "progress=false",
                f"hydra.run.dir={out}",
            ]
        )
        summary = json.loads((out / "summary.json").read_text())
        real_nodes = int(summary["sim"]["nodes"])
        sim_wall = float(summary["sim"]["wall_seconds"])
        points.append(
            {
                "nodes_asked": n,
                "nodes": real_nodes,
                "sim_seconds": sim_seconds,
                **fig,
                "sim_wall_s": sim_wall,
                "rss_above_baseline_mib": round(fig["peak_rss_mib"] - base["peak_rss_mib"], 1),
                "node_seconds_per_sim_wall_s": round(real_nodes * sim_seconds / sim_wall, 1),
                # CPU above the import-only child: what the simulation itself cost, whatever
                # else shared the machine.
                "node_seconds_per_cpu_s": round(
                    real_nodes * sim_seconds / max(fig["cpu_s"] - base["cpu_s"], 1e-3), 1
                ),
            }
        )
    return {"city": city, "baseline": base, "points": points}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", default="10,30,100,300,1000,3000,10000")
    ap.add_argument("--city", default="district", help="city preset the node counts scale")
    ap.add_argument("--sim-seconds", type=float, default=600.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    nodes = [int(x) for x in args.nodes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(nodes, args.sim_seconds, Path(tmp), args.city)
    b = result["baseline"]
    print(f"baseline (imports only): wall {b['wall_s']} s, peak RSS {b['peak_rss_mib']} MiB")
    print(f"baseline CPU {b['cpu_s']} s")
    print(
        "| nodes | sim s | wall s | CPU s | loop wall s | node-s per loop s | node-s per CPU s "
        "| peak RSS MiB | above base |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in result["points"]:
        print(
            f"| {p['nodes']} | {p['sim_seconds']:g} | {p['wall_s']} | {p['cpu_s']} | "
            f"{p['sim_wall_s']} | {p['node_seconds_per_sim_wall_s']:,.0f} | "
            f"{p['node_seconds_per_cpu_s']:,.0f} | "
            f"{p['peak_rss_mib']} | {p['rss_above_baseline_mib']} |"
        )
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
