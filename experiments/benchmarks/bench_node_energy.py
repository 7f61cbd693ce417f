"""The field node's measured energy against the simulator's energy model, on one run.

The node (``edgeqi node``, its own process) runs on the street video with a recorded
power sensor: a ``tegrastats`` log with the Jetson Nano profile, or INA219 register
words with the Raspberry Pi 4 profile (both recorded-format fixtures in
``tests/hardware/recorded``, not captured on a board alongside this video). Its
``--record`` file holds, per step, the power it read and what it did (frames run at full
or reduced precision, the compute time the node charged for them, every message it
published). *Measured* energy is the trapezoid integral of those readings over the run;
*predicted* is :class:`sim.fleet_energy.EnergyModel` (the simulator's, unchanged) fed the same
sequence: each step's compute seconds, each message's bytes on the scenario's LTE uplink
(air time and radio tail), idle otherwise. The sensors measure the board's supply, so
the table shows the prediction with and without the radio.

    python -m experiments.benchmarks.bench_node_energy --seconds 40
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import scenarios
from edgeqi.protocol import mqtt_publish_overhead
from experiments.benchmarks.node_harness import POWER_RECORDINGS, NodeProcess, NodeSpec
from sim.fleet_energy import EnergyModel
from sim.scenario_config import EnergyConfig

SCENARIOS = Path(scenarios.__file__).parent


@dataclass
class Comparison:
    sensor: str
    profile: str
    seconds: float
    steps: int
    frames: int
    messages: int
    bytes: int
    busy_s: float
    modelled_compute_s: float
    measured_j: float
    predicted_j: float
    predicted_board_j: float
    by_state: dict[str, float]


def load_record(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def measured_j(steps: list[dict[str, Any]]) -> float:
    """Trapezoid integral of the node's power readings over its steps."""
    pts = [(float(s["t"]), float(s["power_w"])) for s in steps if s.get("power_w") is not None]
    return sum((p0 + p1) / 2 * (t1 - t0) for (t0, p0), (t1, p1) in itertools.pairwise(pts))


def predicted(
    rows: list[dict[str, Any]], profile: str, uplink_kbps: float
) -> tuple[EnergyModel, int, int]:
    """The simulator's energy model over the run's steps; (model, messages, bytes)."""
    energy = EnergyConfig.model_validate(
        yaml.safe_load((SCENARIOS / "energy" / f"{profile}.yaml").read_text())
    )
    steps = [r for r in rows if "frames" in r]
    sends = sorted(
        (r["t"], m[2] + mqtt_publish_overhead(m[3])) for r in rows for m in r.get("msgs", [])
    )
    t0 = steps[0]["t"]
    model = EnergyModel(energy, 1, uplink_kbps, t0, np.random.default_rng(0))
    on = np.ones(1, dtype=np.bool_)
    i = 0
    for step, nxt in itertools.pairwise(steps):
        air = 0.0
        while i < len(sends) and sends[i][0] < nxt["t"]:
            at, nbytes = sends[i]
            seconds = nbytes * 8.0 / (uplink_kbps * 1000.0)
            air += seconds
            model.last_air_end[0] = max(model.last_air_end[0], at - t0 + seconds)
            i += 1
        model.account(
            step["t"] - t0,
            nxt["t"] - t0,
            on,
            np.array([step["full_s"]]),
            np.array([step["reduced_s"]]),
            np.array([air]),
        )
    return model, len(sends), sum(b for _, b in sends)


def compare(sensor: str, record: Path) -> Comparison:
    rows = load_record(record)
    steps = [r for r in rows if "frames" in r]
    _, profile, _ = POWER_RECORDINGS[sensor]
    uplink = float(yaml.safe_load((SCENARIOS / "network" / "lte.yaml").read_text())["uplink_kbps"])
    model, messages, nbytes = predicted(rows, profile, uplink)
    by_state = model.by_state_j()
    board = sum(by_state[s] for s in ("idle", "sleep", "compute_full", "compute_reduced"))
    return Comparison(
        sensor=sensor,
        profile=profile,
        seconds=steps[-1]["t"] - steps[0]["t"],
        steps=len(steps),
        frames=sum(s["frames"] for s in steps),
        messages=messages,
        bytes=nbytes,
        busy_s=sum(s["busy_s"] for s in steps),
        modelled_compute_s=sum(s["full_s"] + s["reduced_s"] for s in steps),
        measured_j=measured_j(steps),
        predicted_j=model.total_j,
        predicted_board_j=board,
        by_state=by_state,
    )


def table(results: list[Comparison]) -> str:
    lines = [
        "| sensor (profile) | run s | steps | frames | msgs / bytes | node busy s "
        "| modelled compute s | measured J (W) | predicted J board (W) | difference "
        "| predicted J with radio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in results:
        diff = c.predicted_board_j - c.measured_j
        lines.append(
            f"| {c.sensor} ({c.profile}) | {c.seconds:.1f} | {c.steps} | {c.frames} "
            f"| {c.messages} / {c.bytes} | {c.busy_s:.1f} | {c.modelled_compute_s:.2f} "
            f"| {c.measured_j:.1f} ({c.measured_j / c.seconds:.2f}) "
            f"| {c.predicted_board_j:.1f} ({c.predicted_board_j / c.seconds:.2f}) "
            f"| {diff:+.1f} J ({100 * diff / c.measured_j:+.1f} %) | {c.predicted_j:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--sensor", choices=sorted(POWER_RECORDINGS), action="append")
    parser.add_argument("--record", type=Path, help="compare an existing --record file instead")
    args = parser.parse_args(argv)
    sensors = args.sensor or sorted(POWER_RECORDINGS)
    results = []
    for sensor in sensors:
        if args.record is not None:
            results.append(compare(sensor, args.record))
            continue
        with NodeProcess(NodeSpec(power=sensor, consensus=False)) as node:
            time.sleep(args.seconds)
            node.stop()
            results.append(compare(sensor, node.record))
    print(table(results))
    for c in results:
        states = ", ".join(f"{k} {v:.1f}" for k, v in c.by_state.items())
        print(f"{c.sensor}: predicted by state (J): {states}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
