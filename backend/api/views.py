"""Read views the dashboard composes from stored data: intersections, consensus, playback.

Each view is a query over what ingest stored; where the backend holds nothing yet (for
example no consensus traffic), the lists come back empty and the dashboard says so.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.analytics.alert_rules import METRICS, OPS
from backend.api.alert_schemas import AlertMetrics
from backend.api.deps import DB, RuntimeDep, Viewer, ms
from backend.api.intersection_schemas import IntersectionPage
from backend.api.schemas import ConsensusSummary, Frame, TimeSpan
from backend.core.db import now_ms
from backend.core.orm import (
    AlertRow,
    AnomalyRow,
    ConsensusRow,
    DetectionRow,
    MessageRow,
    Node,
    QuarantineRow,
)

router = APIRouter(prefix="/api", tags=["views"])

SCAN_ROWS = 5000
"""Newest stored messages read per view; enough for a few hundred nodes' latest state."""


def _latest_payloads(
    db: Session, kind: str, until_ms: int, since_ms: int, nodes: list[str] | None = None
) -> list[dict[str, Any]]:
    q = select(MessageRow.payload).where(
        MessageRow.kind == kind, MessageRow.ts_ms <= until_ms, MessageRow.ts_ms >= since_ms
    )
    if nodes is not None:
        q = q.where(MessageRow.node_id.in_(nodes))
    rows = db.scalars(q.order_by(MessageRow.ts_ms.desc()).limit(SCAN_ROWS))
    return [json.loads(p) for p in rows if p]


