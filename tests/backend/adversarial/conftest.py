"""A broker with the project's logins and ACL, the backend's ingest behind it, and a
foreign client (``mosquitto_pub``, MQTT 5) to attack them with.

Everything runs on free loopback ports and is stopped by the fixture that started it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from backend.core.db import make_engine, migrate
from backend.core.orm import MessageRow, QuarantineRow
from backend.core.prometheus import Metrics
from backend.ingest.identity import Registry
from backend.ingest.ingestor import Ingestor
from backend.ingest.mqtt_source import MqttSource
from backend.ingest.quota import QuarantineQuota
from backend.ingest.store import Store
from tests.backend import factory as f
from tests.backend.services import Mosquitto, mosquitto_client, mosquitto_with_logins

PASSWORDS = {"ingest": "ingest-pw", "cam-001": "pw-cam-001", "cam-002": "pw-cam-002"}
NODES = ["cam-001", "cam-002"]


class Backend:
    """Ingest as ``edgeqi ingest`` runs it: MqttSource -> Ingestor -> SQLite."""

    def __init__(self, broker: Mosquitto, url: str, quota: QuarantineQuota | None) -> None:
        self.broker = broker
        self.engine: Engine = make_engine(url)
        self.metrics = Metrics()
        self.ingestor = Ingestor(
            Store(self.engine),
            self.metrics,
            batch_size=100,
            flush_interval_s=0.05,
            quota=quota,
            registry=Registry(self.engine),
        )
        self.source: MqttSource | None = None
        self._sentinel = 10_000_000

    def start(self) -> None:
        self.ingestor.start()
        url = f"mqtt://ingest:{PASSWORDS['ingest']}@127.0.0.1:{self.broker.port}"
        self.source = MqttSource(url, self.ingestor, client_id="backend-under-test")
        self.source.start()
        assert self.source.wait_connected(10)
        time.sleep(0.2)  # subscription in place

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()
            self.source = None
        self.ingestor.stop()

    def settle(self) -> None:
        """Wait until everything published before now is stored or quarantined.

        A heartbeat of cam-002 published after the attack arrives after it on the one
        subscription; once it is stored, so is everything the broker delivered before.
        """
        self._sentinel += 1
        seq = self._sentinel
        publish("cam-002", self.broker, *f.wire(f.heartbeat("cam-002", seq)))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self.ingestor.flush()
            if self.stored(MessageRow.node_id == "cam-002", MessageRow.seq == seq):
                return
            time.sleep(0.05)
        raise AssertionError("sentinel never stored")

    def stored(self, *where: object) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(MessageRow).where(*where)) or 0)

    def reasons(self) -> list[str]:
        with self.engine.connect() as conn:
            return sorted(conn.scalars(select(QuarantineRow.reason)))

    def quarantined_bytes(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.sum(func.length(QuarantineRow.payload)))) or 0)


def publish(
    user: str, broker: Mosquitto, topic: str, payload: bytes, lines: bool = False
) -> subprocess.CompletedProcess[str]:
    """QoS 1 PUBLISH by ``mosquitto_pub -V 5`` logged in as ``user``: the payload as one
    message, or with ``lines`` one message per line."""
    source = "-l" if lines else "-s" if payload else "-n"
    return subprocess.run(
        [
            mosquitto_client("mosquitto_pub"),
            *("-V", "5", "-q", "1", "-h", "127.0.0.1", "-p", str(broker.port)),
            *("-u", user, "-P", PASSWORDS[user], "-t", topic, source),
        ],
        input=payload.decode("latin-1"),
        encoding="latin-1",
        capture_output=True,
        timeout=30,
        check=True,
    )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """The broker settings, logins and ACL that ``edgeqi mqtt-acl`` ships."""
    (tmp_path / "broker").mkdir()
    b = mosquitto_with_logins(tmp_path / "broker", PASSWORDS, ["ingest"], NODES, durable=True)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def make_backend(broker: Mosquitto, tmp_path: Path) -> Iterator[Callable[..., Backend]]:
    """Builds backends on one migrated SQLite file; stops each at the end."""
    url = f"sqlite:///{tmp_path / 'ingest.db'}"
    migrate(url)
    made: list[Backend] = []

    def build(quota: QuarantineQuota | None = None) -> Backend:
        backend = Backend(broker, url, quota)
        made.append(backend)
        return backend

    yield build
    for backend in made:
        backend.stop()
        backend.engine.dispose()


@pytest.fixture
def backend(make_backend: Callable[..., Backend]) -> Backend:
    b = make_backend()
    b.start()
    return b
