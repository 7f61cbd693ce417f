"""Ingest into SQLite and PostgreSQL: storage, idempotence, loss, rollups, quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from backend.analytics.alert_rules import AlertEvaluator
from backend.core.db import make_engine
from backend.core.orm import (
    AlertRow,
    AlertRule,
    AnomalyRow,
    ConsensusRow,
    DetectionRow,
    LogRow,
    MessageRow,
    Node,
    QuarantineRow,
    RollupRow,
)
from backend.ingest.ingestor import Ingestor
from backend.ingest.store import Store
from edgeqi.protocol import MAX_MESSAGE_BYTES
from tests.backend import factory as f


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def ingestor(engine: Engine) -> Ingestor:
    return Ingestor(Store(engine), batch_size=50, alert_hook=AlertEvaluator(engine))


def count(engine: Engine, model: type, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def one(engine: Engine, model: type) -> Any:
    with Session(engine) as session:
        return session.scalars(select(model)).one()


def reasons(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.scalars(select(QuarantineRow.reason)))


def test_every_kind_is_stored(engine: Engine, ingestor: Ingestor) -> None:
    for m in (
        f.detections("cam-1", 0, n=3),
        f.heartbeat("cam-1", 1),
        f.queue("cam-1", 2),
        f.anomaly("cam-1", 3),
        f.log("cam-1", 4),
        f.consensus("cam-1", 5),
    ):
        ingestor.submit(*f.wire(m))
    assert ingestor.flush() == 6
    assert count(engine, MessageRow) == 6
    assert count(engine, DetectionRow) == 3
    assert count(engine, AnomalyRow) == 1
    assert count(engine, LogRow) == 1
    assert count(engine, ConsensusRow) == 1
    assert reasons(engine) == []
    node = one(engine, Node)
    assert (node.received, node.min_seq, node.max_seq) == (6, 0, 5)
    assert node.battery_soc == pytest.approx(0.8)
    assert node.intersection == "int-1"
    assert (node.discarded, node.deferred) == (3, 2)


def test_duplicates_are_stored_once_and_counted(engine: Engine, ingestor: Ingestor) -> None:
    msg = f.detections("cam-1", 7, n=2)
    for _ in range(3):
        ingestor.submit(*f.wire(msg))
    ingestor.flush()
    ingestor.submit(*f.wire(msg))  # redelivered after the first flush
    ingestor.flush()
    assert count(engine, MessageRow) == 1
    assert count(engine, DetectionRow) == 2
    assert reasons(engine) == ["duplicate"] * 3
    with engine.connect() as conn:
        assert conn.scalar(select(func.sum(RollupRow.n))) == 2
        assert conn.scalar(select(Node.received)) == 1


def test_seq_gaps_count_as_loss_even_out_of_order(engine: Engine, ingestor: Ingestor) -> None:
    for seq in (5, 1, 2, 9):
        ingestor.submit(*f.wire(f.heartbeat("cam-2", seq)))
    ingestor.flush()
    node = one(engine, Node)
    assert node.max_seq - node.min_seq + 1 - node.received == 5  # 3, 4, 6, 7, 8
    ingestor.submit(*f.wire(f.heartbeat("cam-2", 4)))  # a late arrival fills a gap
    ingestor.flush()
    assert ingestor.metrics.node_lost.labels("cam-2")._value.get() == 4


def test_rollups_per_minute_node_class_approach(engine: Engine, ingestor: Ingestor) -> None:
    ingestor.submit(*f.wire(f.detections("cam-1", 0, n=4, ts=f.T0)))
    ingestor.submit(*f.wire(f.detections("cam-1", 1, n=2, ts=f.T0 + 1)))
    ingestor.submit(*f.wire(f.detections("cam-1", 2, n=2, ts=f.T0 + 120)))
    ingestor.submit(*f.wire(f.queue("cam-1", 3, vehicles=4)))
    ingestor.submit(*f.wire(f.queue("cam-1", 4, vehicles=10, ts=f.T0 + 2)))
    ingestor.flush()
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                RollupRow.minute_ms,
                RollupRow.cls,
                RollupRow.approach,
                RollupRow.n,
                RollupRow.total,
                RollupRow.max,
            ).order_by(RollupRow.minute_ms, RollupRow.cls)
        ).all()
    minute = int(f.T0 * 1000) // 60_000 * 60_000
    got = {(r[0] - minute, r[1], r[2]): (r[3], r[4], r[5]) for r in rows}
    assert got[(0, "car", "")][0] == 3
    assert got[(0, "person", "")][0] == 3
    assert got[(120_000, "car", "")][0] == 1
    assert got[(0, "queue", "north")] == (2, pytest.approx(14.0), pytest.approx(10.0))


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("edgeqi/v1/nodes/cam-1/heartbeat", b"{not json", "invalid_json"),
        ("edgeqi/v1/nodes/cam-1/heartbeat", b'{"v":1,"node_id":"cam-1","seq":1}', "unknown_kind"),
        ("edgeqi/v1/nodes/cam-1/bogus", b"{}", "unknown_kind"),
        ("edgeqi/v1/elsewhere/x", b"{}", "bad_topic"),
        ("edgeqi/v1/nodes/cam-1/heartbeat", b" " * (MAX_MESSAGE_BYTES + 1), "oversized"),
    ],
)
def test_bad_payloads_are_quarantined(
    engine: Engine, ingestor: Ingestor, topic: str, payload: bytes, reason: str
) -> None:
    ingestor.submit(topic, payload)
    ingestor.flush()
    assert reasons(engine) == [reason]
    row = one(engine, QuarantineRow)
    assert row.topic == topic
    assert row.size_bytes == len(payload)
    assert payload.startswith(row.payload)
    assert ingestor.metrics.quarantined.labels(reason)._value.get() == 1


def test_consensus_for_one_member_is_stored_and_a_bad_member_is_not(
    engine: Engine, ingestor: Ingestor
) -> None:
    topic, payload = f.wire(f.consensus("cam-1", 9))
    ingestor.submit(f"{topic}/cam-2", payload)
    ingestor.submit(f"{topic}/cam 2", payload)
    ingestor.submit(f"{topic}/cam-2/x", payload)
    ingestor.flush()
    assert count(engine, MessageRow) == 1
    assert reasons(engine) == ["bad_topic", "bad_topic"]


def test_topic_must_match_payload(engine: Engine, ingestor: Ingestor) -> None:
    _, payload = f.wire(f.heartbeat("cam-1", 1))
    ingestor.submit("edgeqi/v1/nodes/cam-2/heartbeat", payload)
    ingestor.submit("edgeqi/v1/nodes/cam-1/queue", payload)
    ingestor.flush()
    assert reasons(engine) == ["kind_mismatch", "node_mismatch"]
    assert count(engine, MessageRow) == 0


def test_flushes_by_size_in_background(engine: Engine, ingestor: Ingestor) -> None:
    ingestor.flush_interval_s = 60  # only the size trigger can flush
    ingestor.start()
    try:
        for seq in range(120):
            ingestor.submit(*f.wire(f.heartbeat("cam-3", seq)))
        import time

        deadline = time.monotonic() + 10
        while count(engine, MessageRow) < 100 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert count(engine, MessageRow) >= 100
    finally:
        ingestor.stop()
    assert count(engine, MessageRow) == 120


def test_alert_rules_fire_on_ingest_with_cooldown(engine: Engine, ingestor: Ingestor) -> None:
    with engine.begin() as conn:
        conn.execute(
            AlertRule.__table__.insert(),
            [
                {
                    "name": "low battery",
                    "metric": "heartbeat.battery_soc",
                    "op": "<",
                    "threshold": 0.2,
                    "node_id": None,
                    "severity": "critical",
                    "action": "notify",
                    "webhook_url": None,
                    "cooldown_s": 60.0,
                    "enabled": True,
                    "created_ms": 0,
                },
            ],
        )
    ingestor.submit(*f.wire(f.heartbeat("cam-1", 1, soc=0.1)), received_at=f.T0)
    ingestor.submit(*f.wire(f.heartbeat("cam-1", 2, soc=0.1)), received_at=f.T0 + 10)
    ingestor.submit(*f.wire(f.heartbeat("cam-1", 3, soc=0.9)), received_at=f.T0 + 20)
    ingestor.submit(*f.wire(f.heartbeat("cam-1", 4, soc=0.1)), received_at=f.T0 + 100)
    ingestor.flush()
    with Session(engine) as session:
        rule = session.scalar(select(AlertRule.id).where(AlertRule.name == "low battery"))
        query = select(AlertRow).where(AlertRow.rule_id == rule).order_by(AlertRow.id)
        alerts = session.scalars(query).all()
    # The 2nd is the same alert still firing; the 3rd resolves it; the 4th opens a new one.
    assert [a.severity for a in alerts] == ["critical", "critical"]
    assert [a.state for a in alerts] == ["resolved", "firing"]
    assert alerts[0].value == pytest.approx(0.1)


def test_replayed_batch_merges_once_through_copy(engine: Engine) -> None:
    """A batch redelivered whole (a crash between commit and PUBACK), then one half old
    and half new: every message and detection is stored once, counters and rollups too."""
    store = Store(engine)
    assert store.copy == (engine.dialect.name == "postgresql")
    batch = [f.accepted(f.detections("cam-9", seq, n=3)) for seq in range(20)]
    first = store.write(batch, [])
    replay = store.write(batch, [])
    mixed = store.write(
        batch[10:] + [f.accepted(f.detections("cam-9", seq, n=3)) for seq in range(20, 30)], []
    )
    assert (len(first.new), first.duplicates) == (20, 0)
    assert (len(replay.new), replay.duplicates) == (0, 20)
    assert (len(mixed.new), mixed.duplicates) == (10, 10)
    assert [a.message.seq for a in mixed.new] == list(range(20, 30))
    assert count(engine, MessageRow) == 30
    assert count(engine, DetectionRow) == 90
    with engine.connect() as conn:
        assert conn.scalar(select(func.sum(RollupRow.n))) == 90
        assert conn.scalar(select(Node.received)) == 30
        assert conn.scalar(select(Node.max_seq)) == 29
        idx = conn.execute(
            select(DetectionRow.idx).where(DetectionRow.seq == 25).order_by(DetectionRow.idx)
        ).scalars()
        assert list(idx) == [0, 1, 2]
    assert reasons(engine) == ["duplicate"] * 30
