"""An in-memory MQTT broker behind paho's ``Client`` interface, for driving field code.

:class:`~netio.mqtt_consensus.MqttReplica` builds its own paho client; a
test swaps ``paho.mqtt.client.Client`` for :meth:`FakeBroker.client` so that the field
driver's whole code path (its client, callbacks, inbox queue and stepping) runs with
no socket and no broker process. A publish reaches every matching subscription at once,
the publisher's own included (as MQTT does without ``no_local``), in publish order; a
message waits in the receiver's inbox until its owner steps, as it would on a real
broker, so what happens when is decided by the test's clock and stepping alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT filter matching with ``+`` (one level) and ``#`` (the rest)."""
    want, got = pattern.split("/"), topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(got) or (level != "+" and level != got[i]):
            return False
    return len(want) == len(got)


@dataclass(frozen=True, slots=True)
class FakeMessage:
    topic: str
    payload: bytes


@dataclass
class FakeBroker:
    """Subscriptions and what was published through it."""

    clients: list[FakeClient] = field(default_factory=list)
    published: list[FakeMessage] = field(default_factory=list)

    def client(self, *_args: Any, **kwargs: Any) -> FakeClient:
        c = FakeClient(self, str(kwargs.get("client_id", "")))
        self.clients.append(c)
        return c

    def route(self, topic: str, payload: bytes) -> None:
        msg = FakeMessage(topic, payload)
        self.published.append(msg)
        for c in self.clients:
            if c.connected and any(topic_matches(p, topic) for p in c.subscriptions):
                c.on_message(c, None, msg)


class _Sent:
    """What paho's ``publish`` returns; already delivered."""

    def wait_for_publish(self, _timeout: float | None = None) -> None:
        return None


class FakeClient:
    """The part of ``paho.mqtt.client.Client`` the consensus transport uses."""

    def __init__(self, broker: FakeBroker, client_id: str) -> None:
        self.broker = broker
        self.client_id = client_id
        self.subscriptions: list[str] = []
        self.connected = False
        self.on_connect: Callable[..., None] = lambda *_a: None
        self.on_subscribe: Callable[..., None] = lambda *_a: None
        self.on_message: Callable[..., None] = lambda *_a: None

    def username_pw_set(self, *_a: Any) -> None:
        return None

    def tls_set_context(self, *_a: Any) -> None:
        return None

    def reconnect_delay_set(self, *_a: Any) -> None:
        return None

    def max_queued_messages_set(self, *_a: Any) -> None:
        return None

    def connect_async(self, *_a: Any) -> None:
        return None

    def loop_start(self) -> None:
        self.connected = True
        self.on_connect(self, None, None, 0, None)

    def subscribe(self, topic: str, qos: int = 0) -> None:
        self.subscriptions.append(topic)
        self.on_subscribe(self, None, None, None, None)

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> _Sent:
        self.broker.route(topic, payload)
        return _Sent()

    def loop_stop(self) -> None:
        return None

    def disconnect(self) -> None:
        self.connected = False
