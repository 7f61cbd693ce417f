"""Batched, idempotent writes of validated messages (and of refused payloads).

One flush is one transaction: the ledger insert ``ON CONFLICT (node_id, seq) DO
NOTHING RETURNING`` tells which messages are new, and only those produce derived rows,
rollup increments, node counters and alerts. A redelivered message therefore changes
nothing but the duplicate counter, on SQLite and PostgreSQL alike, and across replicas.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from backend.analytics import rollups
from backend.core.orm import (
    AnomalyRow,
    Base,
    BatchRow,
    ConsensusRow,
    DetectionRow,
    LogRow,
    MessageRow,
    Node,
    QuarantineRow,
    RollupLevelRow,
    RollupRow,
)
from backend.ingest import pg_copy
from edgeqi.protocol import (
    AnomalyReport,
    BatchSummary,
    ConsensusMessage,
    DetectionBatch,
    Heartbeat,
    LogRecord,
    Message,
    QueueObservation,
)

TELEMETRY_KINDS = frozenset({"heartbeat", "queue", "command"})
"""Kinds whose payload the ledger keeps; the others are stored in their own tables."""

MINUTE_MS = 60_000


@dataclass(slots=True)
class Accepted:
    """A validated message waiting for its flush; ``ack`` runs after the commit."""

    topic: str
    payload: bytes
    received_ms: int
    message: Message
    ack: Callable[[], None] | None = None
    pushed: bool = False
    """Already pushed live on acceptance (see ``FreshGate``); the flush does not push it again."""


@dataclass(slots=True)
class Refused:
    """A payload that failed validation, with the counted reason."""

    topic: str
    payload: bytes
    received_ms: int
    reason: str
    detail: str
    ack: Callable[[], None] | None = None


@dataclass(slots=True)
class NodeLoss:
    """Delivery counters of one node after a flush."""

    node_id: str
    received: int
    lost: int


@dataclass
class WriteResult:
    """What a flush changed, for metrics, live push and acknowledgements."""

    new: list[Accepted] = field(default_factory=list)
    duplicates: int = 0
    duplicates_dropped: int = 0
    """Duplicates not quarantined because their sender's quarantine quota was spent."""
    quarantined: dict[str, int] = field(default_factory=dict)
    nodes: list[NodeLoss] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)


AlertHook = Callable[[Connection, list[Accepted], dict[str, NodeLoss]], list[dict[str, Any]]]


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def _clean(text: str) -> str:
    """Text columns hold neither NUL (PostgreSQL) nor lone surrogates; keep the rest."""
    text = text.encode("utf-8", "backslashreplace").decode()
    return text.replace("\x00", "\\x00")


