"""The in-memory last minute that /api/system/status serves matches the ledger's count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.api.system import recent_from_table
from backend.core.db import make_engine
from backend.ingest.ingestor import Ingestor
from backend.ingest.store import Store
from tests.backend import factory as f


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def test_the_window_matches_the_table_as_it_moves(engine: Engine) -> None:
    ingestor = Ingestor(Store(engine), batch_size=10_000, flush_interval_s=3600)
    now = f.T0 + 600.0
    # Received from 90 s ago to now, out of order, with a duplicate and a refusal.
    for seq, ago in enumerate([90, 61, 59.5, 30, 0.5, 75, 10, 60.2, 45]):
        maker = f.detections if seq % 2 else f.heartbeat
        ingestor.submit(*f.wire(maker("cam-1", seq)), received_at=now - ago)
    ingestor.submit(*f.wire(f.heartbeat("cam-1", 3)), received_at=now - 1)
    ingestor.submit("edgeqi/cam-1/heartbeat", b"{}", received_at=now - 1)
    ingestor.flush()
    assert ingestor.recent.at(round(now * 1000)).messages == 5
    with Session(engine) as db:  # the window only moves forward, as the clock does
        for at in (now, now + 20, now + 59, now + 61):
            at_ms = round(at * 1000)
            window = ingestor.recent.at(at_ms)
            assert window == recent_from_table(db, at_ms)
        assert ingestor.recent.at(round((now + 61) * 1000)).messages == 0
