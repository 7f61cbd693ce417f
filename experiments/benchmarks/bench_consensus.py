"""Consensus benchmark: the metro city with PBFT on, and the cost of each piece.

    python -m experiments.benchmarks.bench_consensus [--nodes 1000] [--sim-seconds 3600]
        [--clusters 4 8] [--intersections N] [--figure STEM] [--out bench_consensus.json]

For each cluster size (cameras per intersection) the metro scenario runs with
``consensus=pbft`` on LTE-like links: decision latency percentiles, messages per
decision beside PBFT's expected count for that cluster size, and the simulator's
wall time. ``--intersections N`` holds the number of clusters fixed instead of the
node count (``N x cameras`` nodes), so a sweep over cluster size (``--clusters 4 7
10 13``) compares clusters, not cities; ``--figure`` draws latency and messages per
decision against cluster size (PNG and PDF). In the same process, as references: a
bare ``cryptography`` Ed25519 verify, this project's signature check of a consensus
message, and the cost of a replica processing one message (a four-replica cluster
deciding in memory).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import pandas as pd
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgeqi.consensus import ClusterConfig, KeyPair, Replica, Verifier, derive_seed
from edgeqi.consensus.messages import seal, signature_ok, value_digest


def _per_call_us(fn: Any, repeat: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat * 1e6


def micro(repeat: int = 3000) -> dict[str, float]:
    """Microseconds per bare verify, per signed-message check, per processed message."""
    key = Ed25519PrivateKey.from_private_bytes(derive_seed("bench", "cam-0"))
    public = key.public_key()
    data = b"x" * 200
    sig = key.sign(data)
    bare = _per_call_us(lambda: public.verify(sig, data), repeat)
    bare_sign = _per_call_us(lambda: key.sign(data), repeat)
    members = tuple(f"cam-{i}" for i in range(4))
    pairs = {m: KeyPair(m, derive_seed("bench", m)) for m in members}
    verifier = Verifier({m: p.public for m, p in pairs.items()})
    msg = seal(
        pairs["cam-1"].signer(),
        cluster="i0000",
        phase="prepare",
        view=0,
        number=1,
        digest=value_digest("k", "v"),
        seq=1,
        ts=0.0,
    )
    check = _per_call_us(lambda: signature_ok(verifier, msg), repeat)
    # A cluster deciding in memory: every message handed to every other replica.
    cfg = ClusterConfig("i0000", members, checkpoint_interval=2, window=4)
    replicas = {
        m: Replica(cfg, pairs[m].signer(), Verifier({k: p.public for k, p in pairs.items()}))
        for m in members
    }
    processed = 0
    spent = 0.0
    decisions = 0
    rounds = max(50, repeat // 30)
    for r in range(rounds):
        queue = [
            (m, o)
            for m in members
            for o in replicas[m].request(float(r), f"k{r}", "v" * 600, broadcast=False).messages
        ]
        while queue:
            src, (to, m) = queue.pop(0)
            for dst in members if to is None else (to,):
                if dst == src:
                    continue
                started = time.perf_counter()
                out = replicas[dst].receive(float(r), m)
                spent += time.perf_counter() - started
                processed += 1
                decisions += len(out.decisions)
                queue.extend((dst, o) for o in out.messages)
    return {
        "bare_ed25519_verify_us": round(bare, 2),
        "bare_ed25519_sign_us": round(bare_sign, 2),
        "signature_check_us": round(check, 2),
        "replica_receive_us_per_message": round(spent / processed * 1e6, 2),
        "messages_processed": processed,
        "decisions": decisions,
        "messages_per_decision_in_memory": round(processed / (decisions / len(members)), 2),
    }


def metro(nodes: int, sim_seconds: float, cameras: int) -> dict[str, Any]:
    from experiments.runs.compose import run_metro_edgeqi

    extra = ["consensus=pbft", "network=lte", f"city.cameras_per_intersection={cameras}"]
    scn, run, wall = run_metro_edgeqi(nodes, sim_seconds, extra)
    m = run.policies["edgeqi"].metrics
    c = m["consensus"]
    assert isinstance(c, dict)
    deliveries = 0.0
    for level in ("intersection", "district"):
        lv = c[level]
        if lv["decisions"]:
            deliveries += lv["deliveries_per_decision"] * lv["decisions"]
    return {
        "cameras_per_intersection": cameras,
        "nodes": scn.node_count,
        "intersections": scn.intersections,
        "sim_seconds": sim_seconds,
        "wall_seconds": round(wall, 1),
        "wall_us_per_delivered_consensus_message": round(wall / deliveries * 1e6, 1)
        if deliveries
        else None,
        "energy_j": m["energy_j"],
        "consensus": c,
    }


def scale_points(metro_runs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per cluster size: intersection-level latency and messages against PBFT's count."""
    rows = []
    for r in metro_runs:
        c = r["consensus"]
        inter = c["intersection"]
        rows.append(
            {
                "cluster_size": r["cameras_per_intersection"],
                "f": (r["cameras_per_intersection"] - 1) // 3,
                "nodes": r["nodes"],
                "decisions": inter["decisions"],
                "undecided_rounds": c["undecided_rounds"],
                "latency_ms_p50": inter["decision_latency_ms_p50"],
                "latency_ms_p99": inter["decision_latency_ms_p99"],
                "publishes_per_decision": inter["messages_per_decision"],
                "expected_publishes": c["expected_pbft"]["publishes_per_decision"],
                "deliveries_per_decision": inter["deliveries_per_decision"],
                "expected_deliveries": c["expected_pbft"]["point_to_point_per_decision"],
                "bytes_per_decision": inter["bytes_per_decision"],
                "view_changes": c["view_changes"],
                "wall_seconds": r["wall_seconds"],
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--sim-seconds", type=float, default=3600.0)
    parser.add_argument("--clusters", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--intersections", type=int, default=None)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("bench_consensus.json"))
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "micro": micro(),
        "metro": [],
    }
    print(json.dumps(result["micro"], indent=1), flush=True)
    for cameras in args.clusters:
        nodes = args.nodes if args.intersections is None else args.intersections * cameras
        r = metro(nodes, args.sim_seconds, cameras)
        result["metro"].append(r)
        c = r["consensus"]
        print(
            json.dumps(
                {
                    "cameras": cameras,
                    "wall_s": r["wall_seconds"],
                    "intersection": c["intersection"],
                    "district": c["district"],
                    "expected": c["expected_pbft"],
                    "undecided": c["undecided_rounds"],
                    "view_changes": c["view_changes"],
                    "coverage_saving": c["coverage_saving_fraction"],
                    "consensus_j": c["consensus_energy_j"],
                    "saved_j": c["coverage_energy_saved_j"],
                }
            ),
            flush=True,
        )
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    points = scale_points(result["metro"])
    print(points.to_string(index=False), flush=True)
    if args.figure is not None:
        from experiments.reports.figures import consensus_scale

        consensus_scale(points, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
