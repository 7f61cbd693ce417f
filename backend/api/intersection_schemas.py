"""Response models of ``/api/intersections``: each junction's cameras, queues, plan, round.

Kept apart from ``backend.api.schemas``; the dashboard's ``Intersection`` type reads them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CameraState(BaseModel):
    node_id: str
    active: bool
    """Heard within the backend's active-node window."""
    mode: str | None
    battery_soc: float | None
    last_seen_ms: int | None


class ApproachQueue(BaseModel):
    """The newest queue observation of one approach, and the camera that made it."""

    node_id: str
    ts: float
    vehicles: float
    length_m: float
    wait_s: float | None


class SignalPlan(BaseModel):
    """The newest signal-timing command addressed to one of the intersection's cameras."""

    model_config = ConfigDict(populate_by_name=True)

    action: str
    params: dict[str, Any]
    ts: float
    from_: str = Field(alias="from", description="the node that issued the command")


class LastRound(BaseModel):
    """The newest PBFT round the intersection's cameras relayed."""

    view: int
    number: int
    ts: float
    phases: list[str]
    nodes: list[str]
    digest: str


class IntersectionView(BaseModel):
    intersection: str
    cameras: list[CameraState]
    queues: dict[str, ApproachQueue]
    """Keyed by approach (N, S, E, W in the simulator's city)."""
    signal_plan: SignalPlan | None
    consensus: LastRound | None


class IntersectionPage(BaseModel):
    items: list[IntersectionView]
