"""Ingest through a real Mosquitto: delivery, persistent sessions, broker restarts, ACLs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from backend.core.db import make_engine
from backend.core.orm import DetectionRow, MessageRow
from backend.ingest import broker_acl
from backend.ingest.ingestor import Ingestor
from backend.ingest.mqtt_source import MqttSource
from backend.ingest.store import Store
from tests.backend import factory as f
from tests.backend.mqtt_helpers import Publisher, session_present
from tests.backend.services import Mosquitto

pytestmark = pytest.mark.integration


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def stored(engine: Engine, model: type = MessageRow) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def pipeline(sqlite_url: str) -> Iterator[tuple[Engine, Ingestor]]:
    engine = make_engine(sqlite_url)
    ingestor = Ingestor(Store(engine), batch_size=200, flush_interval_s=0.05)
    ingestor.start()
    yield engine, ingestor
    ingestor.stop()
    engine.dispose()


def source(url: str, ingestor: Ingestor, client_id: str = "backend-test") -> MqttSource:
    src = MqttSource(url, ingestor, client_id=client_id, reconnect_min_s=0.5, reconnect_max_s=1)
    src.start()
    assert src.wait_connected(10)
    time.sleep(0.2)  # let the SUBACK land before publishing
    return src


def test_ingest_and_duplicates_through_broker(
    mosquitto: Mosquitto, pipeline: tuple[Engine, Ingestor]
) -> None:
    engine, ingestor = pipeline
    src = source(mosquitto.url, ingestor)
    pub = Publisher(mosquitto.port)
    try:
        msgs = [f.wire(f.detections("cam-1", s, n=3)) for s in range(300)]
        pub.publish_all(msgs + msgs[:50] + [("edgeqi/v1/nodes/cam-1/heartbeat", b"{oops")])
        assert wait_until(lambda: stored(engine) == 300)
        assert wait_until(lambda: ingestor.metrics.duplicates._value.get() == 50)
        assert stored(engine, DetectionRow) == 900
        assert ingestor.metrics.quarantined.labels("invalid_json")._value.get() == 1
    finally:
        pub.close()
        src.stop()


def test_persistent_session_and_broker_restart(
    mosquitto: Mosquitto, pipeline: tuple[Engine, Ingestor]
) -> None:
    engine, ingestor = pipeline
    src = source(mosquitto.url, ingestor, client_id="backend-persist")
    pub = Publisher(mosquitto.port)
    pub.publish_all([f.wire(f.heartbeat("cam-1", s)) for s in range(50)])
    assert wait_until(lambda: stored(engine) == 50)
    pub.close()

    # The backend is away: the broker keeps its QoS 1 messages in the session.
    src.stop()
    pub = Publisher(mosquitto.port)
    pub.publish_all([f.wire(f.heartbeat("cam-1", s)) for s in range(50, 100)])
    pub.close()
    src = source(mosquitto.url, ingestor, client_id="backend-persist")
    assert wait_until(lambda: stored(engine) == 100)
    # A graceful stop acknowledged everything it stored: nothing came back twice.
    assert ingestor.metrics.duplicates._value.get() == 0

    # The broker restarts: the subscriber reconnects by itself and ingest resumes.
    # Messages in flight at the crash may be redelivered (QoS 1 is at-least-once);
    # idempotence on (node_id, seq) stores each exactly once.
    mosquitto.restart()
    assert wait_until(lambda: not src.connected or src.wait_connected(0), 5)
    assert src.wait_connected(20), "subscriber did not reconnect"
    time.sleep(0.3)
    pub = Publisher(mosquitto.port)
    pub.publish_all([f.wire(f.heartbeat("cam-1", s)) for s in range(100, 150)])
    pub.close()
    try:
        assert wait_until(lambda: stored(engine) == 150)
    finally:
        src.stop()
    time.sleep(0.5)
    assert stored(engine) == 150


def test_a_durable_broker_redelivers_nothing_acknowledged_to_a_resumed_session(
    tmp_path: Path, pipeline: tuple[Engine, Ingestor]
) -> None:
    """With the production broker settings (save on every change) a stop right after
    the last PUBACKs once ended the session before the busy broker had read them: 38 to
    45 of 50 acknowledged messages came back to the next session. The source now waits
    for a round trip after its acknowledgements before it disconnects."""
    engine, ingestor = pipeline
    broker = Mosquitto(tmp_path, durable=True)
    broker.start()
    try:
        for rnd in range(3):
            src = source(broker.url, ingestor, client_id="backend-durable")
            pub = Publisher(broker.port)
            pub.publish_all([f.wire(f.heartbeat("cam-1", rnd * 50 + s)) for s in range(50)])
            assert wait_until(lambda n=rnd: stored(engine) == 50 * (n + 1))
            pub.close()
            src.stop()  # at once, while the broker is still saving
        src = source(broker.url, ingestor, client_id="backend-durable")
        time.sleep(1.0)
        src.stop()
    finally:
        broker.stop()
    assert stored(engine) == 150
    assert ingestor.metrics.duplicates._value.get() == 0


def test_acl_node_cannot_publish_as_another(
    tmp_path: Path, pipeline: tuple[Engine, Ingestor]
) -> None:
    engine, ingestor = pipeline
    out = tmp_path / "auth"
    assert (
        broker_acl.main(
            [
                "--out-dir",
                str(out),
                "--backend-user",
                "ingest:ingest-secret",
                "--node",
                "cam-1:pw-one",
                "--node",
                "cam-2:pw-two",
            ]
        )
        == 0
    )
    broker = Mosquitto(
        tmp_path,
        extra_conf=f"password_file {out / 'passwd'}\nacl_file {out / 'acl'}\n",
        allow_anonymous=False,
    )
    broker.start()
    src = source(f"mqtt://ingest:ingest-secret@127.0.0.1:{broker.port}", ingestor)
    try:
        cam1 = Publisher(broker.port, "cam-1", "pw-one")
        own = f.wire(f.heartbeat("cam-1", 1))
        spoofed = f.wire(f.heartbeat("cam-2", 1))
        codes = cam1.publish_all([own, spoofed])
        cam1.close()
        assert not codes[0].is_failure
        assert codes[1].is_failure  # MQTT 5 PUBACK "not authorized"
        assert wait_until(lambda: stored(engine) == 1)
        time.sleep(0.5)
        with engine.connect() as conn:
            assert conn.scalars(select(MessageRow.node_id)).all() == ["cam-1"]

        intruder = Publisher(broker.port, "cam-2", "wrong")
        time.sleep(1)
        assert not intruder.connected.is_set()
        intruder.client.loop_stop()
    finally:
        src.stop()
        broker.stop()


def test_a_retired_replica_leaves_its_share_to_the_others(
    mosquitto: Mosquitto, pipeline: tuple[Engine, Ingestor]
) -> None:
    engine, ingestor = pipeline
    a = source(mosquitto.url, ingestor, client_id="replica-a")
    b = source(mosquitto.url, ingestor, client_id="replica-b")
    pub = Publisher(mosquitto.port)
    try:
        pub.publish_all([f.wire(f.heartbeat("cam-1", s)) for s in range(200)])
        assert wait_until(lambda: stored(engine) == 200)
        assert a.received > 0 and b.received > 0  # the group really shared the load
        a.stop(retire=True)
        assert not session_present(mosquitto.port, "replica-a")
        pub.publish_all([f.wire(f.heartbeat("cam-1", s)) for s in range(200, 400)])
        assert wait_until(lambda: stored(engine) == 400)
        assert a.received + b.received == 400
        # A plain stop keeps the session (and its queue) for the replica's return.
        b.stop()
        assert session_present(mosquitto.port, "replica-b")
    finally:
        pub.close()
