"""The node-detail and detections-page queries a dashboard user runs read one node's rows
through an index that also gives their order (migration 0006).

The statements are the ones the routes really send (captured from the engine), planned by
SQLite's ``EXPLAIN QUERY PLAN``; PostgreSQL's plans on a load test's data are in
BENCHMARKS.md ("Issue 19", ``experiments/benchmarks/bench_api_plans.py``).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, text

from tests.backend import factory as f
from tests.backend.test_api import ingest, runtime


def _plans(client: TestClient, headers: dict[str, str], path: str) -> dict[str, str]:
    """Table -> plan of each SELECT on a node's rows that ``GET path`` sends."""
    engine = runtime(client).engine
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "node_id = ?" in statement:
            sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path, headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for statement, params in sent:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            match = re.search(r"\bFROM\s+(\w+)", statement)
            assert match is not None
            table = match[1]
            out[table + (" " + str(params[1]) if table == "messages" else "")] = " | ".join(
                str(r[-1]) for r in rows
            )
    return out


def test_a_nodes_rows_are_read_through_an_index_that_gives_their_order(
    client: TestClient, admin: dict[str, str]
) -> None:
    ingest(
        client,
        *[f.detections(f"cam-{k}", s, n=3, ts=f.T0 + s) for k in range(3) for s in range(30)],
        *[f.heartbeat("cam-1", 100 + s, ts=f.T0 + s) for s in range(3)],
        f.anomaly("cam-1", 200),
        f.log("cam-1", 201),
    )
    page = _plans(client, admin, "/api/detections?node_id=cam-1&limit=5")
    assert "USING INDEX ix_detections_node_id (node_id=?)" in page["detections"]
    assert "TEMP B-TREE" not in page["detections"], "newest first without sorting the node"
    detail = _plans(client, admin, "/api/nodes/cam-1")
    assert "ix_messages_node_kind_ts (node_id=? AND kind=?)" in detail["messages heartbeat"]
    assert "TEMP B-TREE" not in detail["messages heartbeat"]
    assert "ix_anomalies_node_ts (node_id=?)" in detail["anomalies"]
    assert "ix_logs_node_ts (node_id=?)" in detail["logs"]
    with runtime(client).engine.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    assert not names & {"ix_messages_node_ts", "ix_detections_node_ts"}, "replaced, not added"
