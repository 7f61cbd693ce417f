"""A field node's transport against a real Mosquitto: durable queue across a restart, TLS.

The node process "restarts" here as it would after a power cut: the transport and its
queue file are closed with messages queued and in flight, a new queue is opened on
the same file and a new transport sends what it holds.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest

from edgeqi.protocol import DetectionBatch, Message
from experiments.services import BrokerTls
from hardware.disk_buffer import DiskForwardBuffer
from netio.mqtt_transport import MqttTls, MqttTransport, broker_host_port
from tests.backend.mqtt_helpers import Ledger
from tests.backend.pki import make_pki
from tests.backend.services import Mosquitto, mosquitto_with_logins

pytestmark = pytest.mark.integration


def frame(node: str, seq: int) -> Message:
    return DetectionBatch(
        node_id=node, seq=seq, ts=1.0, intersection="i", frame_ts=1.0, detections=[]
    )


def test_queue_on_disk_survives_a_node_restart_during_an_outage(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    ledger = Ledger(mosquitto.port)
    queue = tmp_path / "queue.sqlite"
    buffer = DiskForwardBuffer(queue, capacity=1000)
    transport = MqttTransport("127.0.0.1", mosquitto.port, "cam-3", window=20, buffer=buffer)
    transport.start()
    try:
        assert transport.wait_connected(10)
        for seq in range(50):
            transport.send(frame("cam-3", seq))
        assert transport.flush(15)
        mosquitto.stop()  # the uplink goes down; the node keeps producing
        time.sleep(0.3)
        for seq in range(50, 150):
            assert transport.send(frame("cam-3", seq))
        assert buffer.queued == 100
    finally:
        transport.close()
    # The process dies with ten messages handed to the network but unacknowledged.
    assert len(buffer.take(10)) == 10
    buffer.close()

    reopened = DiskForwardBuffer(queue, capacity=1000)
    assert reopened.requeued_on_open == 10 and reopened.queued == 100
    assert reopened.accepted == 150 and reopened.acked == 50
    mosquitto.start()
    again = MqttTransport("127.0.0.1", mosquitto.port, "cam-3", window=20, buffer=reopened)
    again.start()
    try:
        assert again.flush(30)
        got = ledger.wait_for(150)
    finally:
        again.close()
        ledger.close()
        reopened.close()
    assert got == {("cam-3", s) for s in range(150)}
    assert reopened.acked == 150 and sum(reopened.dropped.values()) == 0


@pytest.mark.parametrize("mutual", [False, True])
def test_tls_with_node_credentials_and_optional_client_certificate(
    tmp_path: Path, mutual: bool
) -> None:
    pki = make_pki(tmp_path / "pki", client_cn="cam-1")
    broker = mosquitto_with_logins(
        tmp_path,
        {"cam-1": "pw-1", "backend": "pw-b"},
        ["backend"],
        ["cam-1"],
        tls=BrokerTls(pki.ca, pki.server_cert, pki.server_key, require_certificate=mutual),
    )
    broker.start()
    ledger = Ledger(broker.port, "backend", "pw-b")
    host, port = broker_host_port(broker.tls_url)
    client_files = (pki.client_cert, pki.client_key) if mutual else (None, None)
    tls = MqttTls(pki.ca, *client_files)
    node = MqttTransport(host, port, "cam-1", "cam-1", "pw-1", tls=tls)
    wrong_ca = make_pki(tmp_path / "other").ca
    impostor = MqttTransport(host, port, "cam-1b", "cam-1", "pw-1", tls=MqttTls(wrong_ca))
    try:
        node.start()
        impostor.start()
        assert node.wait_connected(10)
        for seq in range(20):
            assert node.send(frame("cam-1", seq))
        assert node.flush(10)
        assert ledger.wait_for(20) == {("cam-1", s) for s in range(20)}
        # A broker whose certificate this CA did not sign is never talked to.
        assert not impostor.wait_connected(1.5)
    finally:
        node.close()
        impostor.close()
        ledger.close()
        broker.stop()
    assert node.stats().delivered == 20 and node.stats().refused == 0


def test_mutual_tls_broker_refuses_a_node_without_a_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    broker = Mosquitto(
        tmp_path, tls=BrokerTls(pki.ca, pki.server_cert, pki.server_key, require_certificate=True)
    )
    broker.start()
    host, port = broker_host_port(broker.tls_url)
    node = MqttTransport(host, port, "cam-1", tls=MqttTls(pki.ca))
    try:
        node.start()
        assert not node.wait_connected(1.5)
    finally:
        node.close()
        broker.stop()


def test_tls_context_checks_the_broker_name_and_needs_tls_1_2(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    ctx = MqttTls(pki.ca, pki.client_cert, pki.client_key).context()
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert broker_host_port("mqtts://broker.example") == ("broker.example", 8883)
