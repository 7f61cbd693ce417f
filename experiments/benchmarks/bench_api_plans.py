"""What the load test's API users cost the database: each statement they ran, with its plan.

Starts a PostgreSQL whose load-test database logs every statement with its duration and
parameters, runs ``edgeqi loadtest`` against it (any overrides given after ``--``), then
groups the logged ``SELECT`` statements by text (the load test's own ledger poll left out:
it is the generator's, not a user's) and, for the costliest, runs ``EXPLAIN ANALYZE`` on
the data the run left (analysed, as autovacuum keeps a database in service), once at the
newest schema and once at ``--before`` (Alembic
downgrade: the indexes of later revisions gone), so that a new index is judged on the
load test's own data size and queries. The durations are the server's, from its log.

    python -m experiments.benchmarks.bench_api_plans -- duration_s=30
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from alembic import command

from backend.core.db import alembic_config, make_engine
from experiments.services import Postgres

_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[(\d+)\] (\w+):  (.*)$")
_EXECUTE = re.compile(r"^duration: ([\d.]+) ms  (?:execute [^:]+|statement): (.*)$", re.S)
_PARAM = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")
_LEDGER = ("FROM messages WHERE id >", "SELECT node_id, seq FROM messages")


@dataclass
class Statement:
    sql: str
    ms: list[float] = field(default_factory=list)
    slowest: tuple[float, list[str]] = (-1.0, [])


def _entries(log: str) -> list[tuple[str, str, str]]:
    """(pid, level, text) of each log entry, continuation lines joined."""
    out: list[tuple[str, str, str]] = []
    for line in log.splitlines():
        m = _ENTRY.match(line)
        if m:
            out.append((m[1], m[2], m[3]))
        elif out:
            pid, level, text = out[-1]
            out[-1] = (pid, level, f"{text}\n{line}")
    return out


def statements(log: str) -> dict[str, Statement]:
    """The logged ``SELECT``s of the run by text, with durations and one set of parameters."""
    found: dict[str, Statement] = {}
    last: dict[str, tuple[Statement, float]] = {}
    for pid, level, text in _entries(log):
        if level == "DETAIL" and text.startswith("parameters:") and pid in last:
            st, ms = last.pop(pid)
            if ms >= st.slowest[0]:
                params = [v for _, v in sorted(_PARAM.findall(text), key=lambda p: int(p[0]))]
                st.slowest = (ms, params)
            continue
        m = _EXECUTE.match(text) if level == "LOG" else None
        if m is None:
            continue
        sql = m[2].strip()
        if not sql.upper().startswith(("SELECT", "WITH")) or any(s in sql for s in _LEDGER):
            continue
        st = found.setdefault(sql, Statement(sql))
        st.ms.append(float(m[1]))
        last[pid] = (st, float(m[1]))
        if st.slowest[0] < 0:
            st.slowest = (float(m[1]), [])
    return found


def _scans(plan: dict[str, Any]) -> list[str]:
    """Every scan of a plan tree as 'Index Scan using ix on t' / 'Seq Scan on t'."""
    node = plan["Node Type"]
    here = []
    if "Scan" in node:
        using = f" using {plan['Index Name']}" if "Index Name" in plan else ""
        here.append(f"{node}{using} on {plan.get('Relation Name', '?')}")
    return here + [s for child in plan.get("Plans", []) for s in _scans(child)]


def explain(url: str, st: Statement) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the statement with its slowest run's parameters."""
    params = st.slowest[1]
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"PREPARE q AS {st.sql}")
        args = f"({', '.join(params)})" if params else ""
        row = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE q{args}").fetchone()
        conn.execute("DEALLOCATE q")
    assert row is not None
    top = row[0][0]
    return {
        "ms": round(top["Planning Time"] + top["Execution Time"], 3),
        "rows_read": _rows_read(top["Plan"]),
        "scans": sorted(set(_scans(top["Plan"]))),
    }


def _rows_read(plan: dict[str, Any]) -> int:
    """Rows the scans produced plus those their filters removed, over all loops."""
    here = 0
    if "Scan" in plan["Node Type"]:
        loops = plan.get("Actual Loops", 1)
        here = int((plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)) * loops)
    return here + sum(_rows_read(c) for c in plan.get("Plans", []))


def _at(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            if revision == "head":
                command.upgrade(cfg, "head")
            else:
                command.downgrade(cfg, revision)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="0004", help="schema revision to compare with")
    parser.add_argument("--top", type=int, default=12, help="statements by total time")
    parser.add_argument("--json", type=Path)
    parser.add_argument("overrides", nargs="*", help="edgeqi loadtest overrides")
    args = parser.parse_args(argv)
    pg = Postgres()
    pg.start()
    try:
        url = pg.create_database("loadtest")
        admin = f"host=127.0.0.1 port={pg.port} user={pg.user} dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("ALTER DATABASE loadtest SET log_min_duration_statement = 0")
        with tempfile.TemporaryDirectory(prefix="edgeqi-bench-plans-") as tmp:
            cmd = [sys.executable, "-m", "experiments.cli", "loadtest", f"hydra.run.dir={tmp}"]
            cmd += [f"loadtest.services.database_url={url}", *args.overrides]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            report = json.loads((Path(tmp) / "loadtest.json").read_text())
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("ALTER DATABASE loadtest RESET log_min_duration_statement")
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
            c.execute("ANALYZE")  # the statistics autovacuum keeps on a database in service
        found = statements((pg.data.parent / "pg.log").read_text(errors="replace"))
        ranked = sorted(found.values(), key=lambda s: -sum(s.ms))[: args.top]
        after = [explain(url, st) for st in ranked]
        _at(url, args.before)
        before = [explain(url, st) for st in ranked]
        _at(url, "head")
    finally:
        pg.stop()
    rows = []
    print(f"loadtest exit {done.returncode}; {report['delivery']['stored']} messages stored")
    print("| statement | calls | total ms | p99 ms | before: ms, rows read, scans | after |")
    print("|---|---:|---:|---:|---|---|")
    for st, b, a in zip(ranked, before, after, strict=True):
        short = " ".join(st.sql.split())[:160]
        p99 = float(np.percentile(st.ms, 99))
        print(
            f"| `{short}` | {len(st.ms)} | {sum(st.ms):.0f} | {p99:.2f} | "
            f"{b['ms']}, {b['rows_read']}, {'; '.join(b['scans'])} | "
            f"{a['ms']}, {a['rows_read']}, {'; '.join(a['scans'])} |"
        )
        rows.append({"sql": st.sql, "calls": len(st.ms), "ms": st.ms, "before": b, "after": a})
    total = sum(sum(st.ms) for st in found.values())
    print(f"\nserver time of every logged SELECT: {total:.0f} ms in {len(found)} statements")
    if args.json:
        args.json.write_text(json.dumps({"statements": rows, "report": report}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
