"""The load test's nodes sharded over worker processes, against a real Mosquitto with logins.

Every node logs in as itself from whichever worker holds it, so the broker's ACL (a node
writes only under its own id) is what decides; a subscriber records the topic and the
payload of each message it receives.
"""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edgeqi.protocol import NODE_SUBSCRIPTION, Detection, DetectionBatch, decode, node_topic
from experiments.loadtest.node_shards import ShardedNodes
from sim.realtime import HilConfig
from tests.backend.services import Mosquitto, mosquitto_with_logins

NODES = [f"n{k:05d}" for k in range(10)]


def batch(node: str, seq: int) -> DetectionBatch:
    boxes = [Detection(cls="car", conf=0.9, box=(1.0, 2.0, 3.0, 4.0))] * (seq % 3)
    return DetectionBatch(
        node_id=node, seq=seq, ts=1.0, intersection="i1", frame_ts=1.0, detections=boxes
    )


class Received:
    """(topic, node_id, seq) of every message on the node subtree."""

    def __init__(self, port: int, password: str) -> None:
        self.items: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.username_pw_set("backend", password)
        self.client.on_connect = lambda c, *_: c.subscribe(NODE_SUBSCRIPTION, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        m = decode(bytes(msg.payload))
        with self.lock:
            self.items.append((msg.topic, m.node_id, m.seq))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path: Path) -> tuple[Mosquitto, Path]:
    """A broker where each of NODES but the last may write under its own id only."""
    passwords = {n: f"pw-{n}" for n in NODES} | {"backend": "pw-backend"}
    b = mosquitto_with_logins(tmp_path, passwords, ["backend"], NODES[:-1])
    creds = tmp_path / "nodes.credentials"
    creds.write_text("".join(f"{n}:pw-{n}\n" for n in NODES))
    b.start()
    yield b, creds
    b.stop()


@pytest.mark.integration
def test_sharded_nodes_deliver_each_message_once_as_its_own_node(
    broker: tuple[Mosquitto, Path],
) -> None:
    mosq, creds = broker
    received = Received(mosq.port, "pw-backend")
    cfg = HilConfig(broker_url=f"mqtt://127.0.0.1:{mosq.port}", credentials_file=str(creds))
    nodes = ShardedNodes(cfg, NODES, 3, lambda _n: ("127.0.0.1", mosq.port), spread_s=0.2)
    nodes.start()
    try:
        assert len(nodes.pids) == 3
        for seq in range(20):
            for node in NODES:
                nodes(0, batch(node, seq))
        assert nodes.flush(30)
    finally:
        nodes.close()
        received.close()
    allowed = NODES[:-1]
    want = {(n, s) for n in allowed for s in range(20)}
    keys = [(node, seq) for _, node, seq in received.items]
    assert len(keys) == len(set(keys)) == len(want), "nothing lost, nothing twice"
    assert set(keys) == want, "the node without write rights got nothing through"
    assert all(topic == node_topic(node, "detections") for topic, node, _ in received.items)
    sent = nodes.sent()
    assert len(sent) == 20 * len(NODES) and nodes.published == 20 * len(NODES)
    assert sent[("n00004", 5)][1] == 5 % 3, "the ledger keeps each message's detections"
    stats = nodes.stats()
    assert stats["refused"] == 20, "the broker refused the unauthorised node's every message"
    assert stats["delivered"] == len(want) and stats["accepted"] == 20 * len(NODES)
    lag = nodes.lag()
    assert lag["n"] == 20 * len(NODES) and lag["p50"] is not None


def test_shards_split_the_city_and_keep_its_phases() -> None:
    cfg = HilConfig(broker_url="mqtt://127.0.0.1:1")
    nodes = ShardedNodes(cfg, NODES, 4, lambda n: ("h", int(n[1:])), spread_s=1.0)
    held = [n for spec in nodes.specs for n in spec.nodes]
    assert sorted(held) == NODES and len(held) == len(set(held))
    assert nodes.specs[1].nodes == ["n00001", "n00005", "n00009"]
    phases = {n: p for spec in nodes.specs for n, p in spec.phases.items()}
    assert phases == {n: k / len(NODES) for k, n in enumerate(NODES)}
    assert nodes.specs[2].addresses["n00006"] == ("h", 6)
    assert len(ShardedNodes(cfg, NODES[:2], 4, lambda _n: ("h", 1)).specs) == 2
