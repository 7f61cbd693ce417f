"""``edgeqi node`` end to end: the street video, recorded tegrastats, a real Mosquitto, the
real backend ingest, two PBFT peers, and the broker stopped and restarted mid-run, the
node itself restarted while the broker is away.

The node runs as its own process, as systemd would start it (``NOTIFY_SOCKET`` set,
stopped with SIGTERM). Its ``--record`` file lists every message it produced; the
backend's tables must hold each of them exactly once afterwards, with no gap in
``seq``. The two peers are the same :class:`~hardware.cluster.CameraCluster` the node
runs, in this process, with their own keys.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from backend.core.db import make_engine, migrate
from backend.core.orm import ConsensusRow, MessageRow
from backend.ingest.ingestor import Ingestor
from backend.ingest.mqtt_source import MqttSource
from backend.ingest.store import Store
from experiments.tools.keys import generate
from experiments.tools.provision import device_section
from hardware import tegrastats
from hardware.cluster import CameraCluster
from hardware.key_files import load_directory, load_keypair
from hardware.model_store import media_path
from tests.backend.services import Mosquitto

pytestmark = pytest.mark.integration

RECORDED = Path(__file__).parent / "recorded"
NODE, PEERS, CLUSTER = "cam-e2e", ("peer-1", "peer-2"), "i-e2e"
CYCLE_S = 3.0


class NotifySocket:
    """What systemd would receive from the node on ``$NOTIFY_SOCKET``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.lines.extend(self.sock.recv(4096).decode().splitlines())
            except TimeoutError:
                continue

    def wait_for(self, line: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if line in self.lines:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


class Peers:
    """Two simulated cameras of the intersection, stepping their replicas in a thread."""

    def __init__(self, keys: Path, port: int) -> None:
        public = load_directory(keys / "directory.json")
        members = (NODE, *PEERS)
        self.clusters = [
            CameraCluster(
                CLUSTER,
                members,
                load_keypair(keys / f"{p}.key", p),
                public,
                dict.fromkeys(members, ("all",)),
                lambda i=i: {"all": 2.0 + i},
                "127.0.0.1",
                port,
                CYCLE_S,
                clock=time.time,
            )
            for i, p in enumerate(PEERS)
        ]
        assert all(c.wait_ready(10) for c in self.clusters)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for c in self.clusters:
                c.step(timeout=0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for c in self.clusters:
            c.close()


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[tuple[Any, Mosquitto]]:
    """Mosquitto and the backend's ingest (MQTT source, batched idempotent store) on SQLite."""
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    migrate(url)
    engine = make_engine(url)
    ingestor = Ingestor(Store(engine), batch_size=200, flush_interval_s=0.05)
    ingestor.start()
    source = MqttSource(
        broker.url, ingestor, client_id="backend-e2e", reconnect_min_s=0.5, reconnect_max_s=1
    )
    source.start()
    assert source.wait_connected(10)
    try:
        yield engine, broker
    finally:
        source.stop()
        ingestor.stop()
        engine.dispose()
        broker.stop()


def node_yaml(tmp_path: Path, port: int) -> Path:
    config = {
        "node_id": NODE,
        "intersection": CLUSTER,
        "camera": {"source": str(media_path("street.mp4")), "fps": 3, "loop": True},
        "model": {"full": "ssdlite-person", "reduced": "ssdlite-person-int8", "threads": 1},
        # The node may well reconnect before the backend: Mosquitto 2.0.11 does not restore
        # the backend's shared subscription after a restart, and the transport holds what
        # the broker acknowledges with "no matching subscribers" until it subscribes again.
        "broker": {"url": f"mqtt://127.0.0.1:{port}", "reconnect_min_s": 1, "reconnect_max_s": 1},
        "queue": {"path": "queue.db"},
        "consensus": {
            "key_file": "keys/cam-e2e.key",
            "directory_file": "keys/directory.json",
            "peers": [NODE, *PEERS],
        },
        "power": {
            "kind": "tegrastats",
            "replay": str(RECORDED / "tegrastats_nano.log"),
            "options": {"interval_ms": 700},
            "device": device_section("jetson_nano_10w"),
        },
        # Algorithm 1 with every observation sent, so that queue reports and detections
        # flow every step (Algorithm 2 may rightly stay silent for a minute of street video).
        "policy": "edgeqi_no_alg2",
        "heartbeat_s": 2.0,
        "observe_period_s": 1.0,
        "cycle_s": CYCLE_S,
    }
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def stored_rows(engine: Any) -> dict[int, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(MessageRow.seq, MessageRow.kind, MessageRow.payload).where(
                MessageRow.node_id == NODE
            )
        )
        return {int(r[0]): (str(r[1]), r[2]) for r in rows}


def test_node_survives_a_broker_outage_and_a_restart_and_loses_nothing(
    tmp_path: Path, backend: tuple[Any, Mosquitto], models_cached: None
) -> None:
    engine, broker = backend
    generate(tmp_path / "keys", [NODE, *PEERS])
    peers = Peers(tmp_path / "keys", broker.port)
    notify = NotifySocket(tmp_path / "notify.sock")
    record = tmp_path / "record.jsonl"
    config = node_yaml(tmp_path, broker.port)
    log = (tmp_path / "node.log").open("wb")
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path)}
    cmd = [sys.executable, "-m", "experiments.cli", "node", "--config", str(config)]

    def start() -> subprocess.Popen[bytes]:
        notify.lines.clear()
        proc = subprocess.Popen(
            [*cmd, "--record", str(record)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        assert notify.wait_for("READY=1", 60), (tmp_path / "node.log").read_text()
        return proc

    proc = start()
    try:
        time.sleep(6)
        outage = (time.time(), 0.0)
        broker.stop()
        time.sleep(1)
        # The node is restarted while the broker is away: what it held stays in its queue
        # file, and it numbers its messages on from where it stopped.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "STOPPING=1" in notify.lines
        proc = start()
        time.sleep(2)
        broker.start()
        outage = (outage[0], time.time())
        time.sleep(9)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        peers.close()
        notify.close()
        log.close()
    node_log = (tmp_path / "node.log").read_text()
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    ends = [r for r in rows if r.get("end")]
    assert len(ends) == 2 and not ends[0]["flushed"] and ends[0]["queued"] > 0, ends
    end = ends[-1]
    assert end["flushed"], node_log[-3000:]
    assert "STOPPING=1" in notify.lines and "WATCHDOG=1" in notify.lines

    # Every seq the node produced, once, with no gap; everything that went through the
    # durable queue stored. A consensus message addressed to one member (a topic level
    # deeper) goes straight to paho, not through the queue, so it may or may not be there.
    produced = [m for r in rows for m in r.get("msgs", [])]
    seqs = sorted(m[0] for m in produced)
    assert seqs == list(range(end["seq"]))
    kinds = {m[0]: m[1] for m in produced}
    expected = {m[0] for m in produced if m[3].count("/") == 4}
    deadline = time.monotonic() + 20
    stored = stored_rows(engine)
    while not expected <= set(stored) and time.monotonic() < deadline:
        time.sleep(0.2)
        stored = stored_rows(engine)
    missing = sorted(expected - set(stored))
    assert not missing, f"{len(missing)} never stored, e.g. {missing[:10]}"
    assert {s: k for s, (k, _) in stored.items()} == {s: kinds[s] for s in stored}

    # Heartbeats carry the replayed tegrastats power, and board health.
    recorded_w = {s.input_w for s in tegrastats.replay(RECORDED / "tegrastats_nano.log")}
    beats = [json.loads(p or "{}") for k, p in stored.values() if k == "heartbeat"]
    assert len(beats) >= 8
    assert {b["power_w"] for b in beats} <= recorded_w and len({b["power_w"] for b in beats}) > 1
    assert all("cpu" in b and b["mem_mb"] > 0 for b in beats)
    during = [b for b in beats if outage[0] <= b["ts"] <= outage[1]]
    assert during  # produced while the broker was down, delivered after it came back

    # Reports: queue observations per step and the detections of the street video.
    kinds = [k for k, _ in stored.values()]
    assert kinds.count("queue") >= 10 and kinds.count("detections") >= 10

    # Consensus: the node and both peers decided the same values for the same cycles, from
    # at least two of the three signed reports (a quorum); some included all three (on a
    # loaded machine the node's report can miss the peers' collection window).
    node_decided = {r["decided"]: r for r in rows if "decided" in r}
    assert len(node_decided) >= 3, node_log[-3000:]
    assert all(len(r["reporters"]) >= 2 for r in node_decided.values())
    assert any(len(r["reporters"]) == 3 for r in node_decided.values())
    for peer in peers.clusters:
        theirs = {o.cycle: o.fused for o in peer.outcomes}
        common = set(theirs) & set(node_decided)
        assert len(common) >= 3
        assert {c: theirs[c] for c in common} == {c: node_decided[c]["fused"] for c in common}
    with engine.connect() as conn:
        phases = {
            str(p)
            for p in conn.scalars(select(ConsensusRow.phase).where(ConsensusRow.node_id == NODE))
        }
    assert {"report", "commit"} <= phases
