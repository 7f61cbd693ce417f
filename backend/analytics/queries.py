"""Analytics queries over the rollup pyramid: pick the coarsest level that answers.

A query names a bucket width (series) or none (distribution), the keys it filters on
and the one it groups by. Every level whose resolution divides the bucket and that
keeps those keys can answer it; the coarsest reads the fewest rows. A range that does
not start or end on that level's boundary is split: the aligned middle comes from the
coarse level, the ragged ends from the next finer one, down to the per-minute rows.
Each piece is one ``SELECT`` of a ``UNION ALL``, summed once more on the outside, so
the answer equals what the per-minute rows alone would give, in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, desc, func, not_, select, union_all
from sqlalchemy.orm import Session

from backend.analytics.rollups import LEVELS, MINUTE, Dim, Level
from backend.core.orm import RollupLevelRow, RollupRow

Metric = Literal["detections", "queue", "anomalies"]
Key = Dim


@dataclass(frozen=True, slots=True)
class Piece:
    """One level read over ``[lo, hi)`` in milliseconds; ``None`` leaves a side open."""

    level: Level
    lo: int | None
    hi: int | None


def chain(bucket_ms: int | None, needs: set[Dim]) -> list[Level]:
    """Usable levels, coarsest first, the smallest per resolution, then the minute rows.

    A level is usable when it keeps every dimension in ``needs`` (those filtered on or
    grouped by) and its resolution divides ``bucket_ms`` (``None``: no bucketing).
    """
    best: dict[int, Level] = {}
    for level in LEVELS:
        if not needs <= level.keeps:
            continue
        if bucket_ms is not None and bucket_ms % level.res_ms:
            continue
        current = best.get(level.res_ms)
        if current is None or level.size < current.size:
            best[level.res_ms] = level
    return [best[r] for r in sorted(best, reverse=True)] + [MINUTE]


def plan(levels: list[Level], lo: int | None, hi: int | None) -> list[Piece]:
    """Cover ``[lo, hi)`` with aligned pieces of the first level and ragged ends below."""
    level, finer = levels[0], levels[1:]
    if not finer:
        return [Piece(level, lo, hi)]
    res = level.res_ms
    a = None if lo is None else -(-lo // res) * res
    b = None if hi is None else hi // res * res
    if a is not None and b is not None and a >= b:
        return plan(finer, lo, hi)
    pieces: list[Piece] = []
    if lo is not None and a is not None and lo < a:
        pieces += plan(finer, lo, a)
    pieces.append(Piece(level, a, b))
    if hi is not None and b is not None and b < hi:
        pieces += plan(finer, b, hi)
    return pieces


def _metric_filter(cls: ColumnElement[str], metric: Metric, level: Level) -> ColumnElement[bool]:
    if "cls" not in level.keeps:
        return cls == f"*{metric}"
    if metric == "queue":
        return cls == "queue"
    if metric == "anomalies":
        return cls.like("anomaly:%")
    return and_(cls != "queue", not_(cls.like("anomaly:%")))


def _source(level: Level) -> tuple[Any, Any]:
    """(table, time column) a level is stored in."""
    if level is MINUTE:
        return RollupRow, RollupRow.minute_ms
    return RollupLevelRow, RollupLevelRow.bucket_ms


def _select(piece: Piece, metric: Metric, filters: dict[Key, str], group: Key | int) -> Select[Any]:
    """(k, n, total, max) rows of one piece; ``group`` is a key column or a bucket width."""
    table, time = _source(piece.level)
    k = (time // group * group) if isinstance(group, int) else getattr(table, group)
    q = select(k.label("k"), table.n, table.total, table.max).where(
        _metric_filter(table.cls, metric, piece.level)
    )
    if table is RollupLevelRow:
        q = q.where(RollupLevelRow.level == piece.level.id)
    for name, value in filters.items():
        q = q.where(getattr(table, name) == value)
    if piece.lo is not None:
        q = q.where(time >= piece.lo)
    if piece.hi is not None:
        q = q.where(time < piece.hi)
    return q


def query(
    pieces: list[Piece], metric: Metric, filters: dict[Key, str], group: Key | int
) -> Select[Any]:
    parts = [_select(p, metric, filters, group) for p in pieces]
    u = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    n = func.sum(u.c.n)
    return select(u.c.k, n.label("n"), func.sum(u.c.total), func.max(u.c.max)).group_by(u.c.k)


def series(
    db: Session,
    metric: Metric,
    bucket_ms: int,
    filters: dict[Key, str],
    lo: int | None,
    hi: int | None,
) -> list[tuple[int, int, float, float]]:
    """(bucket start ms, count, sum, max) per bucket, oldest first."""
    pieces = plan(chain(bucket_ms, set(filters)), lo, hi)
    q = query(pieces, metric, filters, bucket_ms)
    return [(int(k), int(n), float(t), float(m)) for k, n, t, m in db.execute(q.order_by("k"))]


def distribution(
    db: Session, metric: Metric, by: Key, lo: int | None, hi: int | None, limit: int
) -> list[tuple[str, int, float, float]]:
    """(key, count, sum, max) per value of ``by``, largest count first."""
    return distribution_from(db, plan(chain(None, {by}), lo, hi), metric, by, limit)


def distribution_from(
    db: Session, pieces: list[Piece], metric: Metric, by: Key, limit: int
) -> list[tuple[str, int, float, float]]:
    """:func:`distribution` over given pieces (a test compares plans through it)."""
    q = query(pieces, metric, {}, by)
    rows = db.execute(q.order_by(desc("n"), "k").limit(limit))
    return [(str(k), int(n), float(t), float(m)) for k, n, t, m in rows]
