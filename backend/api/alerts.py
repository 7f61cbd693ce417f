"""Alerts and alert rules. Rules are evaluated on ingest (``backend.analytics.alert_rules``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, JsonValue, model_validator
from sqlalchemy import select

from backend.analytics.alert_rules import METRICS, OPS
from backend.api.deps import DB, NOT_FOUND, Id, Operator, RuntimeDep, Seconds, Viewer, ms
from backend.api.schemas import Acknowledged
from backend.core.db import now_ms
from backend.core.orm import AlertRow, AlertRule
from edgeqi.protocol import NODE_ID_PATTERN

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

Severity = Literal["info", "warning", "critical"]


def _enum(names: Iterable[str]) -> list[JsonValue]:
    """A JSON Schema ``enum`` of names a validator checks."""
    return [str(n) for n in sorted(names)]


class RuleBody(BaseModel):
    """A condition ``metric op threshold``.

    ``metric`` is one of ``backend.analytics.alert_rules.METRICS``.
    """

    # The cross-field rule of ``_check``, stated in the schema (JSON Schema if/then).
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"action": {"const": "webhook"}}, "required": ["action"]},
            "then": {
                "properties": {"webhook_url": {"type": "string"}},
                "required": ["webhook_url"],
            },
        }
    )

    name: str = Field(min_length=1, max_length=128)
    # Declared as enums so the OpenAPI document states what the validator enforces.
    metric: str = Field(json_schema_extra={"enum": _enum(METRICS)})
    op: str = Field(default=">", json_schema_extra={"enum": _enum(OPS)})
    threshold: float = Field(allow_inf_nan=False)
    node_id: str | None = Field(default=None, pattern=NODE_ID_PATTERN)
    severity: Severity = "warning"
    action: Literal["notify", "webhook"] = "notify"
    webhook_url: AnyHttpUrl | None = Field(
        default=None, json_schema_extra={"pattern": "^https?://[^/?#\\s]+"}
    )
    cooldown_s: float = Field(default=300.0, ge=0, le=86_400 * 30)
    enabled: bool = True

    @model_validator(mode="after")
    def _check(self) -> RuleBody:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {sorted(METRICS)}")
        if self.op not in OPS:
            raise ValueError(f"op must be one of {sorted(OPS)}")
        if self.action == "webhook" and self.webhook_url is None:
            raise ValueError("webhook action needs webhook_url")
        return self


class RuleOut(BaseModel):
    id: int
    name: str
    metric: str
    op: str
    threshold: float
    node_id: str | None
    severity: str
    action: str
    webhook_url: str | None
    cooldown_s: float
    enabled: bool
    created_ms: int


def _apply(rule: AlertRule, body: RuleBody) -> None:
    for key, value in body.model_dump().items():
        setattr(rule, key, str(value) if key == "webhook_url" and value is not None else value)


@router.get("/rules", response_model=list[RuleOut])
def list_rules(db: DB, _: Viewer) -> list[AlertRule]:
    return list(db.scalars(select(AlertRule).order_by(AlertRule.id)))


@router.post("/rules", response_model=RuleOut, status_code=status.HTTP_201_CREATED)
def create_rule(body: RuleBody, db: DB, rt: RuntimeDep, _: Operator) -> AlertRule:
    rule = AlertRule(created_ms=now_ms())
    _apply(rule, body)
    db.add(rule)
    db.commit()
    rt.evaluator.invalidate()
    return rule


@router.put("/rules/{rule_id}", response_model=RuleOut, responses=NOT_FOUND)
def update_rule(rule_id: Id, body: RuleBody, db: DB, rt: RuntimeDep, _: Operator) -> AlertRule:
    rule = db.get(AlertRule, rule_id)
    if rule is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such rule")
    _apply(rule, body)
    db.commit()
    rt.evaluator.invalidate()
    return rule


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_rule(rule_id: Id, db: DB, rt: RuntimeDep, _: Operator) -> None:
    rule = db.get(AlertRule, rule_id)
    if rule is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such rule")
    db.delete(rule)
    db.commit()
    rt.evaluator.invalidate()


@router.get("")
def list_alerts(
    db: DB,
    _: Viewer,
    acknowledged: bool | None = None,
    severity: Severity | None = None,
    node_id: str | None = None,
    since: Seconds = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> dict[str, Any]:
    """Fired alerts, newest first."""
    q = select(AlertRow)
    if acknowledged is not None:
        q = q.where(AlertRow.acknowledged.is_(acknowledged))
    if severity is not None:
        q = q.where(AlertRow.severity == severity)
    if node_id is not None:
        q = q.where(AlertRow.node_id == node_id)
    if since is not None:
        q = q.where(AlertRow.created_ms >= ms(since))
    rows = db.scalars(q.order_by(AlertRow.id.desc()).limit(limit))
    return {"items": [{c.key: getattr(r, c.key) for c in AlertRow.__table__.columns} for r in rows]}


@router.post("/{alert_id}/ack", response_model=Acknowledged, responses=NOT_FOUND)
def acknowledge(alert_id: Id, db: DB, _: Operator) -> dict[str, Any]:
    alert = db.get(AlertRow, alert_id)
    if alert is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    alert.acknowledged = True
    db.commit()
    return {"id": alert_id, "acknowledged": True}
