"""Nodes: list, detail with recent history, registration with a provisioning token."""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from backend.api.deps import CONFLICT, DB, NOT_FOUND, THROTTLED, RuntimeDep, Viewer, throttle
from backend.api.request_body import RequestBody
from backend.api.schemas import NodeDetail, NodeLocation, NodeOut, StoredAnomaly, StoredLog
from backend.core.db import now_ms
from backend.core.orm import AnomalyRow, LogRow, MessageRow, Node, RollupRow
from backend.ingest.broker_acl import mosquitto_hash
from edgeqi.protocol import NODE_ID_PATTERN, TOPIC_ROOT

PROVISIONING = "provisioning"
"""The name wrong provisioning tokens are counted under, per client address."""

router = APIRouter(prefix="/api/nodes", tags=["nodes"])


class NodePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[NodeOut]


class RegisterBody(RequestBody):
    node_id: str = Field(pattern=NODE_ID_PATTERN)
    intersection: str | None = Field(default=None, max_length=128)
    rotate: bool = False


class Registered(BaseModel):
    node_id: str
    mqtt_username: str
    mqtt_password: str
    publish_prefix: str


def to_out(node: Node, active_since: int) -> NodeOut:
    lost = 0
    if node.min_seq is not None and node.max_seq is not None:
        lost = max(0, node.max_seq - node.min_seq + 1 - node.received)
    return NodeOut(
        node_id=node.node_id,
        intersection=node.intersection,
        registered=node.registered_ms is not None,
        active=node.last_seen_ms is not None and node.last_seen_ms >= active_since,
        first_seen_ms=node.first_seen_ms,
        last_seen_ms=node.last_seen_ms,
        received=node.received,
        lost=lost,
        bytes_received=node.bytes_received,
        discarded=node.discarded,
        deferred=node.deferred,
        dropped=node.dropped,
        battery_soc=node.battery_soc,
        power_w=node.power_w,
        mode=node.mode,
        tier_kbps=node.tier_kbps,
        rtt_ms=node.rtt_ms,
        bandwidth_kbps=node.bandwidth_kbps,
        link_loss=node.link_loss,
        uptime_s=node.uptime_s,
        location=None
        if node.lat is None or node.lon is None
        else NodeLocation(lat=node.lat, lon=node.lon),
        approach=node.approach,
    )


@router.get("", response_model=NodePage)
def list_nodes(
    db: DB,
    rt: RuntimeDep,
    _: Viewer,
    intersection: str | None = None,
    active: bool | None = None,
    prefix: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> NodePage:
    """Nodes filtered by intersection, activity and id prefix, ordered by id."""
    active_since = now_ms() - int(rt.settings.active_node_window_s * 1000)
    query = select(Node)
    if intersection is not None:
        query = query.where(Node.intersection == intersection)
    if active is True:
        query = query.where(Node.last_seen_ms >= active_since)
    elif active is False:
        query = query.where((Node.last_seen_ms < active_since) | Node.last_seen_ms.is_(None))
    if prefix:
        query = query.where(Node.node_id.startswith(prefix, autoescape=True))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(Node.node_id).limit(limit).offset(offset))
    return NodePage(
        total=total, limit=limit, offset=offset, items=[to_out(n, active_since) for n in rows]
    )


@router.post(
    "/register",
    response_model=Registered,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT | THROTTLED,
)
def register(
    body: RegisterBody,
    db: DB,
    rt: RuntimeDep,
    request: Request,
    x_provisioning_token: Annotated[str | None, Header()] = None,
) -> Registered:
    """Create a node's MQTT credentials; needs the provisioning token.

    The password is returned once; only its Mosquitto hash is stored, from which
    ``backend.ingest.broker_acl`` writes the broker's password and ACL files.
    """
    client = request.client.host if request.client else "?"
    throttle(rt.provision_limiter, client, PROVISIONING)
    expected = rt.settings.provisioning_token
    allowed = bool(
        expected
        and x_provisioning_token
        and hmac.compare_digest(expected.encode(), x_provisioning_token.encode())
    )
    if not allowed:
        rt.provision_limiter.failed(client, PROVISIONING)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "valid X-Provisioning-Token required")
    node = db.get(Node, body.node_id)
    if node is not None and node.registered_ms is not None and not body.rotate:
        raise HTTPException(status.HTTP_409_CONFLICT, "node already registered (rotate=true)")
    password = secrets.token_urlsafe(24)
    if node is None:
        node = Node(
            node_id=body.node_id, received=0, bytes_received=0, discarded=0, deferred=0, dropped=0
        )
        db.add(node)
    node.intersection = body.intersection or node.intersection
    node.registered_ms = now_ms()
    node.mqtt_hash = mosquitto_hash(password)
    db.commit()
    return Registered(
        node_id=body.node_id,
        mqtt_username=body.node_id,
        mqtt_password=password,
        publish_prefix=f"{TOPIC_ROOT}/nodes/{body.node_id}/",
    )


@router.get("/{node_id}", response_model=NodeDetail, responses=NOT_FOUND)
def node_detail(
    node_id: str,
    db: DB,
    rt: RuntimeDep,
    _: Viewer,
    history: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    """One node with its recent heartbeats, queue observations, anomalies, logs and rollups."""
    node = db.get(Node, node_id)
    if node is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown node")
    active_since = now_ms() - int(rt.settings.active_node_window_s * 1000)

    def telemetry(kind: str) -> list[Any]:
        rows = db.scalars(
            select(MessageRow.payload)
            .where(MessageRow.node_id == node_id, MessageRow.kind == kind)
            .order_by(MessageRow.ts_ms.desc())
            .limit(history)
        )
        return [json.loads(p) for p in rows if p]

    anomalies = db.scalars(
        select(AnomalyRow)
        .where(AnomalyRow.node_id == node_id)
        .order_by(AnomalyRow.ts_ms.desc())
        .limit(history)
    )
    logs = db.scalars(
        select(LogRow).where(LogRow.node_id == node_id).order_by(LogRow.ts_ms.desc()).limit(history)
    )
    hour_ago = now_ms() - 3_600_000
    rollups = db.execute(
        select(RollupRow.cls, func.sum(RollupRow.n), func.max(RollupRow.max))
        .where(RollupRow.node_id == node_id, RollupRow.minute_ms >= hour_ago)
        .group_by(RollupRow.cls)
    )
    live = rt.cache.get_node(node_id) if rt.cache is not None else None
    return {
        "node": to_out(node, active_since),
        "live": live,
        "heartbeats": telemetry("heartbeat"),
        "queues": telemetry("queue"),
        "anomalies": [StoredAnomaly.model_validate(a) for a in anomalies],
        "logs": [StoredLog.model_validate(r) for r in logs],
        "last_hour": [{"cls": c, "n": int(n), "max": float(m)} for c, n, m in rollups],
    }
