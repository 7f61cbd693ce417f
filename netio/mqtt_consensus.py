"""A PBFT replica over MQTT (paho-mqtt 2): the real transport beside the simulator's.

The replica (a bare :class:`~edgeqi.consensus.Replica`, or a field camera's
:class:`~edgeqi.consensus.cycle.CycleReplica` around one) stays a pure state machine;
this adapter owns the socket and the clock. Broadcasts go to
``edgeqi/v1/consensus/{cluster}/{sender}/{phase}`` (the broker lets each login publish
only under its own sender level); a message for one member (catch-up help) goes to
``.../{phase}/{member}`` and other members ignore it. Messages arrive on paho's network
thread and wait in a bounded queue until :meth:`MqttReplica.step` feeds them to the state
machine from the caller's thread, so it is never touched by two threads at once.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edgeqi.consensus import Output
from edgeqi.consensus.pbft import StateMachine
from edgeqi.protocol import (
    ConsensusMessage,
    ProtocolError,
    consensus_topic,
    decode,
    encode,
)

QUEUE_LIMIT = 10_000
"""Received messages held for the replica; beyond it they are dropped and counted."""
OUTGOING_LIMIT = 1_000
"""Messages paho holds for the broker while it is away; past it new ones are dropped
(consensus traffic is stale after a long outage, and a device's memory is finite)."""

Out = TypeVar("Out", bound=Output)
Forward = Callable[[ConsensusMessage], object]
"""Sends a broadcast through another transport (a field node's durable queue)."""
Stamp = Callable[[ConsensusMessage, str], ConsensusMessage]
"""Rewrites an outgoing message's transport fields (``seq``, ``ts``) before it is sent
on the topic given."""


class MqttReplica(Generic[Out]):
    """Connects one replica to a broker and pumps messages and timers through it."""

    def __init__(
        self,
        replica: StateMachine[Out],
        host: str,
        port: int,
        clock: Callable[[], float] = time.time,
        qos: int = 1,
        *,
        username: str | None = None,
        password: str | None = None,
        stamp: Stamp | None = None,
        reconnect_min_s: int = 1,
        reconnect_max_s: int = 30,
        tls_context: ssl.SSLContext | None = None,
        forward: Forward | None = None,
    ) -> None:
        """``stamp`` lets a field node number consensus messages from its own ``seq``
        counter, so that ``(node_id, seq)`` stays unique across everything it publishes
        (signatures do not cover ``seq`` and ``ts``); ``forward`` sends its broadcasts
        through the node's store-and-forward queue, so that none is lost with the process
        during an outage (messages for one member still go directly). The connection is
        made in the background and remade after a broker outage (subscriptions renewed on
        connect).
        """
        self.replica = replica
        self.cluster = replica.cfg.cluster
        self.clock = clock
        self.qos = qos
        self.stamp = stamp
        self.published = 0
        self.forward = forward
        self.dropped = 0
        self.undecodable = 0
        self._inbox: queue.Queue[tuple[str, bytes]] = queue.Queue(QUEUE_LIMIT)
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"pbft-{self.cluster}-{replica.id}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls_context is not None:
            self.client.tls_set_context(tls_context)
        self.client.reconnect_delay_set(reconnect_min_s, reconnect_max_s)
        self.client.max_queued_messages_set(OUTGOING_LIMIT)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect_async(host, port)
        self.client.loop_start()

    # -- paho callbacks (network thread) ------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object
    ) -> None:
        client.subscribe(consensus_topic(self.cluster, "+", "#"), qos=self.qos)

    def _on_subscribe(self, *_args: object) -> None:
        self._subscribed.set()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            self._inbox.put_nowait((msg.topic, bytes(msg.payload)))
        except queue.Full:
            self.dropped += 1

    # -- caller's thread ----------------------------------------------------------------

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self._subscribed.wait(timeout)

    def publish(self, out: Output) -> None:
        """Send what a replica output says to send."""
        for to, m in out.messages:
            self.send(m, to)

    def send(self, m: ConsensusMessage, to: str | None = None) -> ConsensusMessage:
        """Publish one message to the cluster (or to one member); returns it as sent."""
        phase = m.phase if to is None else f"{m.phase}/{to}"
        topic = consensus_topic(self.cluster, m.node_id, phase)
        if self.stamp is not None:
            m = self.stamp(m, topic)
        if to is None and self.forward is not None:
            self.forward(m)
        else:
            self.client.publish(topic, encode(m), qos=self.qos)
        self.published += 1
        return m

    def step(self, timeout: float = 0.05) -> list[Out]:
        """Handle what has arrived (waiting up to ``timeout`` for the first), then timers;
        returns the state machine's outputs, already published."""
        outputs: list[Out] = []
        try:
            topic, payload = self._inbox.get(timeout=timeout)
        except queue.Empty:
            topic = ""
        while topic:
            m = self._decode(topic, payload)
            if m is not None:
                outputs.append(self.replica.receive(self.clock(), m))
                self.publish(outputs[-1])
            try:
                topic, payload = self._inbox.get_nowait()
            except queue.Empty:
                topic = ""
        outputs.append(self.replica.tick(self.clock()))
        self.publish(outputs[-1])
        return outputs

    def _decode(self, topic: str, payload: bytes) -> ConsensusMessage | None:
        parts = topic.split("/")
        if len(parts) == 7 and parts[6] != self.replica.id:
            return None  # addressed to another member
        try:
            m = decode(payload)
        except ProtocolError:
            self.undecodable += 1
            return None
        if not isinstance(m, ConsensusMessage):
            self.undecodable += 1
            return None
        return m

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
