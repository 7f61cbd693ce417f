"""The dashboard's live city: the simulator's nodes over a real broker into the real ingest."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from backend.core.orm import ConsensusRow, DetectionRow, MessageRow, Node, QuarantineRow
from backend.core.service import Runtime
from backend.core.settings import Settings
from experiments.loadtest.live_city import LiveCity, city_scenario
from tests.backend.services import Mosquitto

pytestmark = pytest.mark.integration


@pytest.fixture
def runtime(mosquitto: Mosquitto, sqlite_url: str) -> Iterator[Runtime]:
    rt = Runtime(Settings(database_url=sqlite_url, mqtt_url=mosquitto.url, env="test"))
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()


def test_backfilled_city_is_stored_once_caught_up_then_keeps_publishing(
    runtime: Runtime, mosquitto: Mosquitto
) -> None:
    city = LiveCity(city_scenario(4, backfill_s=120, broker_url=mosquitto.url))
    started = time.time()
    city.start()
    try:
        stored = city.wait_stored(runtime.sessions, timeout=60)
        assert stored >= city.published_at_catch_up > 0
        with runtime.sessions() as db:
            first_ts = db.scalar(select(func.min(DetectionRow.ts_ms)))
            consensus = db.scalar(select(func.count()).select_from(ConsensusRow))
            quarantined = db.scalar(select(func.count()).select_from(QuarantineRow))
            nodes = db.execute(select(Node.node_id, Node.min_seq, Node.max_seq, Node.received))
            ledger = {n: (lo, hi, got) for n, lo, hi, got in nodes}
        # Two simulated minutes of history, stamped before the wall clock.
        assert first_ts is not None and first_ts / 1000 < started - 100
        assert consensus and consensus > 0  # PBFT traffic relayed through the nodes' clients
        assert quarantined == 0  # consensus renumbered into each node's own sequence
        assert sorted(ledger) == ["n00000", "n00001", "n00002", "n00003"]
        for lo, hi, got in ledger.values():
            assert lo is not None and hi is not None
            assert hi - lo + 1 == got  # no gap, no duplicate
        # Live: the city follows the wall clock and the backend keeps receiving.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with runtime.sessions() as db:
                newest = db.scalar(select(func.max(DetectionRow.ts_ms))) or 0
            if newest / 1000 > time.time() - 5 and newest / 1000 > started:
                break
            time.sleep(0.2)
        assert started < newest / 1000 <= time.time() + 1
        assert city.running
        # Received no earlier than sent: the dashboard's node -> backend latency.
        with runtime.sessions() as db:
            early = db.scalar(
                select(func.min(MessageRow.received_ms - MessageRow.ts_ms)).where(
                    MessageRow.ts_ms > started * 1000
                )
            )
        assert early is not None
        assert early >= 0, f"a live message arrived {-early} ms early"
    finally:
        city.stop()
