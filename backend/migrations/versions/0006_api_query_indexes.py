"""Indexes for what the dashboard's users ask during a load test (issue 19).

Found by ``experiments/benchmarks/bench_api_plans.py`` (every statement of an
``edgeqi loadtest`` with its plan; BENCHMARKS.md, "Issue 19"):

- a node's latest heartbeats / queue observations (``GET /api/nodes/{id}``) read the
  node's messages newest first and kept those of the kind asked for: heartbeats come
  every 30 s among a detection batch a second, so it read every message of the node.
  ``(node_id, kind, ts_ms)`` replaces ``(node_id, ts_ms)``, which nothing else used;
- a node's newest detections (``GET /api/detections?node_id=``) are ordered by ``id``:
  ``(node_id, id)`` replaces ``(node_id, ts_ms)`` (ids grow with arrival, so a time
  range on a node still reads only that node's rows);
- a node's anomalies and logs (node detail) had only a time index: ``(node_id, ts_ms)``.

Replacing rather than adding keeps the number of indexes the ingest writes per message
and per detection as it was.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_messages_node_ts", table_name="messages")
    op.create_index("ix_messages_node_kind_ts", "messages", ["node_id", "kind", "ts_ms"])
    op.drop_index("ix_detections_node_ts", table_name="detections")
    op.create_index("ix_detections_node_id", "detections", ["node_id", "id"])
    op.create_index("ix_anomalies_node_ts", "anomalies", ["node_id", "ts_ms"])
    op.create_index("ix_logs_node_ts", "logs", ["node_id", "ts_ms"])


def downgrade() -> None:
    op.drop_index("ix_logs_node_ts", table_name="logs")
    op.drop_index("ix_anomalies_node_ts", table_name="anomalies")
    op.drop_index("ix_detections_node_id", table_name="detections")
    op.create_index("ix_detections_node_ts", "detections", ["node_id", "ts_ms"])
    op.drop_index("ix_messages_node_kind_ts", table_name="messages")
    op.create_index("ix_messages_node_ts", "messages", ["node_id", "ts_ms"])
