"""System status (computed from stored data) and dependency health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Engine, and_, func, not_, select, text

from backend.api.deps import DB, RuntimeDep, Viewer
from backend.api.schemas import Health, SystemStatus
from backend.core.db import now_ms
from backend.core.orm import AlertRow, MessageRow, Node, QuarantineRow, RollupRow
from backend.ingest.recent_window import WINDOW_MS, Recent

router = APIRouter(prefix="/api/system", tags=["system"])


def _is_detection_class() -> Any:
    return and_(RollupRow.cls != "queue", not_(RollupRow.cls.like("anomaly:%")))


def compute_status(db: DB, rt: RuntimeDep) -> dict[str, Any]:
    """Every figure is a query over what ingest stored; nothing is a constant."""
    now = now_ms()
    active_since = now - int(rt.settings.active_node_window_s * 1000)
    nodes = db.execute(
        select(
            func.count(Node.node_id),
            func.coalesce(func.sum(Node.received), 0),
            func.coalesce(func.sum(Node.bytes_received), 0),
            func.coalesce(func.sum(Node.discarded), 0),
            func.coalesce(func.sum(Node.deferred), 0),
            func.coalesce(func.sum(Node.max_seq - Node.min_seq + 1 - Node.received), 0),
        )
    ).one()
    active = db.execute(
        select(func.count(Node.node_id), func.avg(Node.power_w), func.avg(Node.battery_soc)).where(
            Node.last_seen_ms >= active_since
        )
    ).one()
    detections_total = db.scalar(
        select(func.coalesce(func.sum(RollupRow.n), 0)).where(_is_detection_class())
    )
    minute_ago = now - WINDOW_MS
    recent = recent_messages(db, rt, now)
    detections_last_min = db.scalar(
        select(func.coalesce(func.sum(RollupRow.n), 0)).where(
            _is_detection_class(), RollupRow.minute_ms >= minute_ago - 60_000
        )
    )
    quarantined = db.scalar(select(func.count(QuarantineRow.id)))
    open_alerts = db.scalar(
        select(func.count(AlertRow.id)).where(
            AlertRow.state == "firing", AlertRow.acknowledged.is_(False)
        )
    )
    received, discarded, deferred = int(nodes[1]), int(nodes[3]), int(nodes[4])
    observations = received + discarded + deferred
    return {
        "nodes": int(nodes[0]),
        "active_nodes": int(active[0]),
        "messages_total": received,
        "messages_lost": max(int(nodes[5] or 0), 0),
        "detections_total": int(detections_total or 0),
        "detections_last_2min": int(detections_last_min or 0),
        "messages_last_min": recent.messages,
        "ingest_kbps_last_min": recent.size_bytes * 8 / 1000 / 60,
        "latency_ms_mean_last_min": recent.latency_ms_mean,
        "bytes_received_total": int(nodes[2]),
        "observations_not_transmitted_fraction": (
            (discarded + deferred) / observations if observations else None
        ),
        "power_w_mean_active": None if active[1] is None else float(active[1]),
        "battery_soc_mean_active": None if active[2] is None else float(active[2]),
        "quarantined_total": int(quarantined or 0),
        "alerts_open": int(open_alerts or 0),
        "ingest_pending": rt.ingestor.stats()["pending"],
        "uptime_s": now / 1000 - rt.started,
        "computed_at_ms": now,
    }


def recent_messages(db: DB, rt: RuntimeDep, now: int) -> Recent:
    """The last minute from the ingestor's window when this process is the one that
    stores (the single-process layout); otherwise from the ledger, which another
    process writes."""
    if rt.ingests:
        return rt.ingestor.recent.at(now)
    return recent_from_table(db, now)


def recent_from_table(db: DB, now: int) -> Recent:
    """The last minute counted in the ledger (a scan of a minute of rows)."""
    row = db.execute(
        select(
            func.count(MessageRow.id),
            func.coalesce(func.sum(MessageRow.size_bytes), 0),
            func.avg(MessageRow.received_ms - MessageRow.ts_ms),
        ).where(MessageRow.kind.in_(_KINDS), MessageRow.received_ms >= now - WINDOW_MS)
    ).one()
    return Recent(int(row[0]), int(row[1]), None if row[2] is None else float(row[2]))


_KINDS = ("heartbeat", "queue", "anomaly", "batch", "detections", "consensus", "log", "command")


@router.get("/status", response_model=SystemStatus)
def status_(db: DB, rt: RuntimeDep, _: Viewer) -> dict[str, Any]:
    """Nodes, activity, volumes, latency, savings: all computed from stored data."""
    return compute_status(db, rt)


def db_ok(engine: Engine) -> tuple[bool, str]:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True, engine.dialect.name
    except Exception as exc:  # report, never raise, from a health probe
        return False, str(exc)[:200]


@router.get("/health", response_model=Health)
def health(rt: RuntimeDep, _: Viewer) -> dict[str, Any]:
    """Reachability of the database, the broker and the cache."""
    ok, detail = db_ok(rt.engine)
    if not rt.ingests:
        broker = {"ok": True, "mode": "none: an `edgeqi ingest` worker consumes the broker"}
    elif rt.mqtt is None:
        broker = {"ok": True, "mode": "in-process bus"}
    else:
        broker = {
            "ok": rt.mqtt.connected,
            "mode": "mqtt",
            "address": f"{rt.mqtt.address.host}:{rt.mqtt.address.port}",
            "received": rt.mqtt.received,
        }
    cache = (
        {"ok": True, "mode": "disabled"}
        if rt.cache is None
        else {"ok": rt.cache.ping(), "mode": "redis"}
    )
    overall = ok and bool(broker["ok"]) and bool(cache["ok"])
    return {
        "ok": overall,
        "role": rt.settings.role,
        "database": {"ok": ok, "detail": detail},
        "broker": broker,
        "cache": cache,
        "ingest": rt.ingestor.stats(),
    }
