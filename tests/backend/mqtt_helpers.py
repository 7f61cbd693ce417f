"""A small paho-mqtt 2 publisher for tests and benchmarks."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edgeqi.protocol import NODE_SUBSCRIPTION, decode


class Publisher:
    """Connects, publishes at QoS 1 and waits until the broker acknowledged everything."""

    def __init__(
        self,
        port: int,
        username: str | None = None,
        password: str | None = None,
        client_id: str = "",
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connected = threading.Event()
        self.refused: ReasonCode | None = None
        self.acks: dict[int, ReasonCode] = {}
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(
        self, _c: object, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        if reason.is_failure:
            self.refused = reason
        else:
            self.connected.set()

    def _on_publish(self, _c: object, _u: object, mid: int, reason: ReasonCode, _p: object) -> None:
        self.acks[mid] = reason

    def publish_all(self, items: list[tuple[str, bytes]], timeout: float = 30) -> list[ReasonCode]:
        """Publish every (topic, payload) at QoS 1; return the broker's PUBACK reason codes."""
        if not self.connected.wait(10):
            raise ConnectionError(f"not connected: {self.refused}")
        infos = [self.client.publish(t, p, qos=1) for t, p in items]
        for info in infos:
            info.wait_for_publish(timeout)
        return [self.acks.get(i.mid, ReasonCode(4)) for i in infos]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def session_present(port: int, client_id: str) -> bool:
    """Whether the broker still holds a session for ``client_id`` (taking it over ends it)."""
    present: list[bool] = []
    done = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )

    def on_connect(_c: object, _u: object, flags: mqtt.ConnectFlags, *_: object) -> None:
        present.append(flags.session_present)
        done.set()

    client.on_connect = on_connect
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    try:
        assert done.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return present[0]


class Ledger:
    """A persistent-session QoS 1 subscriber recording every (node_id, seq) it receives."""

    def __init__(
        self,
        port: int,
        username: str | None = None,
        password: str | None = None,
        topic: str = NODE_SUBSCRIPTION,
    ) -> None:
        self.seen: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="ledger", protocol=MQTTProtocolVersion.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.loop_start()
        assert self.subscribed.wait(10)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        m = decode(bytes(msg.payload))
        with self.lock:
            self.seen.append((m.node_id, m.seq))

    def wait_for(self, n: int, timeout: float = 30) -> set[tuple[str, int]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(set(self.seen)) >= n:
                    break
            time.sleep(0.05)
        with self.lock:
            return set(self.seen)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