class Store:
    """Writes batches to one database; safe to call from one flusher thread at a time."""

    def __init__(self, engine: Engine, quarantine_keep_bytes: int = 64 * 1024) -> None:
        self.engine = engine
        self.keep = quarantine_keep_bytes
        self.dialect = engine.dialect.name
        self.copy = self.dialect == "postgresql"
        self._statements: dict[tuple[str, tuple[str, ...]], Any] = {}
        """PostgreSQL: ledger and detections through ``COPY`` (:mod:`backend.ingest.pg_copy`)."""
        self._insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        self._least: Callable[..., ColumnElement[Any]] = (
            func.least if self.dialect == "postgresql" else func.min
        )
        self._greatest: Callable[..., ColumnElement[Any]] = (
            func.greatest if self.dialect == "postgresql" else func.max
        )

    # -- public -----------------------------------------------------------------------

    def write(
        self,
        accepted: Sequence[Accepted],
        refused: Sequence[Refused],
        alert_hook: AlertHook | None = None,
        keep_duplicate: Callable[[Accepted], bool] | None = None,
    ) -> WriteResult:
        """Store one batch in one transaction and report what was new.

        A message whose ``(node_id, seq)`` is already stored is quarantined as
        ``duplicate`` when ``keep_duplicate`` allows it (the sender's quota), else only
        counted in ``duplicates_dropped``; a node replaying old messages fills its own
        quarantine budget like any other junk.
        """
        result = WriteResult()
        with self.engine.begin() as conn:
            new, all_dups = self._ledger(conn, accepted)
            dups = [d for d in all_dups if keep_duplicate is None or keep_duplicate(d)]
            result.new = new
            result.duplicates = len(all_dups)
            result.duplicates_dropped = len(all_dups) - len(dups)
            quarantine = [
                (r.topic, r.payload, r.received_ms, r.reason, r.detail) for r in refused
            ] + [
                (
                    d.topic,
                    d.payload,
                    d.received_ms,
                    "duplicate",
                    f"{d.message.node_id}/{d.message.seq} already stored",
                )
                for d in dups
            ]
            self._quarantine(conn, quarantine, result.quarantined)
            if new:
                self._derived(conn, new)
                self._rollups(conn, new)
                losses = self._nodes(conn, new)
                result.nodes = list(losses.values())
                if alert_hook is not None:
                    result.alerts = alert_hook(conn, new, losses)
        return result

    def quarantine_only(self, items: Iterable[tuple[str, bytes, int, str, str]]) -> dict[str, int]:
        """Quarantine payloads outside a normal flush (e.g. a message the database refused)."""
        counts: dict[str, int] = {}
        with self.engine.begin() as conn:
            self._quarantine(conn, list(items), counts)
        return counts

    # -- steps ------------------------------------------------------------------------

    def _ledger(
        self, conn: Connection, accepted: Sequence[Accepted]
    ) -> tuple[list[Accepted], list[Accepted]]:
        first: dict[tuple[str, int], Accepted] = {}
        dups: list[Accepted] = []
        for item in accepted:
            key = (item.message.node_id, item.message.seq)
            if key in first:
                dups.append(item)
            else:
                first[key] = item
        if not first:
            return [], dups
        rows = [
            (
                m.message.node_id,
                m.message.seq,
                m.message.kind,
                ms(m.message.ts),
                m.received_ms,
                len(m.payload),
                m.payload.decode() if m.message.kind in TELEMETRY_KINDS else None,
            )
            for m in first.values()
        ]
        if self.copy:
            inserted = pg_copy.merge_ledger(conn, rows)
        else:
            stmt = (
                self._insert(MessageRow)
                .on_conflict_do_nothing(index_elements=["node_id", "seq"])
                .returning(MessageRow.node_id, MessageRow.seq)
            )
            params = [dict(zip(pg_copy.LEDGER_COLUMNS, row, strict=True)) for row in rows]
            inserted = {(r[0], r[1]) for r in conn.execute(stmt, params)}
        new = [m for k, m in first.items() if k in inserted]
        dups.extend(m for k, m in first.items() if k not in inserted)
        return new, dups

    def _quarantine(
        self,
        conn: Connection,
        items: list[tuple[str, bytes, int, str, str]],
        counts: dict[str, int],
    ) -> None:
        if not items:
            return
        rows = []
        for topic, payload, received_ms, reason, detail in items:
            counts[reason] = counts.get(reason, 0) + 1
            rows.append(
                {
                    "topic": _clean(topic)[:1024],
                    "payload": payload[: self.keep],
                    "size_bytes": len(payload),
                    "reason": reason[:32],
                    "detail": _clean(detail)[:2000],
                    "received_ms": received_ms,
                }
            )
        conn.execute(insert(QuarantineRow), rows)

    def _derived(self, conn: Connection, new: list[Accepted]) -> None:
        per_table: dict[type[Base], list[dict[str, Any]]] = defaultdict(list)
        detections: list[tuple[Any, ...]] = []
        for item in new:
            m, rec = item.message, item.received_ms
            base = {"node_id": m.node_id, "seq": m.seq, "ts_ms": ms(m.ts), "received_ms": rec}
            if isinstance(m, DetectionBatch):
                frame_ms = ms(m.frame_ts)
                where = (m.node_id, m.seq)
                place = (frame_ms, rec, m.intersection)
                detections.extend(
                    (*where, idx, *place, d.cls, d.conf, *d.box, d.track)
                    for idx, d in enumerate(m.detections)
                )
            elif isinstance(m, AnomalyReport):
                per_table[AnomalyRow].append(
                    base
                    | {
                        "observed_ms": ms(m.observed_at),
                        "intersection": m.intersection,
                        "approach": m.approach,
                        "anomaly": m.anomaly.value,
                        "priority": m.priority.value,
                        "value": m.value,
                        "baseline": m.baseline,
                        "score": m.score,
                        "significance": m.significance,
                    }
                )
            elif isinstance(m, BatchSummary):
                per_table[BatchRow].append(
                    base
                    | {
                        "window_start_ms": ms(m.window_start),
                        "window_end_ms": ms(m.window_end),
                        "count": m.count,
                        "codec": m.codec,
                        "data": m.data,
                        "mean_vehicles": m.mean_vehicles,
                        "max_vehicles": m.max_vehicles,
                    }
                )
            elif isinstance(m, ConsensusMessage):
                per_table[ConsensusRow].append(
                    base
                    | {
                        "cluster": m.cluster,
                        "phase": m.phase,
                        "view": m.view,
                        "number": m.number,
                        "digest": m.digest,
                    }
                )
            elif isinstance(m, LogRecord):
                per_table[LogRow].append(
                    base | {"level": m.level.value, "logger": m.logger, "message": m.message}
                )
        if detections and self.copy:
            pg_copy.copy_rows(conn, "detections", pg_copy.DETECTION_COLUMNS, detections)
        elif detections:
            cols = pg_copy.DETECTION_COLUMNS
            per_table[DetectionRow] = [dict(zip(cols, row, strict=True)) for row in detections]
        for model, rows in per_table.items():
            conn.execute(insert(model), rows)

    def _rollups(self, conn: Connection, new: list[Accepted]) -> None:
        agg: dict[tuple[str, int, str, str], list[Any]] = {}

        def add(key: tuple[str, int, str, str], intersection: str, value: float) -> None:
            cur = agg.get(key)
            if cur is None:
                agg[key] = [intersection, 1, value, value]
            else:
                cur[1] += 1
                cur[2] += value
                cur[3] = max(cur[3], value)

        for item in new:
            m = item.message
            if isinstance(m, DetectionBatch):
                minute = ms(m.frame_ts) // MINUTE_MS * MINUTE_MS
                for d in m.detections:
                    add((m.node_id, minute, d.cls, ""), m.intersection, d.conf)
            elif isinstance(m, QueueObservation):
                minute = ms(m.ts) // MINUTE_MS * MINUTE_MS
                add((m.node_id, minute, "queue", m.approach), m.intersection, m.vehicles)
            elif isinstance(m, AnomalyReport):
                minute = ms(m.observed_at) // MINUTE_MS * MINUTE_MS
                key = (m.node_id, minute, f"anomaly:{m.anomaly.value}", m.approach)
                add(key, m.intersection, m.score)
        if not agg:
            return
        rows = [
            {
                "node_id": k[0],
                "minute_ms": k[1],
                "cls": k[2][:160],
                "approach": k[3],
                "intersection": v[0],
                "n": v[1],
                "total": v[2],
                "max": v[3],
            }
            for k, v in sorted(agg.items())
        ]
        self._upsert(
            conn,
            RollupRow,
            rows,
            lambda ins: ins.on_conflict_do_update(
                index_elements=["node_id", "minute_ms", "cls", "approach"],
                set_=self._increments(RollupRow, ins),
            ),
        )
        self._upsert(
            conn,
            RollupLevelRow,
            rollups.fold(rows),
            lambda ins: ins.on_conflict_do_update(
                index_elements=["level", "node_id", "bucket_ms", "cls", "intersection", "approach"],
                set_=self._increments(RollupLevelRow, ins),
            ),
        )

    def _increments(self, model: Any, ins: Any) -> dict[str, Any]:
        """Add ``n`` and ``total``, keep the greater ``max``: a rollup row's merge."""
        ex = ins.excluded
        return {
            "n": model.n + ex.n,
            "total": model.total + ex.total,
            "max": self._greatest(model.max, ex.max),
        }

    def _upsert(
        self,
        conn: Connection,
        model: type[Base],
        rows: list[dict[str, Any]],
        finish: Callable[[Any], Any],
    ) -> None:
        """One flush's rows into ``model`` with the conflict clause ``finish`` adds: staged
        through COPY and merged by one statement on PostgreSQL, executemany on SQLite."""
        if not rows:
            return
        table: Any = model.__table__
        key = (table.name, tuple(rows[0]))
        stmt = self._statements.get(key)
        if stmt is None:  # built once: building the clause costs more than running it
            stmt = self._statements[key] = (
                pg_copy.upsert_statement(table, key[1], finish)
                if self.copy
                else finish(self._insert(model))
            )
        if self.copy:
            pg_copy.upsert_from_stage(conn, table, rows, stmt)
        else:
            conn.execute(stmt, rows)

    def _nodes(self, conn: Connection, new: list[Accepted]) -> dict[str, NodeLoss]:
        per: dict[str, dict[str, Any]] = {}
        latest_hb: dict[str, Heartbeat] = {}
        for item in new:
            m = item.message
            row = per.get(m.node_id)
            if row is None:
                row = per[m.node_id] = {
                    "node_id": m.node_id,
                    "intersection": None,
                    "first_seen_ms": item.received_ms,
                    "last_seen_ms": item.received_ms,
                    "min_seq": m.seq,
                    "max_seq": m.seq,
                    "received": 0,
                    "bytes_received": 0,
                    "discarded": 0,
                    "deferred": 0,
                    "dropped": 0,
                }
            row["received"] += 1
            row["bytes_received"] += len(item.payload)
            row["min_seq"] = min(row["min_seq"], m.seq)
            row["max_seq"] = max(row["max_seq"], m.seq)
            row["first_seen_ms"] = min(row["first_seen_ms"], item.received_ms)
            row["last_seen_ms"] = max(row["last_seen_ms"], item.received_ms)
            if isinstance(m, QueueObservation | DetectionBatch | AnomalyReport):
                row["intersection"] = m.intersection
            if isinstance(m, Heartbeat):
                row["discarded"] += m.discarded
                row["deferred"] += m.deferred
                row["dropped"] += m.dropped
                if m.intersection is not None:
                    row["intersection"] = m.intersection
                prev = latest_hb.get(m.node_id)
                if prev is None or (m.ts, m.seq) >= (prev.ts, prev.seq):
                    latest_hb[m.node_id] = m
        rows = []
        for node_id in sorted(per):
            row = per[node_id]
            hb = latest_hb.get(node_id)
            row.update(
                {
                    "battery_soc": hb.battery_soc if hb else None,
                    "power_w": hb.power_w if hb else None,
                    "mode": hb.mode.value if hb else None,
                    "tier_kbps": hb.tier_kbps if hb else None,
                    "rtt_ms": hb.link.rtt_ms if hb else None,
                    "bandwidth_kbps": hb.link.bandwidth_kbps if hb else None,
                    "link_loss": hb.link.loss if hb else None,
                    "uptime_s": hb.uptime_s if hb else None,
                    "lat": hb.location.lat if hb and hb.location else None,
                    "lon": hb.location.lon if hb and hb.location else None,
                    "approach": hb.approach if hb else None,
                }
            )
            rows.append(row)
        self._upsert(conn, Node, rows, self._node_merge)
        got = conn.execute(
            select(Node.node_id, Node.min_seq, Node.max_seq, Node.received).where(
                Node.node_id.in_(sorted(per))
            )
        )
        out: dict[str, NodeLoss] = {}
        for node_id, lo, hi, received in got:
            lost = (hi - lo + 1 - received) if lo is not None and hi is not None else 0
            out[node_id] = NodeLoss(node_id, received, max(lost, 0))
        return out

    def _node_merge(self, ins: Any) -> Any:
        """Counters add up, first/last seen and the seq range widen, the newest
        heartbeat's state wins."""
        ex = ins.excluded
        co = func.coalesce
        return ins.on_conflict_do_update(
            index_elements=["node_id"],
            set_={
                "intersection": co(ex.intersection, Node.intersection),
                "first_seen_ms": co(Node.first_seen_ms, ex.first_seen_ms),
                "last_seen_ms": self._greatest(co(Node.last_seen_ms, 0), ex.last_seen_ms),
                "min_seq": self._least(co(Node.min_seq, ex.min_seq), ex.min_seq),
                "max_seq": self._greatest(co(Node.max_seq, ex.max_seq), ex.max_seq),
                "received": Node.received + ex.received,
                "bytes_received": Node.bytes_received + ex.bytes_received,
                "discarded": Node.discarded + ex.discarded,
                "deferred": Node.deferred + ex.deferred,
                "dropped": Node.dropped + ex.dropped,
                **{
                    name: co(getattr(ex, name), getattr(Node, name))
                    for name in (
                        "battery_soc",
                        "power_w",
                        "mode",
                        "tier_kbps",
                        "rtt_ms",
                        "bandwidth_kbps",
                        "link_loss",
                        "uptime_s",
                        "lat",
                        "lon",
                        "approach",
                    )
                },
            },
        )
