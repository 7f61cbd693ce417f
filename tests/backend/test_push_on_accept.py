"""Live events leave on acceptance, before the flush commits; duplicates and refusals never."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from backend.core.db import make_engine
from backend.core.orm import MessageRow
from backend.ingest.ingestor import Ingestor
from backend.ingest.store import Accepted, Store, WriteResult
from tests.backend import factory as f


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


class Heard:
    """What each listener of an ingestor was told, with the stored count at that moment."""

    def __init__(self, ingestor: Ingestor, engine: Engine) -> None:
        self.engine = engine
        self.early: list[tuple[int, int]] = []
        self.flushed: list[int] = []
        ingestor.accept_listeners.append(self.on_accept)
        ingestor.listeners.append(self.on_flush)

    def rows(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count(MessageRow.id))) or 0)

    def on_accept(self, item: Accepted) -> None:
        self.early.append((item.message.seq, self.rows()))

    def on_flush(self, result: WriteResult) -> None:
        self.flushed.extend(i.message.seq for i in result.new if not i.pushed)


def test_a_proven_new_message_is_heard_before_its_flush_commits(engine: Engine) -> None:
    # A flush interval no test waits for: only an explicit flush writes.
    ingestor = Ingestor(Store(engine), batch_size=10_000, flush_interval_s=3600)
    heard = Heard(ingestor, engine)
    ingestor.submit(*f.wire(f.detections("cam-1", 0)))
    ingestor.flush()
    # The first message of a node this process never stored is unproven: after its flush.
    assert heard.flushed == [0] and heard.early == []
    ingestor.submit(*f.wire(f.detections("cam-1", 1)))
    ingestor.submit(*f.wire(f.heartbeat("cam-1", 2)))
    assert heard.early == [(1, 1), (2, 1)]  # heard while only seq 0 is in the table
    assert ingestor.flush() == 2
    assert heard.flushed == [0]  # not told twice
    assert heard.rows() == 3


def test_duplicates_and_refused_messages_are_never_heard(engine: Engine) -> None:
    ingestor = Ingestor(Store(engine), batch_size=10_000, flush_interval_s=3600)
    heard = Heard(ingestor, engine)
    ingestor.submit(*f.wire(f.detections("cam-1", 5)))
    ingestor.flush()
    ingestor.submit(*f.wire(f.detections("cam-1", 6)))
    ingestor.submit(*f.wire(f.detections("cam-1", 6)))  # redelivered while pending
    ingestor.submit(*f.wire(f.detections("cam-1", 5)))  # redelivered after its commit
    ingestor.submit(*f.wire(f.detections("cam-1", 3)))  # below the mark, new: after flush
    ingestor.submit("edgeqi/cam-1/detections", b"{not json")
    topic, payload = f.wire(f.detections("cam-1", 9))
    ingestor.submit(topic.replace("cam-1", "cam-2"), payload)  # speaks for another node
    ingestor.flush()
    assert [seq for seq, _ in heard.early] == [6]
    assert heard.flushed == [5, 3]
    assert heard.rows() == 3


def test_without_accept_listeners_everything_is_told_after_its_flush(engine: Engine) -> None:
    ingestor = Ingestor(Store(engine), batch_size=10_000, flush_interval_s=3600)
    told: list[int] = []
    ingestor.listeners.append(lambda r: told.extend(i.message.seq for i in r.new if not i.pushed))
    for seq in range(3):
        ingestor.submit(*f.wire(f.heartbeat("cam-1", seq)))
        ingestor.flush()
    assert told == [0, 1, 2]
