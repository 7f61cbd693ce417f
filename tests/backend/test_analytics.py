"""The rollup pyramid answers exactly what the per-minute rollups alone would answer."""

from __future__ import annotations

import itertools
import random

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.analytics import queries as analytics
from backend.analytics.rollups import DIMS, LEVELS, MINUTE, rebuild_statements
from backend.core.db import make_engine
from backend.core.orm import RollupLevelRow
from backend.ingest.ingestor import Ingestor
from backend.ingest.store import Store
from tests.backend import factory as f

HOUR = 3_600_000
NODES = [f"cam-{i}" for i in range(6)]


def _fill(url: str, rng: random.Random) -> None:
    """Detections, queue observations and anomalies from 6 cameras at 3 intersections."""
    ingestor = Ingestor(Store(make_engine(url)))
    seq = dict.fromkeys(NODES, 0)
    for _ in range(900):
        node = rng.choice(NODES)
        area = {"intersection": f"int-{NODES.index(node) % 3}"}
        ts = f.T0 + rng.uniform(0, 30 * 3600)
        seq[node] += 1
        kind = rng.random()
        if kind < 0.6:
            cls = rng.choice(["car", "bus", "truck"])
            msg = f.detections(node, seq[node], n=rng.randint(1, 5), ts=ts, cls=cls)
        elif kind < 0.85:
            msg = f.queue(node, seq[node], ts=ts, vehicles=rng.randint(0, 30))
            area["approach"] = rng.choice(["north", "south"])
        else:
            msg = f.anomaly(node, seq[node], ts=ts, score=rng.uniform(1, 9))
        ingestor.submit(*f.wire(msg.model_copy(update=area)), received_at=ts)
        if rng.random() < 0.05:
            ingestor.flush()
    ingestor.flush()


def _range(rng: random.Random) -> tuple[int | None, int | None]:
    t0 = int(f.T0 * 1000)
    lo = rng.choice([None, t0 + rng.randrange(0, 30 * HOUR)])
    hi = rng.choice([None, (lo or t0) + rng.randrange(1, 20 * HOUR)])
    return lo, hi


def _close(
    a: list[tuple[object, int, float, float]], b: list[tuple[object, int, float, float]]
) -> None:
    assert [(k, n) for k, n, _, _ in a] == [(k, n) for k, n, _, _ in b]
    assert [t for _, _, t, _ in a] == pytest.approx([t for _, _, t, _ in b])
    assert [m for _, _, _, m in a] == pytest.approx([m for _, _, _, m in b])


def test_every_query_matches_the_per_minute_rows(db_url: str) -> None:
    rng = random.Random(7)
    _fill(db_url, rng)
    engine = make_engine(db_url)
    coarse_used = 0
    with Session(engine) as db:
        for _ in range(120):
            metric = rng.choice(["detections", "queue", "anomalies"])
            lo, hi = _range(rng)
            bucket = rng.choice([1, 5, 10, 60, 120, 1440]) * 60_000
            keys = rng.sample(DIMS, rng.randint(0, 2))
            values = {"node_id": rng.choice(NODES), "cls": rng.choice(["car", "bus", "queue"])}
            values |= {"intersection": rng.choice(["int-0", "int-2"]), "approach": "north"}
            filters: dict[analytics.Key, str] = {k: values[k] for k in keys}
            pieces = analytics.plan(analytics.chain(bucket, set(filters)), lo, hi)
            coarse_used += any(p.level is not MINUTE for p in pieces)
            got = analytics.series(db, metric, bucket, filters, lo, hi)
            want = db.execute(
                analytics.query(
                    [analytics.Piece(MINUTE, lo, hi)], metric, filters, bucket
                ).order_by("k")
            ).all()
            _close(got, [(int(k), int(n), t, m) for k, n, t, m in want])

            by = rng.choice(["cls", "node_id", "intersection", "approach"])
            got_d = analytics.distribution(db, metric, by, lo, hi, limit=100)
            want_d = analytics.distribution_from(
                db, [analytics.Piece(MINUTE, lo, hi)], metric, by, 100
            )
            _close(got_d, want_d)
    engine.dispose()
    assert coarse_used > 60  # most queries really read a coarser level


def test_plan_covers_the_range_without_overlap() -> None:
    rng = random.Random(3)
    for _ in range(500):
        bucket = rng.choice([1, 5, 60, 120]) * 60_000
        lo = rng.randrange(0, 50 * HOUR)
        hi = lo + rng.randrange(1, 50 * HOUR)
        pieces = analytics.plan(analytics.chain(bucket, set(rng.sample(DIMS, 2))), lo, hi)
        assert pieces[0].lo == lo and pieces[-1].hi == hi
        for a, b in itertools.pairwise(pieces):
            assert a.hi == b.lo
        for p in pieces:
            assert p.lo is not None and p.hi is not None and p.lo < p.hi
            if p.level is not MINUTE:
                assert p.lo % p.level.res_ms == 0 and p.hi % p.level.res_ms == 0
                assert bucket % p.level.res_ms == 0


def test_the_smallest_level_keeping_the_needed_dimensions_is_chosen() -> None:
    assert [lv.name for lv in analytics.chain(HOUR, set())] == ["city-hour", "city-5min", "minute"]
    assert analytics.chain(HOUR, {"node_id"})[0].name == "node-hour-total"
    assert analytics.chain(HOUR, {"node_id", "cls"})[0].name == "node-hour"
    assert analytics.chain(HOUR, {"intersection", "cls"})[0].name == "area-hour"
    assert analytics.chain(5 * 60_000, {"approach", "node_id"}) == [MINUTE]
    for needs in ({"cls"}, {"node_id", "approach"}, {"intersection", "cls"}):
        assert all(needs <= lv.keeps for lv in analytics.chain(None, needs))  # type: ignore[operator]


def test_rebuild_from_minute_rows_equals_what_ingest_built(db_url: str) -> None:
    _fill(db_url, random.Random(11))
    engine = make_engine(db_url)
    order = [
        getattr(RollupLevelRow, c)
        for c in ("level", "node_id", "bucket_ms", "cls", "intersection", "approach")
    ]
    cols = [*order, RollupLevelRow.n, RollupLevelRow.total, RollupLevelRow.max]
    with engine.begin() as conn:
        incremental = conn.execute(select(*cols).order_by(*order)).all()
        for stmt in rebuild_statements():
            conn.execute(stmt)
        rebuilt = conn.execute(select(*cols).order_by(*order)).all()
    engine.dispose()
    assert {r[0] for r in incremental} == {lv.id for lv in LEVELS}
    assert [r[:7] for r in rebuilt] == [r[:7] for r in incremental]
    assert [r[7] for r in rebuilt] == pytest.approx([r[7] for r in incremental])
    assert [r[8] for r in rebuilt] == [r[8] for r in incremental]
