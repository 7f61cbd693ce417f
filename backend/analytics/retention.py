"""Retention: detections 30 days, metrics (telemetry, rollups, ...) 90 days, logs 7 days.

Enforced by plain ``DELETE``s on every database backend (also on TimescaleDB, where
it costs more than ``drop_chunks`` but behaves identically), in bounded batches so
a long backlog never holds one huge transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import InstrumentedAttribute

from backend.analytics.rollups import LEVELS
from backend.core.orm import (
    AlertRow,
    AnomalyRow,
    BatchRow,
    ConsensusRow,
    DetectionRow,
    LogRow,
    MessageRow,
    QuarantineRow,
    RollupLevelRow,
    RollupRow,
)
from backend.core.settings import Settings

DAY_MS = 86_400_000
CHUNK = 50_000


@dataclass(frozen=True)
class Policy:
    """How long each table keeps rows, in days."""

    detections_days: float
    metrics_days: float
    logs_days: float

    @classmethod
    def from_settings(cls, s: Settings) -> Policy:
        return cls(s.retention_detections_days, s.retention_metrics_days, s.retention_logs_days)


def _targets(
    p: Policy,
) -> list[tuple[str, InstrumentedAttribute[int], InstrumentedAttribute[int], float]]:
    return [
        ("detections", DetectionRow.id, DetectionRow.ts_ms, p.detections_days),
        ("messages", MessageRow.id, MessageRow.received_ms, p.metrics_days),
        ("anomalies", AnomalyRow.id, AnomalyRow.received_ms, p.metrics_days),
        ("batches", BatchRow.id, BatchRow.received_ms, p.metrics_days),
        ("consensus_rounds", ConsensusRow.id, ConsensusRow.received_ms, p.metrics_days),
        ("alerts", AlertRow.id, AlertRow.created_ms, p.metrics_days),
        ("quarantine", QuarantineRow.id, QuarantineRow.received_ms, p.metrics_days),
        ("logs", LogRow.id, LogRow.ts_ms, p.logs_days),
    ]


def enforce(engine: Engine, policy: Policy, now_ms: int | None = None) -> dict[str, int]:
    """Delete everything older than its table's horizon; return rows deleted per table."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    deleted: dict[str, int] = {}
    for name, id_col, time_col, days in _targets(policy):
        cutoff = now - int(days * DAY_MS)
        total = 0
        while True:
            with engine.begin() as conn:
                ids = select(id_col).where(time_col < cutoff).limit(CHUNK).scalar_subquery()
                n = conn.execute(delete(id_col.class_).where(id_col.in_(ids))).rowcount
            total += n
            if n < CHUNK:
                break
        deleted[name] = total
    with engine.begin() as conn:
        cutoff = now - int(policy.metrics_days * DAY_MS)
        deleted["rollups"] = conn.execute(
            delete(RollupRow).where(RollupRow.minute_ms < cutoff)
        ).rowcount
        deleted["rollup_levels"] = conn.execute(
            delete(RollupLevelRow).where(
                RollupLevelRow.level.in_([lv.id for lv in LEVELS]),  # leads the time index
                RollupLevelRow.bucket_ms < cutoff,
            )
        ).rowcount
    return deleted
