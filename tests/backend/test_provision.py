"""``edgeqi provision`` end to end: the real backend registers the node, the broker learns
its login from the backend's database, and the node connects over TLS from ``node.yaml``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.ingest.broker_acl import main as mqtt_acl
from edgeqi.protocol import DetectionBatch
from experiments.cli import main as cli
from experiments.services import BrokerTls
from experiments.tools.provision import add_to_mosquitto
from hardware.node_config import PowerKind, load
from hardware.uplink import open_uplink
from tests.backend.mqtt_helpers import Ledger
from tests.backend.pki import make_pki
from tests.backend.services import Mosquitto, edgeqi_serve

TOKEN = "provision-token-for-tests"


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``edgeqi serve`` as an operator runs it: (its URL, its database URL)."""
    db = f"sqlite:///{tmp_path / 'backend.db'}"
    env = {"EDGEQI_DATABASE_URL": db, "EDGEQI_PROVISIONING_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}
    with edgeqi_serve(env) as url:
        yield url, db


@pytest.mark.integration
def test_provisioned_node_registers_and_publishes_over_tls(
    tmp_path: Path, backend: tuple[str, str]
) -> None:
    backend_url, db_url = backend
    pki = make_pki(tmp_path / "pki")
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    broker = Mosquitto(
        broker_dir,
        extra_conf=f"password_file {broker_dir / 'passwd'}\nacl_file {broker_dir / 'acl'}\n",
        allow_anonymous=False,
        tls=BrokerTls(pki.ca, pki.server_cert, pki.server_key),
    )
    (tmp_path / "token").write_text(TOKEN + "\n")
    cluster = tmp_path / "cluster" / "directory.json"
    node_dir = tmp_path / "cam-001"
    args = [
        "provision",
        "--node-id=cam-001",
        "--intersection=int-1",
        f"--out={node_dir}",
        f"--broker-url={broker.tls_url}",
        f"--ca-file={pki.ca}",
        f"--backend-url={backend_url}",
        f"--token-file={tmp_path / 'token'}",
        f"--directory={cluster}",
        "--peers=cam-001,cam-002",
        "--power=ina219",
        "--power-option=address=0x41",
        "--power-option=shunt_ohms=0.05",
    ]
    assert cli(args) == 0
    assert cli(args) == 2  # provisioned already: refused without --rotate
    (tmp_path / "token").write_text("wrong\n")
    assert cli([*args, "--rotate"]) == 2  # the backend refuses a bad token
    (tmp_path / "token").write_text(TOKEN + "\n")

    config = load(node_dir / "node.yaml")
    assert config.node_id == "cam-001" and config.power.kind is PowerKind.INA219
    assert config.power.options == {"address": 0x41, "shunt_ohms": 0.05}
    assert config.consensus is not None and config.consensus.peers == ["cam-001", "cam-002"]
    assert (node_dir / "mqtt.password").stat().st_mode & 0o777 == 0o600
    assert (node_dir / "keys" / "cam-001.key").stat().st_mode & 0o777 == 0o600
    assert "cam-001" in json.loads(cluster.read_text())
    assert "queue.sqlite" in (node_dir / "node.yaml").read_text()  # relative paths

    # The broker's password and ACL files come from the backend's database.
    acl_args = ["--out-dir", str(broker_dir), "--backend-user", "ingest:pw-b"]
    assert mqtt_acl([*acl_args, "--database-url", db_url]) == 0
    broker.start()
    ledger = Ledger(broker.port, "ingest", "pw-b")
    uplink = open_uplink(config)
    try:
        uplink.transport.start()
        assert uplink.transport.wait_connected(10)
        for seq in range(5):
            uplink.transport.send(
                DetectionBatch(
                    node_id="cam-001",
                    seq=seq,
                    ts=1.0,
                    intersection="int-1",
                    frame_ts=1.0,
                    detections=[],
                )
            )
        assert uplink.transport.flush(10)
        assert ledger.wait_for(5) == {("cam-001", s) for s in range(5)}
    finally:
        uplink.close()
        ledger.close()
        broker.stop()

    # Rotating issues a new password; the node's old one no longer matches the hash.
    old = (node_dir / "mqtt.password").read_text()
    assert cli([*args, "--rotate"]) == 0
    assert (node_dir / "mqtt.password").read_text() != old


def test_bench_login_is_merged_into_existing_mosquitto_files(tmp_path: Path) -> None:
    add_to_mosquitto(tmp_path, "cam-001", "pw-1")
    add_to_mosquitto(tmp_path, "cam-002", "pw-2")
    first = (tmp_path / "passwd").read_text()
    add_to_mosquitto(tmp_path, "cam-001", "pw-new")  # rotation: new hash, one ACL block
    passwd = dict(line.split(":", 1) for line in (tmp_path / "passwd").read_text().splitlines())
    assert set(passwd) == {"cam-001", "cam-002"}
    assert passwd["cam-001"].startswith("$7$") and passwd["cam-001"] not in first
    acl = (tmp_path / "acl").read_text()
    assert acl.count("user cam-001\n") == 1 and "topic write edgeqi/v1/nodes/cam-002/queue" in acl
    assert acl.count("pattern write edgeqi/v1/consensus/+/%u/#") == 1
