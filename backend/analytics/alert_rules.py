"""Alert rules evaluated server-side, with the life cycle operators know from Prometheus.

A rule is ``metric op threshold`` (optionally for one node), with a severity, an action
(``notify``: live push only; ``webhook``: live push plus an HTTP POST), a ``for_s`` the
condition must hold before the alert fires, and a cooldown per series so a flapping
condition does not open a new alert more often than once per cooldown.

A *series* is what one alert tracks: one node, or for queue and anomaly metrics one
node's view of one approach, or for consensus one cluster. Per series an alert is
``pending`` while the condition holds for less than ``for_s``, ``firing`` after that,
and ``resolved`` at the first sample that breaks the condition. Message metrics are
evaluated on every flush of newly ingested messages; ``node.silent_s`` (a camera that
went quiet sends nothing to evaluate) on a periodic :meth:`AlertEvaluator.tick`.

The open alerts are read from the database on every pass, so a restarted or a second
replica continues them; the cooldown and the last PBFT view seen per cluster are kept
in memory, per replica.
"""

from __future__ import annotations

import logging
import operator
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, insert, select, update

from backend.core.orm import AlertRow, AlertRule, AlertSilence, Node
from backend.ingest.store import Accepted, NodeLoss
from edgeqi.protocol import (
    AnomalyReport,
    ConsensusMessage,
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

OPEN_STATES = ("pending", "firing")
TICK_S = 10.0
"""Seconds between evaluations of the time metrics (a silent camera is noticed within it)."""


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
VIEW_CHANGE = "consensus.view_change"
"""How many views a cluster's PBFT moved up since the previous consensus message."""
NODE_METRICS = ("node.lost",)
TIME_METRICS = ("node.silent_s",)
"""Seconds since a node was last heard, evaluated by the clock rather than by messages."""
METRICS = (*MESSAGE_METRICS, VIEW_CHANGE, *NODE_METRICS, *TIME_METRICS)


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of a metric for one series, at the instant it was received (ms)."""

    node_id: str
    value: float
    stamp_ms: int
    intersection: str | None = None
    approach: str | None = None
    per_node: bool = True
    """False for a cluster-wide series (a view change is the cluster's, not one node's)."""


SeriesKey = tuple[int, str, str, str]


def _place(m: Message) -> tuple[str | None, str | None]:
    if isinstance(m, QueueObservation | AnomalyReport):
        return m.intersection, m.approach
    if isinstance(m, DetectionBatch):
        return m.intersection, None
    return None, None


class AlertEvaluator:
    """Holds the enabled rules (reloaded after CRUD or every ``reload_s``) and cooldowns."""

    def __init__(self, engine: Engine, reload_s: float = 5.0) -> None:
        self.engine = engine
        self.reload_s = reload_s
        self._rules: list[AlertRule] = []
        self._loaded_at = -1e18
        self._last_opened: dict[SeriesKey, int] = {}
        self._views: dict[str, int] = {}
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

    def __call__(
        self, conn: Connection, new: list[Accepted], nodes: dict[str, NodeLoss]
    ) -> list[dict[str, Any]]:
        """Evaluate the message rules on a flush; store changes, return what to notify."""
        views = self._view_changes(new)
        rules = [r for r in self._rules_now(conn) if r.metric not in TIME_METRICS]
        if not rules:
            return []
        places = _node_places(conn, {i.message.node_id for i in new})
        samples = {r.id: _message_samples(r, new, nodes, views, places) for r in rules}
        return self._advance(conn, rules, samples)

    def tick(self, now_ms: int) -> list[dict[str, Any]]:
        """Evaluate the time metrics at ``now_ms``; store changes, return what to notify."""
        with self.engine.begin() as conn:
            rules = [r for r in self._rules_now(conn) if r.metric in TIME_METRICS]
            if not rules:
                return []
            heard = conn.execute(
                select(Node.node_id, Node.intersection, Node.last_seen_ms).where(
                    Node.last_seen_ms.is_not(None)
                )
            ).all()
            silent = [
                Sample(node, max(0.0, (now_ms - seen) / 1000), now_ms, intersection)
                for node, intersection, seen in heard
                if seen is not None
            ]
            return self._advance(conn, rules, {r.id: silent for r in rules})

    def _view_changes(self, new: list[Accepted]) -> list[Sample]:
        """One sample per consensus message: how far its view is above the cluster's last."""
        out = []
        for item in new:
            m = item.message
            if not isinstance(m, ConsensusMessage):
                continue
            before = self._views.get(m.cluster, m.view)
            self._views[m.cluster] = max(before, m.view)
            out.append(
                Sample(
                    m.node_id, float(max(0, m.view - before)), item.received_ms, m.cluster,
                    per_node=False,
                )
            )  # fmt: skip
        return out

    def _advance(
        self, conn: Connection, rules: list[AlertRule], samples: dict[int, list[Sample]]
    ) -> list[dict[str, Any]]:
        """Move every series through pending/firing/resolved; write; return the notices."""
        by_id = {r.id: r for r in rules}
        active: dict[SeriesKey, dict[str, Any]] = {}
        query = select(AlertRow.__table__).where(
            AlertRow.state.in_(OPEN_STATES), AlertRow.rule_id.in_(by_id)
        )
        for stored in conn.execute(query).mappings():
            per_node = by_id[stored["rule_id"]].metric != VIEW_CHANGE
            node = stored["node_id"] if per_node else ""
            where = (stored["intersection"] or "", stored["approach"] or "")
            active[(stored["rule_id"], node, *where)] = dict(stored)
        silences = _silences(conn, samples.values())
        changes = _Changes()
        for rule in rules:
            check = OPS.get(rule.op)
            if check is None:
                continue
            for s in samples.get(rule.id, []):
                if rule.node_id and s.node_id != rule.node_id:
                    continue
                node = s.node_id if s.per_node else ""
                key = (rule.id, node, s.intersection or "", s.approach or "")
                if check(s.value, rule.threshold):
                    self._holds(rule, s, key, active, silences, changes)
                elif key in active:
                    row: dict[str, Any] = active.pop(key)
                    row.update(state="resolved", resolved_ms=s.stamp_ms, updated_ms=s.stamp_ms)
                    changes.touch(row, notify=True)
        return changes.write(conn, by_id)

    def _holds(
        self,
        rule: AlertRule,
        s: Sample,
        key: SeriesKey,
        active: dict[SeriesKey, dict[str, Any]],
        silences: list[AlertSilence],
        changes: _Changes,
    ) -> None:
        row = active.get(key)
        if row is None:
            last = self._last_opened.get(key)
            if last is not None and s.stamp_ms - last < rule.cooldown_s * 1000:
                return
            self._last_opened[key] = s.stamp_ms
            row = {
                "rule_id": rule.id,
                "node_id": s.node_id,
                "intersection": s.intersection,
                "approach": s.approach,
                "severity": rule.severity,
                "created_ms": s.stamp_ms,
                "acknowledged": False,
                "state": "pending",
                "fired_ms": None,
                "resolved_ms": None,
                "acknowledged_by": None,
                "acknowledged_ms": None,
            }
            active[key] = row
            changes.touch(row, notify=True)
        else:
            changes.touch(row, notify=False)
        row.update(value=s.value, updated_ms=s.stamp_ms, message=_describe(rule, s))
        if row["state"] == "pending" and s.stamp_ms - row["created_ms"] >= rule.for_s * 1000:
            row.update(state="firing", fired_ms=s.stamp_ms)
            changes.touch(row, notify=True)
        if row["state"] != "resolved":
            row["silence_id"] = _silenced_by(silences, rule, s)


class _Changes:
    """The alert rows a pass created or changed, and which of them to notify about."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.notify: set[int] = set()

    def touch(self, row: dict[str, Any], *, notify: bool) -> None:
        self.rows[id(row)] = row
        if notify:
            self.notify.add(id(row))

    def write(self, conn: Connection, rules: dict[int, AlertRule]) -> list[dict[str, Any]]:
        fresh = [r for r in self.rows.values() if "id" not in r]
        stored = [r for r in self.rows.values() if "id" in r]
        if fresh:
            ids = conn.execute(insert(AlertRow).returning(AlertRow.id), fresh).scalars().all()
            for row, alert_id in zip(fresh, ids, strict=True):
                row["id"] = alert_id
        for row in stored:
            values = {k: v for k, v in row.items() if k != "id"}
            conn.execute(update(AlertRow).where(AlertRow.id == row["id"]).values(values))
        notices = []
        for key in self.notify:
            row = self.rows[key]
            if row.get("silence_id") is not None:
                continue  # stored, not announced
            rule = rules.get(row["rule_id"])
            notices.append(
                {
                    **row,
                    "action": rule.action if rule else "notify",
                    "webhook_url": rule.webhook_url if rule else None,
                }
            )
        return sorted(notices, key=lambda r: r["id"])


def _message_samples(
    rule: AlertRule,
    new: list[Accepted],
    nodes: dict[str, NodeLoss],
    views: list[Sample],
    places: dict[str, str | None],
) -> list[Sample]:
    if rule.metric == VIEW_CHANGE:
        return views
    if rule.metric == "node.lost":
        stamp = max((i.received_ms for i in new), default=0)
        return [
            Sample(loss.node_id, float(loss.lost), stamp, places.get(loss.node_id))
            for loss in nodes.values()
        ]
    get = MESSAGE_METRICS.get(rule.metric)
    if get is None:
        return []
    out = []
    for item in new:
        value = get(item.message)
        if value is None:
            continue
        intersection, approach = _place(item.message)
        node = item.message.node_id
        out.append(
            Sample(node, value, item.received_ms, intersection or places.get(node), approach)
        )
    return out


def _node_places(conn: Connection, node_ids: set[str]) -> dict[str, str | None]:
    """Each node's registered intersection, so a heartbeat alert can name where it is."""
    if not node_ids:
        return {}
    query = select(Node.node_id, Node.intersection).where(Node.node_id.in_(node_ids))
    return {node: where for node, where in conn.execute(query)}


def _silences(conn: Connection, samples: Iterable[list[Sample]]) -> list[AlertSilence]:
    stamps = [s.stamp_ms for group in samples for s in group]
    if not stamps:
        return []
    query = select(AlertSilence.__table__).where(
        AlertSilence.ends_ms > min(stamps), AlertSilence.starts_ms <= max(stamps)
    )
    return [AlertSilence(**dict(r)) for r in conn.execute(query).mappings()]


def _silenced_by(silences: list[AlertSilence], rule: AlertRule, s: Sample) -> int | None:
    for sil in silences:
        if not sil.starts_ms <= s.stamp_ms < sil.ends_ms:
            continue
        if sil.rule_id is not None and sil.rule_id != rule.id:
            continue
        if sil.node_id is not None and sil.node_id != s.node_id:
            continue
        if sil.intersection is not None and sil.intersection != s.intersection:
            continue
        return sil.id
    return None


def _describe(rule: AlertRule, s: Sample) -> str:
    """The alert's text: the rule, where (intersection, approach, camera), and the value."""
    where = s.intersection or ""
    if s.approach:
        where += f" approach {s.approach}"
    if s.per_node:
        where = f"{where} ({s.node_id})" if where else s.node_id
    return f"{rule.name} at {where}: {rule.metric} = {s.value:g} {rule.op} {rule.threshold:g}"


def _detached(mapping: Any) -> AlertRule:
    """A plain rule object built from a row mapping, independent of any session."""
    return AlertRule(**dict(mapping))


def post_webhooks(alerts: list[dict[str, Any]], timeout_s: float) -> None:
    """POST each webhook alert that fired or resolved; failures are logged, never raised."""
    for alert in alerts:
        url = alert.get("webhook_url")
        if alert.get("action") != "webhook" or not url or alert.get("state") == "pending":
            continue
        body = {k: v for k, v in alert.items() if k not in ("webhook_url", "action")}
        try:
            httpx.post(url, json=body, timeout=timeout_s)
        except httpx.HTTPError as exc:
            log.warning("webhook %s failed: %s", url, exc)
