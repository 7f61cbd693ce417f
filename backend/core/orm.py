"""SQLAlchemy 2 models: the relational schema shared by SQLite and PostgreSQL.

Times are stored as integer epoch milliseconds (``*_ms``) rather than timestamps:
integer division buckets them identically in both dialects, comparisons are exact,
and the column can serve as a TimescaleDB integer time dimension.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base; the metadata is what Alembic's initial revision mirrors."""


class _OneMessage:
    """The columns of a table with one row per accepted message of one kind.

    ``(node_id, seq)`` is unique (idempotent ingest) and ``ts_ms`` indexed (time-range
    reads); :func:`_one_message_args` names both per table. ``sort_order`` keeps these
    columns first, where the migrations and the export put them.
    """

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True, sort_order=-1)
    node_id: Mapped[str] = mapped_column(String(64), sort_order=-1)
    seq: Mapped[int] = mapped_column(BigInteger, sort_order=-1)
    ts_ms: Mapped[int] = mapped_column(BigInteger, sort_order=-1)
    received_ms: Mapped[int] = mapped_column(BigInteger, sort_order=-1)


def _one_message_args(name: str, *more: Index) -> tuple[UniqueConstraint | Index, ...]:
    """``__table_args__`` of a :class:`_OneMessage` table, its constraints named after ``name``."""
    return (
        UniqueConstraint("node_id", "seq", name=f"uq_{name}_node_seq"),
        Index(f"ix_{name}_ts", "ts_ms"),
        *more,
    )


class Node(Base):
    """One camera node: identity, credentials, last known state and delivery counters.

    ``lost`` is derived, not stored: ``max_seq - min_seq + 1 - received`` counts the
    sequence numbers never seen, which stays right when messages arrive out of order.
    """

    __tablename__ = "nodes"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    intersection: Mapped[str | None] = mapped_column(String(128))
    registered_ms: Mapped[int | None] = mapped_column(BigInteger)
    mqtt_hash: Mapped[str | None] = mapped_column(String(256))
    first_seen_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_seen_ms: Mapped[int | None] = mapped_column(BigInteger, index=True)
    min_seq: Mapped[int | None] = mapped_column(BigInteger)
    max_seq: Mapped[int | None] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    bytes_received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    discarded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    deferred: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    dropped: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    battery_soc: Mapped[float | None] = mapped_column(Float)
    power_w: Mapped[float | None] = mapped_column(Float)
    mode: Mapped[str | None] = mapped_column(String(16))
    tier_kbps: Mapped[int | None] = mapped_column(Integer)
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    bandwidth_kbps: Mapped[float | None] = mapped_column(Float)
    link_loss: Mapped[float | None] = mapped_column(Float)
    uptime_s: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    approach: Mapped[str | None] = mapped_column(String(128))
    """Where the node is, from the newest heartbeat that said so (migration 0007)."""


class MessageRow(Base):
    """The ingest ledger: one row per accepted ``(node_id, seq)``, the idempotence key.

    Heartbeats, queue observations and commands keep their payload here (they are the
    telemetry); other kinds have their own tables and keep only the ledger entry.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("node_id", "seq", name="uq_messages_node_seq"),
        Index("ix_messages_kind_received", "kind", "received_ms"),
        Index("ix_messages_node_kind_ts", "node_id", "kind", "ts_ms"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    received_ms: Mapped[int] = mapped_column(BigInteger)
    size_bytes: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str | None] = mapped_column(Text)


class DetectionRow(Base):
    """One detected object; ``(node_id, seq, idx)`` names it within its message."""

    __tablename__ = "detections"
    __table_args__ = (
        UniqueConstraint("node_id", "seq", "idx", name="uq_detections_node_seq_idx"),
        Index("ix_detections_ts", "ts_ms"),
        Index("ix_detections_node_id", "node_id", "id"),
        Index("ix_detections_cls_ts", "cls", "ts_ms"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    idx: Mapped[int] = mapped_column(Integer)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    received_ms: Mapped[int] = mapped_column(BigInteger)
    intersection: Mapped[str] = mapped_column(String(128))
    cls: Mapped[str] = mapped_column(String(128))
    conf: Mapped[float] = mapped_column(Float)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    w: Mapped[float] = mapped_column(Float)
    h: Mapped[float] = mapped_column(Float)
    track: Mapped[int | None] = mapped_column(BigInteger)


class AnomalyRow(_OneMessage, Base):
    """A transmitted anomaly report."""

    __tablename__ = "anomalies"
    __table_args__ = _one_message_args(
        "anomalies", Index("ix_anomalies_node_ts", "node_id", "ts_ms")
    )

    observed_ms: Mapped[int] = mapped_column(BigInteger)
    intersection: Mapped[str] = mapped_column(String(128))
    approach: Mapped[str] = mapped_column(String(128))
    anomaly: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    baseline: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    significance: Mapped[float] = mapped_column(Float)


class BatchRow(_OneMessage, Base):
    """A deferred-observation batch summary as received (data kept compressed)."""

    __tablename__ = "batches"
    __table_args__ = _one_message_args("batches")

    window_start_ms: Mapped[int] = mapped_column(BigInteger)
    window_end_ms: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(16))
    data: Mapped[str] = mapped_column(Text)
    mean_vehicles: Mapped[float] = mapped_column(Float)
    max_vehicles: Mapped[float] = mapped_column(Float)


class ConsensusRow(_OneMessage, Base):
    """One relayed consensus protocol message; rounds are grouped by (cluster, view, number)."""

    __tablename__ = "consensus_rounds"
    __table_args__ = _one_message_args(
        "consensus", Index("ix_consensus_round", "cluster", "view", "number")
    )

    cluster: Mapped[str] = mapped_column(String(128))
    phase: Mapped[str] = mapped_column(String(128))
    view: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(128))


class LogRow(Base):
    """A log line from a node (``seq`` set) or from the backend itself (``seq`` null)."""

    __tablename__ = "logs"
    __table_args__ = (
        UniqueConstraint("node_id", "seq", name="uq_logs_node_seq"),
        Index("ix_logs_ts", "ts_ms"),
        Index("ix_logs_node_ts", "node_id", "ts_ms"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    received_ms: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[str] = mapped_column(String(16))
    logger: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)


class QuarantineRow(Base):
    """A payload that was refused, kept for inspection with the reason it was refused."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_received", "received_ms"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    received_ms: Mapped[int] = mapped_column(BigInteger)


