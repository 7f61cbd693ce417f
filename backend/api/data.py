"""Read APIs over ingested data: detections, analytics (from rollups), consensus, logs."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from backend.analytics import queries as analytics
from backend.api.deps import DB, NOT_FOUND, Id, Seconds, Viewer, ms
from backend.api.schemas import Distribution, LogPage, Round, RoundPage, Series
from backend.core.orm import ConsensusRow, DetectionRow, LogRow

router = APIRouter(prefix="/api", tags=["data"])

Limit = Annotated[int, Query(ge=1, le=5000)]


class DetectionOut(BaseModel):
    id: int
    node_id: str
    seq: int
    idx: int
    ts: float
    received_ms: int
    intersection: str
    cls: str
    conf: float
    box: tuple[float, float, float, float]
    track: int | None


class DetectionPage(BaseModel):
    items: list[DetectionOut]
    next_cursor: str | None


Row = TypeVar("Row", DetectionRow, LogRow)


def newest_first(
    db: Session,
    model: type[Row],
    equals: dict[str, str | None],
    since: float | None,
    until: float | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Row], str | None]:
    """One page of rows, newest first, and the cursor of the next page (``None``: last).

    The cursor is the last row id, so pages stay consistent while ingest appends;
    ``equals`` filters columns by value, skipping those given as ``None``.
    """
    q = select(model)
    for column, value in equals.items():
        if value is not None:
            q = q.where(getattr(model, column) == value)
    if since is not None:
        q = q.where(model.ts_ms >= ms(since))
    if until is not None:
        q = q.where(model.ts_ms < ms(until))
    if cursor is not None:
        q = q.where(model.id < int(cursor))
    rows = list(db.scalars(q.order_by(model.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, str(rows[-1].id) if more and rows else None


@router.get("/detections", response_model=DetectionPage)
def detections(
    db: DB,
    _: Viewer,
    node_id: str | None = None,
    cls: str | None = None,
    intersection: str | None = None,
    since: Seconds = None,
    until: Seconds = None,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
    limit: Limit = 100,
) -> DetectionPage:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    rows, next_cursor = newest_first(
        db,
        DetectionRow,
        {"node_id": node_id, "cls": cls, "intersection": intersection},
        since,
        until,
        cursor,
        limit,
    )
    items = [
        DetectionOut(
            id=r.id,
            node_id=r.node_id,
            seq=r.seq,
            idx=r.idx,
            ts=r.ts_ms / 1000,
            received_ms=r.received_ms,
            intersection=r.intersection,
            cls=r.cls,
            conf=r.conf,
            box=(r.x, r.y, r.w, r.h),
            track=r.track,
        )
        for r in rows
    ]
    return DetectionPage(items=items, next_cursor=next_cursor)


@router.get("/analytics/series", response_model=Series)
def series(
    db: DB,
    _: Viewer,
    metric: analytics.Metric = "detections",
    bucket_s: Annotated[int, Query(ge=60, le=86_400 * 7)] = 300,
    node_id: str | None = None,
    cls: str | None = None,
    intersection: str | None = None,
    approach: str | None = None,
    since: Seconds = None,
    until: Seconds = None,
) -> dict[str, Any]:
    """Time-bucketed counts, sums, means and maxima read from the rollup pyramid.

    ``bucket_s`` is rounded down to whole minutes (the finest rollup resolution).
    """
    bucket_ms = bucket_s // 60 * 60_000
    given: dict[analytics.Key, str | None] = {
        "node_id": node_id,
        "cls": cls,
        "intersection": intersection,
        "approach": approach,
    }
    filters = {k: v for k, v in given.items() if v is not None}
    rows = analytics.series(db, metric, bucket_ms, filters, ms(since), ms(until))
    points = [
        {"t": b / 1000, "n": n, "sum": total, "mean": total / n if n else None, "max": mx}
        for b, n, total, mx in rows
    ]
    return {"metric": metric, "bucket_s": bucket_ms // 1000, "points": points}


@router.get("/analytics/distribution", response_model=Distribution)
def distribution(
    db: DB,
    _: Viewer,
    metric: analytics.Metric = "detections",
    by: analytics.Key = "cls",
    since: Seconds = None,
    until: Seconds = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Totals per class, node, intersection or approach over a time range."""
    rows = analytics.distribution(db, metric, by, ms(since), ms(until), limit)
    return {
        "metric": metric,
        "by": by,
        "items": [
            {"key": k, "n": n, "mean": t / n if n else None, "max": m} for k, n, t, m in rows
        ],
    }


