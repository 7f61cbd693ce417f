"""The node MQTT transport against a real Mosquitto: outages, restarts, credentials."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edgeqi.protocol import NODE_SUBSCRIPTION, DetectionBatch, Message
from netio.mqtt_transport import MqttTransport
from netio.netloop import NetworkLoop
from tests.backend.mqtt_helpers import Ledger
from tests.backend.services import Mosquitto, mosquitto_with_logins

pytestmark = pytest.mark.integration


def frame(node: str, seq: int) -> Message:
    return DetectionBatch(
        node_id=node, seq=seq, ts=1.0, intersection="i", frame_ts=1.0, detections=[]
    )


@pytest.mark.parametrize("shared_loop", [False, True])
def test_broker_restart_mid_stream_loses_nothing(mosquitto: Mosquitto, shared_loop: bool) -> None:
    ledger = Ledger(mosquitto.port)
    transport = MqttTransport("127.0.0.1", mosquitto.port, "cam-7", window=20)
    loop = NetworkLoop() if shared_loop else None
    transport.start(loop)
    assert transport.wait_connected(10)
    try:
        for seq in range(300):
            transport.send(frame("cam-7", seq))
            if seq == 100:
                mosquitto.restart()  # in-flight and queued messages must survive this
            if seq == 200:
                mosquitto.stop()  # and a longer outage, sending all along
            time.sleep(0.002)
        assert not transport.connected
        held = transport.stats()
        assert held.queued + held.inflight > 0
        mosquitto.start()
        assert transport.flush(30)
        got = ledger.wait_for(300)
    finally:
        transport.close()
        ledger.close()
        if loop is not None:
            loop.stop()
    assert got == {("cam-7", s) for s in range(300)}
    stats = transport.stats()
    assert stats.delivered == 300 and stats.refused == 0 and sum(stats.dropped.values()) == 0
    assert stats.disconnects >= 2


def test_messages_nobody_was_subscribed_to_are_held_until_a_subscriber_returns(
    mosquitto: Mosquitto,
) -> None:
    """Mosquitto 2.0 forgets a shared subscription over a restart (measured: the
    persistent session comes back, its ``$share`` subscription does not), so what nodes
    publish before the ingest subscribes again meets no subscriber. Those PUBACKs say so
    (reason 16) and the transport keeps the messages until someone takes them."""
    shared = f"$share/edgeqi/{NODE_SUBSCRIPTION}"
    Ledger(mosquitto.port, topic=shared).close()  # the ingest's session, now offline
    mosquitto.restart()
    transport = MqttTransport("127.0.0.1", mosquitto.port, "cam-9", window=10)
    transport.start()
    assert transport.wait_connected(10)
    try:
        for seq in range(40):
            transport.send(frame("cam-9", seq))
        deadline = time.monotonic() + 10
        while transport.stats().unrouted == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        held = transport.stats()
        assert held.unrouted > 0 and held.delivered == 0 and held.queued + held.inflight == 40
        ledger = Ledger(mosquitto.port, topic=shared)  # the ingest is back
        try:
            assert transport.flush(30)
            got = ledger.wait_for(40)
        finally:
            ledger.close()
    finally:
        transport.close()
    assert got == {("cam-9", s) for s in range(40)}
    assert transport.stats().delivered == 40 and transport.stats().refused == 0


def test_outage_beyond_capacity_drops_low_priority_counted(mosquitto: Mosquitto) -> None:
    ledger = Ledger(mosquitto.port)
    transport = MqttTransport("127.0.0.1", mosquitto.port, "cam-8", capacity=50, window=10)
    transport.start()
    assert transport.wait_connected(10)
    mosquitto.stop()
    time.sleep(0.3)
    try:
        kept = [transport.send(frame("cam-8", seq)) for seq in range(80)]
        stats = transport.stats()
        # equal priority: the oldest queued ones make room, the newest are kept
        assert stats.dropped["low"] == 30 and all(kept)
        mosquitto.start()
        assert transport.flush(30)
        got = ledger.wait_for(50)
    finally:
        transport.close()
        ledger.close()
    assert got == {("cam-8", s) for s in range(30, 80)}
    assert transport.stats().delivered == 50


def test_each_node_uses_its_own_credentials(tmp_path: Path) -> None:
    logins = {"cam-1": "pw-1", "backend": "pw-b"}
    broker = mosquitto_with_logins(tmp_path, logins, ["backend"], ["cam-1"])
    broker.start()
    ledger = Ledger(broker.port, "backend", "pw-b")
    good = MqttTransport("127.0.0.1", broker.port, "cam-1", "cam-1", "pw-1")
    bad = MqttTransport("127.0.0.1", broker.port, "cam-1-x", "cam-1", "wrong")
    try:
        good.start()
        bad.start()
        assert good.wait_connected(10)
        assert good.send(frame("cam-1", 0))
        assert good.send(frame("cam-2", 0))  # another node's topic: the ACL refuses it
        assert good.flush(10)
        assert good.stats().delivered == 1 and good.stats().refused == 1
        assert bad.send(frame("cam-1", 1))
        assert not bad.wait_connected(1.5) and bad.stats().queued == 1
        assert bad.last_refusal is not None
        assert ledger.wait_for(1) == {("cam-1", 0)}
    finally:
        good.close()
        bad.close()
        ledger.close()
        broker.stop()


def test_one_network_thread_serves_many_nodes_through_an_outage(mosquitto: Mosquitto) -> None:
    ledger = Ledger(mosquitto.port)
    loop = NetworkLoop()
    nodes = [MqttTransport("127.0.0.1", mosquitto.port, f"cam-{k}", window=10) for k in range(50)]
    for t in nodes:
        t.start(loop)
    try:
        assert all(t.wait_connected(10) for t in nodes)
        for seq in range(20):
            if seq == 10:
                mosquitto.restart()
            for k, t in enumerate(nodes):
                t.send(frame(f"cam-{k}", seq))
        assert all(t.flush(30) for t in nodes)
        got = ledger.wait_for(50 * 20)
    finally:
        for t in nodes:
            t.close()
        loop.stop()
        ledger.close()
    assert got == {(f"cam-{k}", s) for k in range(50) for s in range(20)}
    assert not any(t.connected for t in nodes)
