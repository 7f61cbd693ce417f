"""Simulator speed benchmark: EDGE-QI's metro city against LEAF on the same device count.

    python -m experiments.benchmarks.bench_sim --nodes 1000 --sim-seconds 3600 [--out bench.json]

Each side runs in its own child process (one core each, one after the other) so that
its peak resident memory is its own. The EDGE-QI side is the full node core (every
algorithm on) over the metro scenario; the LEAF side (``leafsim`` on PyPI, Wiesner
& Thamsen 2021) models the same number of camera devices, each streaming to a fog
node and on to the cloud through LEAF's application, data-flow and power-meter
model, with one power reading per device per second, for the same simulated time.
The figure to compare is device-seconds simulated per wall second.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def run_edgeqi(nodes: int, sim_seconds: float) -> dict[str, Any]:
    from experiments.runs.compose import run_metro_edgeqi

    scn, run, wall = run_metro_edgeqi(nodes, sim_seconds)
    metrics = run.policies["edgeqi"].metrics
    return {
        "tool": "edgeqi",
        "nodes": scn.node_count,
        "sim_seconds": sim_seconds,
        "wall_seconds": round(wall, 2),
        "node_seconds_per_wall_second": round(scn.node_count * sim_seconds / wall, 1),
        "messages": metrics["messages_sent"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_leaf(nodes: int, sim_seconds: float) -> dict[str, Any]:
    import simpy
    from leaf.application import Application, ProcessingTask, SinkTask, SourceTask
    from leaf.infrastructure import Infrastructure, Link, Node
    from leaf.orchestrator import Orchestrator
    from leaf.power import PowerMeter, PowerModelLink, PowerModelNode

    class FogPlacement(Orchestrator):
        def __init__(self, infrastructure: Infrastructure, fog: Node) -> None:
            super().__init__(infrastructure)
            self.fog = fog

        def _processing_task_placement(self, processing_task: Any, application: Any) -> Node:
            return self.fog

    infra = Infrastructure()
    cloud = Node("cloud", power_model=PowerModelNode(power_per_cu=700e-6))
    fog = Node("fog", cu=nodes * 10, power_model=PowerModelNode(max_power=300, static_power=30))
    infra.add_link(
        Link(fog, cloud, bandwidth=10e9, latency=20, power_model=PowerModelLink(6.58e-9))
    )
    cameras = []
    for k in range(nodes):
        cam = Node(f"camera{k}", cu=10, power_model=PowerModelNode(max_power=5, static_power=2))
        infra.add_link(
            Link(cam, fog, bandwidth=5e6, latency=40, power_model=PowerModelLink(300e-9))
        )
        cameras.append(cam)
    orchestrator = FogPlacement(infra, fog)
    for cam in cameras:
        app = Application()
        source = SourceTask(cu=2, bound_node=cam)
        app.add_task(source)
        processing = ProcessingTask(cu=5)
        app.add_task(processing, incoming_data_flows=[(source, 1000)])
        sink = SinkTask(cu=0, bound_node=cloud)
        app.add_task(sink, incoming_data_flows=[(processing, 200)])
        orchestrator.place(app)
    env = simpy.Environment()
    meters = [PowerMeter(cam, name=cam.name, measurement_interval=1) for cam in cameras]
    meters.append(PowerMeter(infra, name="infrastructure", measurement_interval=1))
    started = time.perf_counter()
    for meter in meters:
        env.process(meter.run(env))
    env.run(until=sim_seconds)
    wall = time.perf_counter() - started
    return {
        "tool": "leaf",
        "nodes": nodes,
        "sim_seconds": sim_seconds,
        "wall_seconds": round(wall, 2),
        "node_seconds_per_wall_second": round(nodes * sim_seconds / wall, 1),
        "measurements": sum(len(m.measurements) for m in meters),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def child(tool: str, nodes: int, sim_seconds: float) -> dict[str, Any]:
    return run_edgeqi(nodes, sim_seconds) if tool == "edgeqi" else run_leaf(nodes, sim_seconds)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--sim-seconds", type=float, default=3600.0)
    ap.add_argument("--out", type=Path, default=Path("outputs/bench_sim.json"))
    ap.add_argument("--child", choices=["edgeqi", "leaf"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.nodes, args.sim_seconds)))
        return 0
    results = []
    for tool in ("edgeqi", "leaf"):
        cmd = [
            sys.executable,
            "-m",
            "experiments.benchmarks.bench_sim",
            "--child",
            tool,
            "--nodes",
            str(args.nodes),
            "--sim-seconds",
            str(args.sim_seconds),
        ]
        print(
            f"running {tool}: {args.nodes} devices, {args.sim_seconds:.0f} simulated seconds ...",
            flush=True,
        )
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    ours, leaf = results
    report = {
        "machine": f"{platform.machine()} Python {platform.python_version()}",
        "results": results,
        "ratio_node_seconds_per_wall_second": round(
            ours["node_seconds_per_wall_second"] / leaf["node_seconds_per_wall_second"], 3
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print("| tool | devices | sim s | wall s | device-s per wall s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['tool']} | {r['nodes']} | {r['sim_seconds']:.0f} | {r['wall_seconds']} | "
            f"{r['node_seconds_per_wall_second']:.0f} | {r['peak_rss_mib']} |"
        )
    print(f"EDGE-QI / LEAF throughput ratio: {report['ratio_node_seconds_per_wall_second']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