def _latest_queues(payloads: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Newest observation per (intersection, approach) from newest-first payloads."""
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for p in payloads:
        approaches = out[p["intersection"]]
        if p["approach"] not in approaches:
            approaches[p["approach"]] = {
                "node_id": p["node_id"],
                "ts": p["ts"],
                "vehicles": p["vehicles"],
                "length_m": p["length_m"],
                "wait_s": p.get("wait_s"),
            }
    return out


def _last_round(db: Session, cluster: str) -> dict[str, Any] | None:
    last = db.scalar(
        select(ConsensusRow)
        .where(ConsensusRow.cluster == cluster)
        .order_by(ConsensusRow.ts_ms.desc(), ConsensusRow.id.desc())
        .limit(1)
    )
    if last is None:
        return None
    rows = db.scalars(
        select(ConsensusRow).where(
            ConsensusRow.cluster == cluster,
            ConsensusRow.view == last.view,
            ConsensusRow.number == last.number,
        )
    ).all()
    digests = Counter(r.digest for r in rows)
    return {
        "view": last.view,
        "number": last.number,
        "ts": last.ts_ms / 1000,
        "phases": sorted({r.phase for r in rows}),
        "nodes": sorted({r.node_id for r in rows}),
        "digest": digests.most_common(1)[0][0],
    }


@router.get("/intersections", response_model=IntersectionPage)
def intersections(db: DB, rt: RuntimeDep, _: Viewer) -> dict[str, Any]:
    """Per intersection: its cameras, newest queue per approach, last plan and consensus."""
    now = now_ms()
    active_since = now - int(rt.settings.active_node_window_s * 1000)
    nodes = db.scalars(select(Node).where(Node.intersection.is_not(None)).order_by(Node.node_id))
    cameras: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in nodes:
        cameras[str(n.intersection)].append(
            {
                "node_id": n.node_id,
                "active": n.last_seen_ms is not None and n.last_seen_ms >= active_since,
                "mode": n.mode,
                "battery_soc": n.battery_soc,
                "last_seen_ms": n.last_seen_ms,
            }
        )
    queues = _latest_queues(_latest_payloads(db, "queue", now + 60_000, now - 3_600_000))
    commands = _latest_payloads(db, "command", now + 60_000, now - 86_400_000)
    plans: dict[str, dict[str, Any]] = {}
    owner = {c["node_id"]: i for i, cams in cameras.items() for c in cams}
    for c in commands:
        where = owner.get(c.get("target", ""))
        if where is not None and where not in plans:
            plans[where] = {
                "action": c["action"],
                "params": c.get("params", {}),
                "ts": c["ts"],
                "from": c["node_id"],
            }
    names = sorted(set(cameras) | set(queues))
    return {
        "items": [
            {
                "intersection": name,
                "cameras": cameras.get(name, []),
                "queues": queues.get(name, {}),
                "signal_plan": plans.get(name),
                "consensus": _last_round(db, name),
            }
            for name in names
        ]
    }


@router.get("/consensus/summary", response_model=ConsensusSummary)
def consensus_summary(
    db: DB,
    _: Viewer,
    since: Annotated[float | None, Query(ge=0, le=1e11)] = None,
) -> dict[str, Any]:
    """Per cluster: rounds, views seen (view changes), disagreeing nodes; rejected messages.

    A node is suspected when, in a round where at least three nodes spoke, it sent a
    digest different from the one most nodes sent. Rejected messages are consensus
    payloads that ingest quarantined (bad schema, bad signature envelope, too large).
    """
    q = select(
        ConsensusRow.cluster,
        ConsensusRow.view,
        ConsensusRow.number,
        ConsensusRow.node_id,
        ConsensusRow.digest,
    )
    if since is not None:
        q = q.where(ConsensusRow.ts_ms >= ms(since))
    rounds: dict[tuple[str, int, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for cluster, view, number, node, digest in db.execute(q.limit(200_000)):
        rounds[(cluster, view, number)][digest].add(node)
    clusters: dict[str, dict[str, Any]] = {}
    suspects: Counter[tuple[str, str]] = Counter()
    for (cluster, view, _number), by_digest in rounds.items():
        c = clusters.setdefault(cluster, {"cluster": cluster, "rounds": 0, "views": set()})
        c["rounds"] += 1
        c["views"].add(view)
        speakers = set().union(*by_digest.values())
        if len(speakers) >= 3 and len(by_digest) > 1:
            majority = max(by_digest.values(), key=len)
            for nodes in by_digest.values():
                if nodes is not majority:
                    for node in nodes - majority:
                        suspects[(cluster, node)] += 1
    rejected_q = select(QuarantineRow.reason, func.count(QuarantineRow.id)).where(
        QuarantineRow.topic.like("%/consensus")
    )
    if since is not None:
        rejected_q = rejected_q.where(QuarantineRow.received_ms >= ms(since))
    rejected = {r: n for r, n in db.execute(rejected_q.group_by(QuarantineRow.reason))}
    return {
        "clusters": [
            {
                "cluster": c["cluster"],
                "rounds": c["rounds"],
                "views": sorted(c["views"]),
                "view_changes": len(c["views"]) - 1,
            }
            for c in sorted(clusters.values(), key=lambda c: str(c["cluster"]))
        ],
        "suspected": [
            {"cluster": cl, "node_id": node, "disagreements": n}
            for (cl, node), n in suspects.most_common(100)
        ],
        "rejected": {str(k): int(v) for k, v in rejected.items()},
    }


@router.get("/playback/range", response_model=TimeSpan)
def playback_range(db: DB, _: Viewer) -> dict[str, float | None]:
    """The stored time span a playback can scrub (epoch seconds)."""
    lo, hi = db.execute(select(func.min(MessageRow.ts_ms), func.max(MessageRow.ts_ms))).one()
    return {"start": None if lo is None else lo / 1000, "end": None if hi is None else hi / 1000}


@router.get("/playback/frame", response_model=Frame)
def playback_frame(
    db: DB,
    _: Viewer,
    t: Annotated[float, Query(ge=0, le=1e11, description="epoch seconds")],
    window_s: Annotated[float, Query(gt=0, le=3600)] = 60.0,
) -> dict[str, Any]:
    """The city as stored at ``t``: each node's newest heartbeat, queues, and the window's
    detections per intersection and class, anomalies and alerts."""
    until, since = ms(t) or 0, ms(t - window_s) or 0
    heartbeats: dict[str, dict[str, Any]] = {}
    for p in _latest_payloads(db, "heartbeat", until, until - max(ms(window_s) or 0, 300_000)):
        heartbeats.setdefault(p["node_id"], p)
    queues = _latest_queues(_latest_payloads(db, "queue", until, since))
    counts = db.execute(
        select(DetectionRow.intersection, DetectionRow.cls, func.count(DetectionRow.id))
        .where(DetectionRow.ts_ms >= since, DetectionRow.ts_ms <= until)
        .group_by(DetectionRow.intersection, DetectionRow.cls)
    )
    detections: dict[str, dict[str, int]] = defaultdict(dict)
    for where, cls, n in counts:
        detections[where][cls] = int(n)
    anomalies = db.scalars(
        select(AnomalyRow)
        .where(AnomalyRow.ts_ms >= since, AnomalyRow.ts_ms <= until)
        .order_by(AnomalyRow.ts_ms.desc())
        .limit(100)
    )
    alerts = db.scalars(
        select(AlertRow)
        .where(AlertRow.created_ms >= since, AlertRow.created_ms <= until)
        .order_by(AlertRow.created_ms.desc())
        .limit(100)
    )
    return {
        "t": t,
        "window_s": window_s,
        "nodes": [
            {
                "node_id": n,
                "ts": h["ts"],
                "battery_soc": h["battery_soc"],
                "mode": h["mode"],
                "tier_kbps": h["tier_kbps"],
                "rtt_ms": h["link"]["rtt_ms"],
            }
            for n, h in sorted(heartbeats.items())
        ],
        "queues": queues,
        "detections": detections,
        "anomalies": [
            {
                "node_id": a.node_id,
                "ts": a.ts_ms / 1000,
                "intersection": a.intersection,
                "approach": a.approach,
                "anomaly": a.anomaly,
                "score": a.score,
            }
            for a in anomalies
        ],
        "alerts": [
            {
                "id": a.id,
                "node_id": a.node_id,
                "severity": a.severity,
                "message": a.message,
                "created_ms": a.created_ms,
            }
            for a in alerts
        ],
    }


@router.get("/alert-metrics", response_model=AlertMetrics)
def alert_metrics(_: Viewer) -> dict[str, list[str]]:
    """What a rule may test: the rule engine's metrics and comparison operators."""
    return {"metrics": list(METRICS), "ops": list(OPS)}
