"""Alert rules evaluated server-side on every flush of newly ingested messages.

A rule is ``metric op threshold`` (optionally for one node), with a severity, an
action (``notify``: live push only; ``webhook``: live push plus an HTTP POST) and a
cooldown per (rule, node) so a sustained condition fires once per cooldown.
"""

from __future__ import annotations

import logging
import operator
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, insert, select

from backend.core.orm import AlertRow, AlertRule
from backend.ingest.store import Accepted, NodeLoss
from edgeqi.protocol import (
    AnomalyReport,
    DetectionBatch,
    Heartbeat,
    LogLevel,
    LogRecord,
    Message,
    QueueObservation,
)

log = logging.getLogger(__name__)

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def _hb(attr: str) -> Callable[[Message], float | None]:
    def get(m: Message) -> float | None:
        if not isinstance(m, Heartbeat):
            return None
        v = getattr(m, attr)
        return None if v is None else float(v)

    return get


def _queue(attr: str) -> Callable[[Message], float | None]:
    def get(m: Message) -> float | None:
        if not isinstance(m, QueueObservation):
            return None
        v = getattr(m, attr)
        return None if v is None else float(v)

    return get


def _anomaly(attr: str) -> Callable[[Message], float | None]:
    def get(m: Message) -> float | None:
        return float(getattr(m, attr)) if isinstance(m, AnomalyReport) else None

    return get


def _detections(m: Message) -> float | None:
    return float(len(m.detections)) if isinstance(m, DetectionBatch) else None


def _log_error(m: Message) -> float | None:
    if not isinstance(m, LogRecord):
        return None
    return 1.0 if m.level == LogLevel.ERROR else 0.0


MESSAGE_METRICS: dict[str, Callable[[Message], float | None]] = {
    "heartbeat.battery_soc": _hb("battery_soc"),
    "heartbeat.power_w": _hb("power_w"),
    "heartbeat.temp_c": _hb("temp_c"),
    "heartbeat.cpu": _hb("cpu"),
    "heartbeat.dropped": _hb("dropped"),
    "heartbeat.rtt_ms": lambda m: m.link.rtt_ms if isinstance(m, Heartbeat) else None,
    "heartbeat.link_loss": lambda m: m.link.loss if isinstance(m, Heartbeat) else None,
    "queue.vehicles": _queue("vehicles"),
    "queue.length_m": _queue("length_m"),
    "queue.wait_s": _queue("wait_s"),
    "anomaly.score": _anomaly("score"),
    "anomaly.significance": _anomaly("significance"),
    "detections.count": _detections,
    "log.error": _log_error,
}
NODE_METRICS = ("node.lost",)
METRICS = tuple(MESSAGE_METRICS) + NODE_METRICS


class AlertEvaluator:
    """Holds the enabled rules (reloaded after CRUD or every ``reload_s``) and cooldowns."""

    def __init__(self, engine: Engine, reload_s: float = 5.0) -> None:
        self.engine = engine
        self.reload_s = reload_s
        self._rules: list[AlertRule] = []
        self._loaded_at = -1e18
        self._last_fired: dict[tuple[int, str], float] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Force a reload before the next evaluation (called by the rules API)."""
        with self._lock:
            self._loaded_at = -1e18

    def _rules_now(self, conn: Connection) -> list[AlertRule]:
        now = time.monotonic()
        with self._lock:
            if now - self._loaded_at > self.reload_s:
                query = select(AlertRule.__table__).where(AlertRule.enabled.is_(True))
                self._rules = [_detached(r) for r in conn.execute(query).mappings()]
                self._loaded_at = now
            return list(self._rules)

    # One pass over the flush's messages with one case per rule metric: a table of cases reads
    # better in one place than spread over helpers (ruff's complexity limits, knowingly exceeded).
    def __call__(  # noqa: C901, PLR0912
        self, conn: Connection, new: list[Accepted], nodes: dict[str, NodeLoss]
    ) -> list[dict[str, Any]]:
        """Evaluate rules against the new messages; insert and return the fired alerts."""
        rules = self._rules_now(conn)
        if not rules:
            return []
        fired: list[dict[str, Any]] = []
        for rule in rules:
            check = OPS.get(rule.op)
            if check is None:
                continue
            candidates: list[tuple[str, float, int]] = []
            if rule.metric in MESSAGE_METRICS:
                get = MESSAGE_METRICS[rule.metric]
                for item in new:
                    if rule.node_id and item.message.node_id != rule.node_id:
                        continue
                    value = get(item.message)
                    if value is not None:
                        candidates.append((item.message.node_id, value, item.received_ms))
            elif rule.metric == "node.lost":
                stamp = max((i.received_ms for i in new), default=0)
                for loss in nodes.values():
                    if not rule.node_id or loss.node_id == rule.node_id:
                        candidates.append((loss.node_id, float(loss.lost), stamp))
            for node_id, value, stamp in candidates:
                if not check(value, rule.threshold):
                    continue
                key = (rule.id, node_id)
                last = self._last_fired.get(key)
                if last is not None and stamp - last < rule.cooldown_s * 1000:
                    continue
                self._last_fired[key] = stamp
                fired.append(
                    {
                        "rule_id": rule.id,
                        "node_id": node_id,
                        "severity": rule.severity,
                        "message": (
                            f"{rule.name}: {rule.metric} = {value:g} {rule.op} {rule.threshold:g}"
                        ),
                        "value": value,
                        "created_ms": stamp,
                        "acknowledged": False,
                    }
                )
        if fired:
            ids = conn.execute(insert(AlertRow).returning(AlertRow.id), fired).scalars().all()
            for row, alert_id in zip(fired, ids, strict=True):
                row["id"] = alert_id
            by_id = {r.id: r for r in rules}
            for row in fired:
                rule = by_id[row["rule_id"]]
                row["action"] = rule.action
                row["webhook_url"] = rule.webhook_url
        return fired


def _detached(mapping: Any) -> AlertRule:
    """A plain rule object built from a row mapping, independent of any session."""
    return AlertRule(**dict(mapping))


def post_webhooks(alerts: list[dict[str, Any]], timeout_s: float) -> None:
    """POST each webhook alert; failures are logged, never raised into ingest."""
    for alert in alerts:
        url = alert.get("webhook_url")
        if alert.get("action") != "webhook" or not url:
            continue
        body = {k: v for k, v in alert.items() if k not in ("webhook_url", "action")}
        try:
            httpx.post(url, json=body, timeout=timeout_s)
        except httpx.HTTPError as exc:
            log.warning("webhook %s failed: %s", url, exc)
