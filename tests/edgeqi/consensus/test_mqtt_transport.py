"""Four replicas agree over a real Mosquitto with paho-mqtt 2; a forgery is rejected."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edgeqi.consensus import ClusterConfig, Decision, Replica, Verifier
from edgeqi.consensus.messages import seal, value_digest
from edgeqi.protocol import consensus_topic, encode
from netio.mqtt_consensus import MqttReplica
from tests.backend.services import Mosquitto
from tests.edgeqi.consensus.harness import keys_for

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def test_replicas_commit_over_mosquitto_and_reject_a_forgery(broker: Mosquitto) -> None:
    members = tuple(f"cam-{i}" for i in range(4))
    keys = keys_for(members)
    public = {m: k.public for m, k in keys.items()}
    cfg = ClusterConfig("i0042", members, request_timeout_s=5.0)
    replicas = [Replica(cfg, keys[m].signer(), Verifier(public)) for m in members]
    nodes = [MqttReplica(r, "127.0.0.1", broker.port) for r in replicas]
    decided: list[list[Decision]] = [[] for _ in nodes]
    try:
        assert all(n.wait_ready() for n in nodes)
        # A forged pre-prepare: cam-3's key, cam-0's name, published straight to the broker.
        forged = seal(
            keys["cam-3"].signer(),
            cluster="i0042",
            phase="preprepare",
            view=0,
            number=1,
            digest=value_digest("cycle-1", "evil"),
            body='{"key":"cycle-1","value":"evil"}',
            seq=1,
            ts=time.time(),
        ).model_copy(update={"node_id": "cam-0"})
        raw = mqtt.Client(CallbackAPIVersion.VERSION2)
        raw.connect("127.0.0.1", broker.port)
        raw.loop_start()
        raw.publish(
            consensus_topic("i0042", "cam-0", "preprepare"), encode(forged), qos=1
        ).wait_for_publish(5)
        raw.loop_stop()
        raw.disconnect()
        nodes[2].publish(replicas[2].request(time.time(), "cycle-1", "plan-A"))
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and not all(decided):
            for n, mine in zip(nodes, decided, strict=True):
                mine.extend(d for out in n.step(timeout=0.01) for d in out.decisions)
        assert [[d.value for d in mine] for mine in decided] == [["plan-A"]] * 4
        assert sum(r.rejected["bad_signature"] for r in replicas[1:]) == 3
        assert all(r.view == 0 for r in replicas)
    finally:
        for n in nodes:
            n.close()
