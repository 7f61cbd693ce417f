"""Response models, so the OpenAPI document says what each route returns (issue 15)."""

from __future__ import annotations

from pydantic import BaseModel


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
