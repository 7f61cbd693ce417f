"""Response models, so the OpenAPI document says what each route returns (issue 15).

FastAPI validates every response against its model, so a route that drifts from its
declared shape fails loudly (500 and a logged validation error) instead of handing the
dashboard or a client a body the document does not describe. Models that a router also
takes as input (``SiteSettings``, ``RegisterBody``) stay beside their router.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backend.analytics.queries import Key, Metric
from backend.core.auth import Role
from edgeqi.protocol import Heartbeat, QueueObservation


class Liveness(BaseModel):
    status: str


class SystemStatus(BaseModel):
    """Every field of `compute_status`; the dashboard's `SystemStatus` type reads them."""

    nodes: int
    active_nodes: int
    messages_total: int
    messages_lost: int
    detections_total: int
    detections_last_2min: int
    messages_last_min: int
    ingest_kbps_last_min: float
    latency_ms_mean_last_min: float | None
    bytes_received_total: int
    observations_not_transmitted_fraction: float | None
    power_w_mean_active: float | None
    battery_soc_mean_active: float | None
    quarantined_total: int
    alerts_open: int
    ingest_pending: int
    uptime_s: float
    computed_at_ms: int


class Me(BaseModel):
    """The caller as the backend sees it now (the role is reread, not the token's)."""

    username: str
    role: Role


# -- /api/system/health -------------------------------------------------------------------


class Dependency(BaseModel):
    ok: bool
    mode: str = Field(description="what serves this role: e.g. `mqtt`, `in-process bus`, `redis`")


class DatabaseHealth(BaseModel):
    ok: bool
    detail: str = Field(description="the dialect when reachable, else the error")


class BrokerHealth(Dependency):
    address: str | None = Field(default=None, description="`host:port` of the MQTT broker")
    received: int | None = Field(default=None, description="messages received from it")


class IngestStats(BaseModel):
    pending: int
    stored: int
    last_error: str | None


class Health(BaseModel):
    ok: bool = Field(description="every dependency reachable")
    role: str
    database: DatabaseHealth
    broker: BrokerHealth
    cache: Dependency
    ingest: IngestStats


# -- nodes ----------------------------------------------------------------------------------


class NodeLocation(BaseModel):
    """Where a node stands (WGS84 degrees), as its newest placed heartbeat said."""

    lat: float
    lon: float


class NodeOut(BaseModel):
    node_id: str
    intersection: str | None
    registered: bool
    active: bool
    first_seen_ms: int | None
    last_seen_ms: int | None
    received: int
    lost: int
    bytes_received: int
    discarded: int
    deferred: int
    dropped: int
    battery_soc: float | None
    power_w: float | None
    mode: str | None
    tier_kbps: int | None
    rtt_ms: float | None
    bandwidth_kbps: float | None
    link_loss: float | None
    uptime_s: float | None
    location: NodeLocation | None = Field(
        default=None, description="null for nodes that never sent a place (issue 18)"
    )
    approach: str | None = Field(default=None, description="the approach the camera watches")


class StoredAnomaly(BaseModel):
    """An anomaly report as stored (times in epoch milliseconds)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    node_id: str
    seq: int
    ts_ms: int
    received_ms: int
    observed_ms: int
    intersection: str
    approach: str
    anomaly: str
    priority: str
    value: float
    baseline: float
    score: float
    significance: float


class StoredLog(BaseModel):
    """A log line as stored (``seq`` is null for the backend's own lines)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    node_id: str
    seq: int | None
    ts_ms: int
    received_ms: int
    level: str
    logger: str
    message: str


class ClassHour(BaseModel):
    cls: str
    n: int
    max: float


class NodeDetail(BaseModel):
    node: NodeOut
    live: dict[str, Any] | None = Field(
        description="the newest state other replicas pushed through Redis; null without Redis"
    )
    heartbeats: list[Heartbeat] = Field(description="newest first, as the node sent them")
    queues: list[QueueObservation] = Field(description="newest first, as the node sent them")
    anomalies: list[StoredAnomaly]
    logs: list[StoredLog]
    last_hour: list[ClassHour] = Field(description="detections per class in the last hour")


# -- analytics ------------------------------------------------------------------------------


class SeriesPoint(BaseModel):
    t: float = Field(description="bucket start, epoch seconds")
    n: int
    sum: float
    mean: float | None
    max: float


class Series(BaseModel):
    metric: Metric
    bucket_s: int
    points: list[SeriesPoint]


class DistributionItem(BaseModel):
    key: str
    n: int
    mean: float | None
    max: float


class Distribution(BaseModel):
    metric: Metric
    by: Key
    items: list[DistributionItem]


# -- consensus ------------------------------------------------------------------------------


class RoundSummary(BaseModel):
    cluster: str
    view: int
    number: int
    messages: int
    nodes: int
    phases: int
    digests: int = Field(description="distinct digests in the round (a healthy one has several)")
    conflicts: int = Field(description="phases in which nodes sent different digests")
    first_ts: float
    last_ts: float
    duration_ms: int


class RoundPage(BaseModel):
    items: list[RoundSummary]


class RoundMessage(BaseModel):
    node_id: str
    seq: int
    phase: str
    digest: str
    ts: float


class Round(BaseModel):
    cluster: str
    view: int
    number: int
    messages: list[RoundMessage] = Field(description="in arrival order")


class ClusterSummary(BaseModel):
    cluster: str
    rounds: int
    views: list[int]
    view_changes: int


class Suspect(BaseModel):
    cluster: str
    node_id: str
    disagreements: int


class ConsensusSummary(BaseModel):
    clusters: list[ClusterSummary]
    suspected: list[Suspect]
    rejected: dict[str, int] = Field(description="quarantined consensus payloads per reason")


# -- logs -----------------------------------------------------------------------------------


class LogOut(BaseModel):
    id: int
    node_id: str
    seq: int | None
    ts: float
    level: str
    logger: str
    message: str


class LogPage(BaseModel):
    items: list[LogOut]
    next_cursor: str | None


# -- playback -------------------------------------------------------------------------------


class TimeSpan(BaseModel):
    start: float | None = Field(description="oldest stored message, epoch seconds")
    end: float | None = Field(description="newest stored message, epoch seconds")


class ApproachQueue(BaseModel):
    """The newest queue observation of one approach."""

    node_id: str
    ts: float
    vehicles: float
    length_m: float
    wait_s: float | None


class NodeAt(BaseModel):
    node_id: str
    ts: float
    battery_soc: float
    mode: str
    tier_kbps: int
    rtt_ms: float


class AnomalyAt(BaseModel):
    node_id: str
    ts: float
    intersection: str
    approach: str
    anomaly: str
    score: float


class AlertAt(BaseModel):
    id: int
    node_id: str | None
    severity: str
    message: str
    created_ms: int


class Frame(BaseModel):
    t: float
    window_s: float
    nodes: list[NodeAt]
    queues: dict[str, dict[str, ApproachQueue]] = Field(
        description="intersection -> approach -> newest queue"
    )
    detections: dict[str, dict[str, int]] = Field(
        description="intersection -> class -> detections in the window"
    )
    anomalies: list[AnomalyAt]
    alerts: list[AlertAt]