class RollupRow(Base):
    """Per-minute aggregate per (node, class, approach); analytics read these, not raw rows.

    ``cls`` is a detection class, ``queue`` for queue observations (``total`` sums
    vehicles) or ``anomaly:<type>`` for anomaly reports; ``approach`` is empty for
    detections, which carry none.
    """

    __tablename__ = "rollups"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cls: Mapped[str] = mapped_column(String(160), primary_key=True)
    approach: Mapped[str] = mapped_column(String(128), primary_key=True)
    intersection: Mapped[str] = mapped_column(String(128), default="")
    n: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_rollups_minute", "minute_ms"),)


class RollupLevelRow(Base):
    """A coarser rollup level's row: per (level, node, bucket, class, intersection, approach).

    Why: at about one batch per camera a minute the per-minute, per-node rollups hold
    as many rows as raw detections, so all-node and multi-day queries gain nothing
    from them. ``level`` is an id from :data:`backend.analytics.rollups.LEVELS`, which says
    the resolution and which dimensions are kept; the others hold ``""`` (the class
    holds its metric, e.g. ``*detections``). :mod:`backend.analytics.queries` picks the level.
    """

    __tablename__ = "rollup_levels"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cls: Mapped[str] = mapped_column(String(160), primary_key=True)
    intersection: Mapped[str] = mapped_column(String(128), primary_key=True)
    approach: Mapped[str] = mapped_column(String(128), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_rollup_levels_area", "level", "intersection", "bucket_ms"),
        Index("ix_rollup_levels_time", "level", "bucket_ms"),
    )


class User(Base):
    """A dashboard/API user; ``password_hash`` is argon2id."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class AlertRule(Base):
    """``metric op threshold`` on ingested messages, optionally for one node only."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    metric: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float] = mapped_column(Float)
    node_id: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    cooldown_s: Mapped[float] = mapped_column(Float)
    for_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class AlertRow(Base):
    """One alert of one rule for one series (node, or node and approach), over its life.

    ``state`` goes ``pending`` (the condition holds, not yet for the rule's ``for_s``) to
    ``firing`` to ``resolved`` (the condition stopped holding); a pending alert whose
    condition clears is resolved without ever firing (``fired_ms`` stays null).
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_created", "created_ms"),
        Index("ix_alerts_state", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alert_rules.id", ondelete="SET NULL")
    )
    node_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="firing", server_default="firing")
    intersection: Mapped[str | None] = mapped_column(String(128))
    approach: Mapped[str | None] = mapped_column(String(64))
    fired_ms: Mapped[int | None] = mapped_column(BigInteger)
    resolved_ms: Mapped[int | None] = mapped_column(BigInteger)
    updated_ms: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_ms: Mapped[int | None] = mapped_column(BigInteger)
    silence_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alert_silences.id", ondelete="SET NULL")
    )


class AlertSilence(Base):
    """Mutes notifications (live push, webhooks) of matching alerts between two instants.

    A silence matches on every matcher it sets (rule, node, intersection); alerts are
    still evaluated and stored while silenced, marked with the silence that muted them.
    """

    __tablename__ = "alert_silences"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alert_rules.id", ondelete="CASCADE")
    )
    node_id: Mapped[str | None] = mapped_column(String(64))
    intersection: Mapped[str | None] = mapped_column(String(128))
    starts_ms: Mapped[int] = mapped_column(BigInteger)
    ends_ms: Mapped[int] = mapped_column(BigInteger)
    comment: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class DashboardSettings(Base):
    """Dashboard preferences as a JSON document per scope.

    ``scope`` is ``"site"`` (shared settings; operators and admins change them) or
    ``"user:<username>"`` (that user's overview layout and personal choices).
    """

    __tablename__ = "dashboard_settings"

    scope: Mapped[str] = mapped_column(String(96), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(64))