@router.get("/consensus/rounds", response_model=RoundPage)
def consensus_rounds(
    db: DB,
    _: Viewer,
    cluster: str | None = None,
    since: Seconds = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Consensus messages grouped by (cluster, view, sequence number), newest first.

    ``digests`` counts every distinct digest of the round, and a healthy round has
    several (the reports' placeholder, the proposal, the checkpoint's state digest);
    ``conflicts`` counts the phases in which nodes sent different digests, which is
    what disagreement (or an equivocating primary) looks like."""
    q = select(
        ConsensusRow.cluster,
        ConsensusRow.view,
        ConsensusRow.number,
        func.count(ConsensusRow.id),
        func.count(func.distinct(ConsensusRow.node_id)),
        func.count(func.distinct(ConsensusRow.phase)),
        func.count(func.distinct(ConsensusRow.digest)),
        func.min(ConsensusRow.ts_ms),
        func.max(ConsensusRow.ts_ms),
    )
    if cluster is not None:
        q = q.where(ConsensusRow.cluster == cluster)
    if since is not None:
        q = q.where(ConsensusRow.ts_ms >= ms(since))
    rows = db.execute(
        q.group_by(ConsensusRow.cluster, ConsensusRow.view, ConsensusRow.number)
        .order_by(func.max(ConsensusRow.ts_ms).desc())
        .limit(limit)
    ).all()
    # Phases of the listed rounds in which nodes sent more than one digest.
    key = (ConsensusRow.cluster, ConsensusRow.view, ConsensusRow.number)
    split = (
        select(*key)
        .where(tuple_(*key).in_([(r[0], r[1], r[2]) for r in rows]))
        .group_by(*key, ConsensusRow.phase)
        .having(func.count(func.distinct(ConsensusRow.digest)) > 1)
        .subquery()
    )
    per_round = select(split.c.cluster, split.c.view, split.c.number, func.count())
    conflicts: dict[tuple[str, int, int], int] = {}
    if rows:
        for c, v, n, k in db.execute(per_round.group_by(*split.c)):
            conflicts[(c, int(v), int(n))] = int(k)
    return {
        "items": [
            {
                "cluster": c,
                "view": int(v),
                "number": int(n),
                "messages": int(msgs),
                "nodes": int(nodes),
                "phases": int(phases),
                "digests": int(digests),
                "conflicts": conflicts.get((c, int(v), int(n)), 0),
                "first_ts": int(t0) / 1000,
                "last_ts": int(t1) / 1000,
                "duration_ms": int(t1) - int(t0),
            }
            for c, v, n, msgs, nodes, phases, digests, t0, t1 in rows
        ]
    }


@router.get(
    "/consensus/rounds/{cluster}/{view}/{number}", response_model=Round, responses=NOT_FOUND
)
def consensus_round(cluster: str, view: Id, number: Id, db: DB, _: Viewer) -> dict[str, Any]:
    """Every message of one round, in arrival order."""
    rows = db.scalars(
        select(ConsensusRow)
        .where(
            ConsensusRow.cluster == cluster,
            ConsensusRow.view == view,
            ConsensusRow.number == number,
        )
        .order_by(ConsensusRow.ts_ms, ConsensusRow.id)
    ).all()
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such round")
    return {
        "cluster": cluster,
        "view": view,
        "number": number,
        "messages": [
            {
                "node_id": r.node_id,
                "seq": r.seq,
                "phase": r.phase,
                "digest": r.digest,
                "ts": r.ts_ms / 1000,
            }
            for r in rows
        ],
    }


@router.get("/logs", response_model=LogPage)
def logs(
    db: DB,
    _: Viewer,
    node_id: str | None = None,
    level: Literal["debug", "info", "warning", "error"] | None = None,
    since: Seconds = None,
    until: Seconds = None,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Node logs, newest first, cursor-paginated like detections."""
    rows, next_cursor = newest_first(
        db, LogRow, {"node_id": node_id, "level": level}, since, until, cursor, limit
    )
    return {
        "items": [
            {
                "id": r.id,
                "node_id": r.node_id,
                "seq": r.seq,
                "ts": r.ts_ms / 1000,
                "level": r.level,
                "logger": r.logger,
                "message": r.message,
            }
            for r in rows
        ],
        "next_cursor": next_cursor,
    }
