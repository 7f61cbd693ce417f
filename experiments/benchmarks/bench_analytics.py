"""Analytics and detection queries on millions of detection rows in PostgreSQL.

The issue's target: analytics queries under 20 ms on 10 million detection rows. The
database is filled inside PostgreSQL (``generate_series``; default 10 M detections
from 100 cameras over 7 days, 10 per message, five classes); the per-minute rollups
and the coarser levels above them are built from those rows with the sums ingest
would have made, then each API query is timed through the real endpoint (FastAPI's
TestClient: routing, auth, validation, SQL, JSON). The reference measured in the
same run is the same 24-hour series computed from the raw ``detections`` table (what
the rollups spare) and a ``SELECT 1`` round trip.

Usage: ``python -m experiments.benchmarks.bench_analytics [--rows 10000000] [--json out.json]``.
Needs the PostgreSQL server binaries (``scripts/ensure-system-packages.sh``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from backend.analytics.rollups import rebuild_statements
from backend.app import create_app
from backend.core.db import make_engine, migrate
from backend.core.settings import Settings
from experiments.services import Postgres

CLASSES = ("car", "car", "car", "truck", "bus", "person", "bicycle")
PER_MESSAGE = 10
CHUNK = 1_000_000
ADMIN = ("bench", "bench-password-1")

FILL = text(
    """
    INSERT INTO detections
      (node_id, seq, idx, ts_ms, received_ms, intersection, cls, conf, x, y, w, h, track)
    SELECT 'cam-' || lpad((m % :nodes)::text, 3, '0'), m / :nodes, i % :per,
           :t0 + (m * :step_ms)::bigint, :t0 + (m * :step_ms)::bigint + 80,
           'int-' || lpad(((m % :nodes) / 4)::text, 3, '0'),
           (CAST(:classes AS text[]))[1 + ((i * 7919) % :nclasses)::int],
           0.5 + ((i * 31) % 50) / 100.0, (i % 640)::float, (i % 360)::float, 40, 30, i % 97
    FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint) - 1) AS i,
         LATERAL (SELECT i / :per AS m) AS msg
    """
)

ROLLUP = text(
    """
    INSERT INTO rollups (node_id, minute_ms, cls, approach, intersection, n, total, max)
    SELECT node_id, ts_ms / 60000 * 60000, cls, '', min(intersection), count(*), sum(conf),
           max(conf)
    FROM detections GROUP BY node_id, ts_ms / 60000 * 60000, cls
    """
)


def fill(engine: Engine, rows: int, nodes: int, days: float) -> tuple[float, float]:
    """Insert ``rows`` detections ending now; return (first, last) timestamps in seconds."""
    messages = rows // PER_MESSAGE
    span_ms = days * 86_400_000
    t0 = int(time.time() * 1000 - span_ms)
    step_ms = span_ms / messages
    started = time.perf_counter()
    for lo in range(0, rows, CHUNK):
        hi = min(rows, lo + CHUNK)
        with engine.begin() as conn:
            conn.execute(
                FILL,
                {
                    "nodes": nodes,
                    "per": PER_MESSAGE,
                    "t0": t0,
                    "step_ms": step_ms,
                    "classes": list(CLASSES),
                    "nclasses": len(CLASSES),
                    "lo": lo,
                    "hi": hi,
                },
            )
        print(f"  detections {hi:>11,} / {rows:,}  ({time.perf_counter() - started:.0f} s)")
    with engine.begin() as conn:
        conn.execute(ROLLUP)
        for stmt in rebuild_statements():
            conn.execute(stmt)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("detections", "rollups", "rollup_levels"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    print(f"  rollups built, tables analysed ({time.perf_counter() - started:.0f} s)")
    return t0 / 1000, t0 / 1000 + span_ms / 1000


def timed(call: Callable[[], object], reps: int, warmup: int = 3) -> list[float]:
    """Milliseconds of ``reps`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    out = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def getter(
    client: TestClient, path: str, params: dict[str, Any], headers: dict[str, str]
) -> Callable[[], object]:
    """One API call, failing loudly on a non-2xx answer so no error is timed as a result."""

    def call() -> object:
        return client.get(path, params=params, headers=headers).raise_for_status()

    return call


def summary(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "mean": statistics.fmean(ms),
    }


def api_queries(end: float) -> dict[str, tuple[str, dict[str, Any]]]:
    """The endpoints an operator's dashboard calls, with realistic ranges."""
    day = end - 86_400
    return {
        "series 24 h, 5 min buckets, all nodes": (
            "/api/analytics/series",
            {"metric": "detections", "bucket_s": 300, "since": day},
        ),
        "series 24 h, 5 min buckets, one node": (
            "/api/analytics/series",
            {"metric": "detections", "bucket_s": 300, "since": day, "node_id": "cam-007"},
        ),
        "series 7 d, 1 h buckets, one intersection": (
            "/api/analytics/series",
            {"metric": "detections", "bucket_s": 3600, "intersection": "int-003"},
        ),
        "distribution by class, 1 h": (
            "/api/analytics/distribution",
            {"metric": "detections", "by": "cls", "since": end - 3600},
        ),
        "distribution by node, 24 h": (
            "/api/analytics/distribution",
            {"metric": "detections", "by": "node_id", "since": day},
        ),
        "detections page: one node and class, 1 h": (
            "/api/detections",
            {"node_id": "cam-007", "cls": "bus", "since": end - 3600, "limit": 100},
        ),
    }


RAW_SERIES = text(
    """
    SELECT ts_ms / 300000 * 300000 AS b, count(*), sum(conf), max(conf)
    FROM detections WHERE ts_ms >= :since GROUP BY b ORDER BY b
    """
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="detection rows")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--target-ms", type=float, default=20.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    pg = Postgres()
    pg.start()
    results: dict[str, dict[str, float]] = {}
    try:
        url = pg.create_database("bench")
        migrate(url)
        engine = make_engine(url)
        print(f"filling {args.rows:,} detections from {args.nodes} nodes over {args.days} days")
        _, end = fill(engine, args.rows, args.nodes, args.days)
        with engine.connect() as conn:
            rollups = conn.execute(text("SELECT count(*) FROM rollups")).scalar_one()
            coarse = conn.execute(text("SELECT count(*) FROM rollup_levels")).scalar_one()
        settings = Settings(
            env="test",
            database_url=url,
            secret_key="bench-" + "x" * 40,
            admin_username=ADMIN[0],
            admin_password=ADMIN[1],
            retention_interval_s=86_400,
            migrate_on_start=False,
        )
        with TestClient(create_app(settings)) as client:
            login = client.post(
                "/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for name, (path, params) in api_queries(end).items():
                first = client.get(path, params=params, headers=headers)
                first.raise_for_status()
                body = first.json()
                size = len(body.get("points", body.get("items", [])))
                results[name] = summary(timed(getter(client, path, params, headers), args.reps))
                if path == "/api/detections" and body.get("next_cursor"):
                    page2 = {**params, "cursor": body["next_cursor"]}
                    results[f"{name}: next cursor page"] = summary(
                        timed(getter(client, path, page2, headers), args.reps)
                    )
                print(f"  {name}: {size} rows, p99 {results[name]['p99']:.1f} ms")
        with engine.connect() as conn:
            results["reference: same 24 h series from raw detections (SQL)"] = summary(
                timed(
                    lambda: conn.execute(RAW_SERIES, {"since": int((end - 86_400) * 1000)}).all(),
                    max(5, args.reps // 10),
                    warmup=1,
                )
            )
            results["reference: SELECT 1 round trip (SQL)"] = summary(
                timed(lambda: conn.execute(text("SELECT 1")).all(), args.reps)
            )
        engine.dispose()
    finally:
        pg.stop()

    print(
        f"\n{args.rows:,} detections, {rollups:,} per-minute rollup rows, {coarse:,} coarser "
        f"rollup rows, {args.nodes} nodes, "
        f"{args.days:g} days; {args.reps} timed calls each through the API (TestClient)\n"
    )
    print("| query | p50 ms | p95 ms | p99 ms | under target |")
    print("|---|---:|---:|---:|---|")
    for name, r in results.items():
        verdict = "-" if name.startswith("reference") else str(r["p99"] < args.target_ms).lower()
        print(f"| {name} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {verdict} |")
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
