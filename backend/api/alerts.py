"""Alert rules, alerts over their life (pending, firing, resolved), acknowledgement, silences.

Rules are evaluated on ingest and on a clock (``backend.analytics.alert_rules``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from backend.analytics.alert_rules import METRICS, OPEN_STATES, OPS
from backend.api.alert_schemas import AlertOut, AlertPage, AlertState, SilenceOut
from backend.api.deps import DB, NOT_FOUND, Id, Operator, RuntimeDep, Seconds, Viewer, ms
from backend.api.request_body import RequestBody, integral
from backend.core.db import now_ms
from backend.core.orm import AlertRow, AlertRule, AlertSilence
from edgeqi.protocol import NODE_ID_PATTERN

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

Severity = Literal["info", "warning", "critical"]


def _enum(names: Iterable[str]) -> list[JsonValue]:
    """A JSON Schema ``enum`` of names a validator checks."""
    return [str(n) for n in sorted(names)]


class RuleBody(RequestBody):
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
    for_s: float = Field(
        default=0.0, ge=0, le=86_400 * 7, description="how long the condition must hold"
    )
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
    for_s: float
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
    if not rule.enabled:
        _resolve_open(db, rule_id)
    db.commit()
    rt.evaluator.invalidate()
    return rule


def _resolve_open(db: Session, rule_id: int) -> None:
    """A rule that is disabled or deleted stops watching: its open alerts end now."""
    now = now_ms()
    db.execute(
        update(AlertRow)
        .where(AlertRow.rule_id == rule_id, AlertRow.state.in_(OPEN_STATES))
        .values(state="resolved", resolved_ms=now, updated_ms=now)
    )


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_rule(rule_id: Id, db: DB, rt: RuntimeDep, _: Operator) -> None:
    rule = db.get(AlertRule, rule_id)
    if rule is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such rule")
    _resolve_open(db, rule_id)
    db.delete(rule)
    db.commit()
    rt.evaluator.invalidate()


@router.get("", response_model=AlertPage)
def list_alerts(
    db: DB,
    _: Viewer,
    state: AlertState | None = None,
    acknowledged: bool | None = None,
    severity: Severity | None = None,
    node_id: str | None = None,
    intersection: str | None = None,
    since: Seconds = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> dict[str, Any]:
    """Alerts, newest first; ``since`` keeps those still open then or created after it."""
    q = select(AlertRow)
    if state is not None:
        q = q.where(AlertRow.state == state)
    if acknowledged is not None:
        q = q.where(AlertRow.acknowledged.is_(acknowledged))
    if severity is not None:
        q = q.where(AlertRow.severity == severity)
    if node_id is not None:
        q = q.where(AlertRow.node_id == node_id)
    if intersection is not None:
        q = q.where(AlertRow.intersection == intersection)
    if since is not None:
        q = q.where(
            or_(
                AlertRow.created_ms >= ms(since),
                AlertRow.resolved_ms.is_(None),
                AlertRow.resolved_ms >= ms(since),
            )
        )
    rows = db.scalars(q.order_by(AlertRow.id.desc()).limit(limit))
    return {"items": [_alert(r) for r in rows]}


def _alert(r: AlertRow) -> dict[str, Any]:
    return {c.key: getattr(r, c.key) for c in AlertRow.__table__.columns}


@router.post("/{alert_id}/ack", response_model=AlertOut, responses=NOT_FOUND)
def acknowledge(alert_id: Id, db: DB, who: Operator) -> dict[str, Any]:
    """Records who acknowledged the alert and when (the first acknowledgement stands)."""
    alert = db.get(AlertRow, alert_id)
    if alert is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    if not alert.acknowledged:
        alert.acknowledged = True
        alert.acknowledged_by = who.username
        alert.acknowledged_ms = now_ms()
        db.commit()
    return _alert(alert)


class SilenceBody(RequestBody):
    """Mute the notifications of matching alerts for ``duration_s`` from now.

    At least one matcher (rule, node, intersection) is required: a silence of everything
    would hide a city-wide outage.
    """

    # The rule of ``_check``, stated in the schema: one of the matchers set and not null.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["rule_id"], "properties": {"rule_id": {"type": "integer"}}},
                {"required": ["node_id"], "properties": {"node_id": {"type": "string"}}},
                {
                    "required": ["intersection"],
                    "properties": {"intersection": {"type": "string"}},
                },
            ]
        }
    )

    rule_id: Annotated[int, Field(ge=0, le=2**63 - 1), BeforeValidator(integral)] | None = None
    node_id: str | None = Field(default=None, pattern=NODE_ID_PATTERN)
    intersection: str | None = Field(default=None, min_length=1, max_length=128)
    duration_s: float = Field(gt=0, le=86_400 * 30)
    comment: str = Field(min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _check(self) -> SilenceBody:
        if self.rule_id is None and self.node_id is None and self.intersection is None:
            raise ValueError("a silence needs a rule, a node or an intersection to match")
        return self


def _silence(s: AlertSilence, now: int) -> dict[str, Any]:
    out = {c.key: getattr(s, c.key) for c in AlertSilence.__table__.columns}
    return {**out, "active": s.starts_ms <= now < s.ends_ms}


@router.get("/silences", response_model=list[SilenceOut])
def list_silences(db: DB, _: Viewer) -> list[dict[str, Any]]:
    """Every silence, newest first (expired ones too: they explain past muted alerts)."""
    now = now_ms()
    rows = db.scalars(select(AlertSilence).order_by(AlertSilence.id.desc()).limit(500))
    return [_silence(s, now) for s in rows]


@router.post(
    "/silences",
    response_model=SilenceOut,
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
)
def create_silence(body: SilenceBody, db: DB, who: Operator) -> dict[str, Any]:
    if body.rule_id is not None and db.get(AlertRule, body.rule_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such rule")
    now = now_ms()
    silence = AlertSilence(
        rule_id=body.rule_id,
        node_id=body.node_id,
        intersection=body.intersection,
        starts_ms=now,
        ends_ms=now + int(body.duration_s * 1000),
        comment=body.comment,
        created_by=who.username,
        created_ms=now,
    )
    db.add(silence)
    db.commit()
    return _silence(silence, now)


@router.delete(
    "/silences/{silence_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND
)
def expire_silence(silence_id: Id, db: DB, _: Operator) -> None:
    """Ends the silence now; it stays listed as the record of what was muted."""
    silence = db.get(AlertSilence, silence_id)
    if silence is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such silence")
    silence.ends_ms = min(silence.ends_ms, now_ms())
    db.commit()
