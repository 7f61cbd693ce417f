"""Response models of the alert routes (``/api/alerts``, ``/api/alert-metrics``).

Kept apart from ``backend.api.schemas`` so the alert life cycle's shapes live beside one
another; the dashboard's ``Alert`` and ``Silence`` types read these fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

AlertState = Literal["pending", "firing", "resolved"]


class AlertOut(BaseModel):
    """One alert over its life; times are epoch milliseconds, null until they happen."""

    id: int
    rule_id: int | None
    node_id: str
    intersection: str | None
    approach: str | None
    severity: str
    state: AlertState
    message: str
    value: float
    created_ms: int
    """When the condition started to hold (the alert became pending)."""
    fired_ms: int | None
    resolved_ms: int | None
    updated_ms: int | None
    acknowledged: bool
    acknowledged_by: str | None
    acknowledged_ms: int | None
    silence_id: int | None


class AlertPage(BaseModel):
    items: list[AlertOut]


class SilenceOut(BaseModel):
    id: int
    rule_id: int | None
    node_id: str | None
    intersection: str | None
    starts_ms: int
    ends_ms: int
    comment: str
    created_by: str
    created_ms: int
    active: bool


class AlertMetrics(BaseModel):
    """What a rule may test: the rule engine's metrics and comparison operators."""

    metrics: list[str]
    ops: list[str]
