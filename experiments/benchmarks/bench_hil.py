"""Hardware-in-the-loop load at several scales, each an ``edgeqi loadtest`` run of its own.

For each ``NODES:SPEED:SECONDS`` the load test runs the city's nodes in real time (a
speed factor multiplies every node's rate), 50 API users and 5 WebSocket clients
against a private Mosquitto, PostgreSQL and backend, with the default SLOs. The
reference of each run, measured in that run before the backend subscribes, is the
raw broker rate (``experiments/benchmarks/bench_ingest.py``'s count-only subscriber). Prints a
Markdown table and the largest load at which every SLO held.

Usage: ``python -m experiments.benchmarks.bench_hil [--run 1000:6:30 --run 100:1:60 ...]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_RUNS = ["1000:6:30", "1000:1:30", "300:1:30", "100:1:60", "20:1:30"]


def one(nodes: int, speed: float, seconds: float, out: Path, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "experiments.cli", "loadtest", f"hydra.run.dir={out}"]
    cmd += [f"nodes={nodes}", f"realtime.speed={speed}", f"duration_s={seconds}", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    path = out / "loadtest.json"
    if not path.exists():
        raise RuntimeError(f"loadtest wrote no report:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(path.read_text())
    report["exit_code"] = done.returncode
    return report


def row(r: dict[str, Any]) -> str:
    t, d, lat = r["throughput"], r["delivery"], r["latency"]
    raw = t.get("raw_broker") or {}
    failed = [c["objective"] for c in r["slos"] if c["ok"] is False]
    return (
        f"| {r['load']['nodes']} | {r['load']['speed']:g} | "
        f"{t['detections_per_min_published']:,.0f} | {t['detections_per_min_persisted']:,.0f} | "
        f"{t['messages_per_s_persisted']:,.0f} | {raw.get('messages_per_s', 0):,.0f} | "
        f"{t.get('ingest_to_raw_broker_ratio', '-')} | {r['api']['all API calls']['p99']} | "
        f"{lat['publish_to_ws_ms']['p99']} | {lat['publish_to_persist_ms']['p99']} | "
        f"{d['lost']} | {d['duplicates']} | {r['generator']['simulator_lag']['max_lag_s']} | "
        f"{'all met' if not failed else 'missed: ' + ', '.join(failed)} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", help="NODES:SPEED:SECONDS (repeatable)")
    parser.add_argument("--json", type=Path, help="write every report here")
    parser.add_argument("extra", nargs="*", help="more loadtest overrides for every run")
    args = parser.parse_args(argv)
    reports = []
    with tempfile.TemporaryDirectory(prefix="edgeqi-bench-hil-") as tmp:
        for i, spec in enumerate(args.run or DEFAULT_RUNS):
            nodes, speed, seconds = spec.split(":")
            print(f"run {spec} ...", file=sys.stderr, flush=True)
            extra = ["loadtest.load.plots=false", *args.extra]
            out = Path(tmp) / f"run-{i}"
            reports.append(one(int(nodes), float(speed), float(seconds), out, extra))
    print(
        "| nodes | speed | detections/min published | persisted | messages/s persisted | "
        "raw broker messages/s | ingest / raw | API p99 ms | WS p99 ms | persist p99 ms | "
        "lost | duplicates | max lag s | SLOs |"
    )
    print("|" + "---:|" * 13 + "---|")
    for r in reports:
        print(row(r))
    passed = [r for r in reports if all(c["ok"] is not False for c in r["slos"])]
    best = max(passed, key=lambda r: r["throughput"]["detections_per_min_persisted"], default=None)
    if best is None:
        print("\nno run met every SLO")
    else:
        print(
            f"\nlargest load meeting every SLO: {best['load']['nodes']} nodes, "
            f"{best['throughput']['detections_per_min_persisted']:,.0f} detections/min"
        )
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
