"""Schema management and retention on both dialects."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

from backend.analytics.retention import DAY_MS, Policy, enforce
from backend.analytics.rollups import LEVELS
from backend.core.db import alembic_config, make_engine, migrate
from backend.core.orm import (
    DetectionRow,
    LogRow,
    MessageRow,
    QuarantineRow,
    RollupLevelRow,
    RollupRow,
)
from backend.ingest.ingestor import Ingestor
from backend.ingest.store import Store
from tests.backend import factory as f

TABLES = {
    "nodes",
    "messages",
    "detections",
    "anomalies",
    "batches",
    "consensus_rounds",
    "logs",
    "quarantine",
    "rollups",
    "rollup_levels",
    "users",
    "alert_rules",
    "alerts",
    "dashboard_settings",
}


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    migrate(db_url)  # second run: nothing to do, nothing fails
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:
            head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
            if engine.dialect.name == "sqlite":
                assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        engine.dispose()


def test_retention_keeps_each_table_for_its_horizon(db_url: str) -> None:
    engine = make_engine(db_url)
    ingestor = Ingestor(Store(engine))
    now = f.T0 + 100 * 86_400
    ages_days = [1, 5, 8, 20, 40, 80, 100]
    for i, age in enumerate(ages_days):
        ts = now - age * 86_400
        ingestor.submit(*f.wire(f.detections("cam-1", 2 * i, n=1, ts=ts)), received_at=ts)
        ingestor.submit(*f.wire(f.log("cam-1", 2 * i + 1, ts=ts)), received_at=ts)
        ingestor.submit("edgeqi/v1/nodes/cam-1/log", b"bad", received_at=ts)
    ingestor.flush()
    deleted = enforce(engine, Policy(30, 90, 7), now_ms=int(now * 1000))
    with engine.connect() as conn:

        def n(model: type) -> int:
            return int(conn.scalar(select(func.count()).select_from(model)) or 0)

        assert n(DetectionRow) == 4  # 1, 5, 8, 20 days
        assert n(LogRow) == 2  # 1, 5 days
        assert n(MessageRow) == 12  # ledger is telemetry: 90 days
        assert n(QuarantineRow) == 6
        assert n(RollupRow) == 6
        # every coarser level keeps the same 90 days: one bucket per surviving message
        assert n(RollupLevelRow) == 6 * len(LEVELS)
        cutoff = int(now * 1000) - 30 * DAY_MS
        assert conn.scalar(select(func.min(DetectionRow.ts_ms))) >= cutoff
    assert deleted["detections"] == 3 and deleted["logs"] == 5
    assert deleted["rollup_levels"] == 1 * len(LEVELS)  # the 100-day-old message
    engine.dispose()
