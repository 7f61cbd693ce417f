"""The rollup pyramid: per-minute rollups per node, and coarser levels above them.

Ingest folds every new message into per-minute rows per (node, class, approach)
(``rollups``) and, in the same transaction, into the coarser levels listed here
(``rollup_levels``). A level is a resolution and the dimensions it keeps; the others
are summed away (stored as ``""``, or for the class as its metric, ``*detections``,
``*queue`` or ``*anomalies``, so that metrics never mix). A query reads the coarsest,
smallest level that keeps every dimension it filters or groups by;
:mod:`backend.analytics.queries` does the choosing.

Why so many levels: at about one batch per camera a minute the per-minute rows are
as many as the raw detections, so a dashboard's all-camera or multi-day query would
read millions of rows. Each level here holds two to three orders of magnitude fewer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import TextClause, text

Dim = Literal["node_id", "intersection", "cls", "approach"]
DIMS: tuple[Dim, ...] = ("node_id", "intersection", "cls", "approach")
MINUTE_MS = 60_000
FIVE_MIN_MS = 300_000
HOUR_MS = 3_600_000

# Typical distinct values per dimension in one bucket, only to rank levels by size.
_SPREAD = {"node_id": 100, "intersection": 25, "cls": 5, "approach": 2}


@dataclass(frozen=True, slots=True)
class Level:
    """One level: a stable id (stored in each row), its resolution and the kept dims."""

    id: int
    name: str
    res_ms: int
    keeps: frozenset[Dim]

    @property
    def size(self) -> int:
        """Relative number of rows per bucket; a node implies its intersection."""
        spread = 1
        for dim in self.keeps:
            if not (dim == "intersection" and "node_id" in self.keeps):
                spread *= _SPREAD[dim]
        return spread


def _level(id_: int, name: str, res_ms: int, *keeps: Dim) -> Level:
    return Level(id_, name, res_ms, frozenset(keeps))


MINUTE = _level(0, "minute", MINUTE_MS, *DIMS)
"""The base level, stored in ``rollups``."""

LEVELS = (
    _level(1, "node-hour", HOUR_MS, *DIMS),
    _level(2, "node-5min-total", FIVE_MIN_MS, "node_id", "intersection"),
    _level(3, "node-hour-total", HOUR_MS, "node_id", "intersection"),
    _level(4, "area-5min", FIVE_MIN_MS, "intersection", "cls", "approach"),
    _level(5, "area-hour", HOUR_MS, "intersection", "cls", "approach"),
    _level(6, "city-5min", FIVE_MIN_MS, "cls", "approach"),
    _level(7, "city-hour", HOUR_MS, "cls", "approach"),
)
"""The levels stored in ``rollup_levels``; ids are stored, so never renumber them."""


def metric_of(cls: str) -> str:
    """The class marker a level that sums classes away stores instead of the class."""
    if cls == "queue":
        return "*queue"
    if cls.startswith("anomaly:"):
        return "*anomalies"
    return "*detections"


Key = tuple[int, str, int, str, str, str]
"""(level id, node_id, bucket_ms, cls, intersection, approach)."""


def fold(minute_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Aggregate per-minute increments into increments of every coarser level.

    ``minute_rows`` are the rows one flush upserts into ``rollups``; the result is the
    rows to upsert (add ``n`` and ``total``, keep the greater ``max``) into
    ``rollup_levels``, sorted by key so that concurrent flushes lock rows in one order.
    """
    agg: dict[Key, list[float]] = {}
    for r in minute_rows:
        for level in LEVELS:
            keeps = level.keeps
            key: Key = (
                level.id,
                r["node_id"] if "node_id" in keeps else "",
                r["minute_ms"] // level.res_ms * level.res_ms,
                r["cls"] if "cls" in keeps else metric_of(r["cls"]),
                r["intersection"] if "intersection" in keeps else "",
                r["approach"] if "approach" in keeps else "",
            )
            cur = agg.get(key)
            if cur is None:
                agg[key] = [r["n"], r["total"], r["max"]]
            else:
                cur[0] += r["n"]
                cur[1] += r["total"]
                cur[2] = max(cur[2], r["max"])
    return [
        {
            "level": k[0],
            "node_id": k[1],
            "bucket_ms": k[2],
            "cls": k[3],
            "intersection": k[4],
            "approach": k[5],
            "n": int(v[0]),
            "total": v[1],
            "max": v[2],
        }
        for k, v in sorted(agg.items())
    ]


_CLS_METRIC = (
    "CASE WHEN cls = 'queue' THEN '*queue' "
    "WHEN cls LIKE 'anomaly:%' THEN '*anomalies' ELSE '*detections' END"
)


def level_insert_sql(level_id: int, res_ms: int, keeps: Iterable[str]) -> str:
    """``INSERT ... SELECT`` that builds one level from the per-minute rows (no conflicts)."""
    kept = set(keeps)
    cols = {
        "node_id": "node_id" if "node_id" in kept else "''",
        "cls": "cls" if "cls" in kept else _CLS_METRIC,
        "intersection": "intersection" if "intersection" in kept else "''",
        "approach": "approach" if "approach" in kept else "''",
    }
    bucket = f"minute_ms / {res_ms} * {res_ms}"
    group = [bucket] + [expr for expr in cols.values() if expr != "''"]
    return (
        "INSERT INTO rollup_levels "
        "(level, node_id, bucket_ms, cls, intersection, approach, n, total, max) "
        f"SELECT {level_id}, {cols['node_id']}, {bucket}, {cols['cls']}, "
        f"{cols['intersection']}, {cols['approach']}, sum(n), sum(total), max(max) "
        f"FROM rollups GROUP BY {', '.join(group)}"
    )


def rebuild_statements() -> list[TextClause]:
    """SQL that refills ``rollup_levels`` from ``rollups`` (after a bulk load or repair)."""
    out = [text("DELETE FROM rollup_levels")]
    out += [text(level_insert_sql(lv.id, lv.res_ms, lv.keeps)) for lv in LEVELS]
    return out
