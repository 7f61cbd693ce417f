"""The MQTT ingest source: a paho-mqtt 2 subscriber feeding the :class:`Ingestor`.

Delivery guarantees: QoS 1, MQTT 5 persistent session (``clean_start`` false, a long
session expiry), and *manual* acknowledgement: a PUBACK is sent only after the
message's batch is committed (or quarantined), so a crash loses nothing the broker
delivered; redeliveries are made harmless by the ``(node_id, seq)`` idempotence.
Replicas share the load through a shared subscription (``$share/<group>/...``).

Threads: paho's network thread runs ``on_message``, which only puts the message on a
bounded queue (its bound is also the Receive Maximum announced to the broker, so the
broker never sends more than the queue holds); one worker thread validates and hands
messages to the ingestor.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from backend.core.prometheus import Metrics
from backend.ingest.ingestor import Ingestor
from edgeqi.protocol import CONSENSUS_SUBSCRIPTION, NODE_SUBSCRIPTION, TOPIC_ROOT

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
BARRIER_FILTER = f"{TOPIC_ROOT}/_barrier"
"""A filter the backend never subscribes to; see :meth:`MqttSource._barrier`."""


@dataclass(frozen=True)
class BrokerAddress:
    """Host, port and optional credentials parsed from ``mqtt://user:pw@host:port``."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or 1883,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def shared(topic_filter: str, group: str) -> str:
    """The shared-subscription form of a filter, so replicas split messages."""
    return f"$share/{group}/{topic_filter}"


class MqttSource:
    """Subscribes to the node topic tree and feeds the ingestor until :meth:`stop`."""

    def __init__(
        self,
        url: str,
        ingestor: Ingestor,
        client_id: str = "edgeqi-backend",
        group: str = "edgeqi",
        queue_size: int = 10_000,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.address = BrokerAddress.parse(url)
        self.ingestor = ingestor
        self.group = group
        self.metrics = metrics or ingestor.metrics
        self.receive_maximum = max(1, min(queue_size, 65_535))
        self._queue: queue.Queue[tuple[str, bytes, float, int, int, int] | None] = queue.Queue(
            maxsize=self.receive_maximum
        )
        self._generation = 0
        self._closing = False
        self._connected = threading.Event()
        self._worker: threading.Thread | None = None
        self.received = 0
        self._arrived = 0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if self.address.username is not None:
            client.username_pw_set(self.address.username, self.address.password)
        client.reconnect_delay_set(
            min_delay=max(1, round(reconnect_min_s)), max_delay=max(1, round(reconnect_max_s))
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    @property
    def connected(self) -> bool:
        """Whether the session with the broker is up right now."""
        return self._connected.is_set()

    def start(self) -> None:
        """Connect in the background; paho reconnects with backoff whenever the link drops."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = self.receive_maximum
        self._worker = threading.Thread(target=self._drain, name="edgeqi-mqtt", daemon=True)
        self._worker.start()
        self.client.connect_async(
            self.address.host,
            self.address.port,
            keepalive=30,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected (used by tests and the health probe)."""
        return self._connected.wait(timeout)

    def stop(self, retire: bool = False, quiet_s: float = 0.5, timeout_s: float = 30.0) -> None:
        """Stop gracefully: store and acknowledge what was received, then disconnect.

        Acknowledging before the DISCONNECT spares the next session a redelivery of
        everything in flight. Messages arriving meanwhile are left unacknowledged, so
        the broker keeps them in the persistent session for the next start.

        ``retire`` is for a replica leaving the shared group for good (scale-down): it
        unsubscribes first, so the broker routes new messages to the other members,
        takes in what the broker had already queued for it (until nothing arrives for
        ``quiet_s``), stores and acknowledges that, and ends with a session expiry of
        zero, so no session holding messages nobody will collect is left behind.
        """
        if retire and self._connected.is_set():
            self._leave_group(quiet_s, timeout_s)
        self._closing = True
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout=30)
        self.ingestor.flush()
        if self._connected.is_set():
            self._barrier(timeout_s)
        if retire:
            props = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 0
            self.client.disconnect(properties=props)
        else:
            self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()
        self.metrics.mqtt_connected.set(0)

    def _barrier(self, timeout_s: float) -> None:
        """Wait until the broker has processed every PUBACK sent so far.

        The broker handles a client's packets in order, so the UNSUBACK of an
        UNSUBSCRIBE sent after the acknowledgements means they were all taken. Without
        this wait a DISCONNECT right after the last PUBACKs could end the session before
        a busy broker (one saving its persistence file after every change) had read
        them, and it then redelivered those acknowledged messages to the next session
        (38 to 45 of 50 in ``tests/backend/test_mqtt.py`` with the durable settings).
        The filter names no subscription, so nothing is unsubscribed.
        """
        done = threading.Event()
        self.client.on_unsubscribe = lambda *_: done.set()
        self.client.unsubscribe(BARRIER_FILTER)
        if not done.wait(timeout_s):
            log.warning("MQTT barrier not acknowledged; disconnecting anyway")

    def _leave_group(self, quiet_s: float, timeout_s: float) -> None:
        unsubscribed = threading.Event()
        self.client.on_unsubscribe = lambda *_: unsubscribed.set()
        self.client.unsubscribe(
            [shared(NODE_SUBSCRIPTION, self.group), shared(CONSENSUS_SUBSCRIPTION, self.group)]
        )
        deadline = time.monotonic() + timeout_s
        if not unsubscribed.wait(timeout_s):
            log.warning("MQTT unsubscribe not acknowledged; retiring anyway")
        seen = -1
        while time.monotonic() < deadline and (seen != self._arrived or not self._queue.empty()):
            seen = self._arrived
            time.sleep(quiet_s)
        self.ingestor.flush()

    # -- paho callbacks (network thread: enqueue only) ---------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        self.metrics.ingest_threads.join()  # paho's network thread
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        self._generation += 1
        client.subscribe(
            [
                (shared(NODE_SUBSCRIPTION, self.group), 1),
                (shared(CONSENSUS_SUBSCRIPTION, self.group), 1),
            ]
        )
        self._connected.set()
        self.metrics.mqtt_connected.set(1)
        log.info("MQTT connected to %s:%s", self.address.host, self.address.port)

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        self._connected.clear()
        self.metrics.mqtt_connected.set(0)
        log.info("MQTT disconnected: %s", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if self._closing:
            return  # unacknowledged: redelivered to the next session
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            # Invalid UTF-8 in a topic must not kill paho's thread; the ingestor refuses it.
            topic = msg._topic.decode(errors="replace")
        self._arrived += 1
        self._queue.put(
            (topic, bytes(msg.payload), time.time(), msg.mid, msg.qos, self._generation)
        )

    # -- worker ----------------------------------------------------------------------

    def _drain(self) -> None:
        self.metrics.ingest_threads.join()
        while True:
            item = self._queue.get()
            if item is None:
                return
            topic, payload, received_at, mid, qos, generation = item
            self.received += 1
            ack = self._acker(mid, qos, generation) if qos > 0 else None
            self.ingestor.submit(topic, payload, received_at, ack)

    def _acker(self, mid: int, qos: int, generation: int) -> Any:
        """A PUBACK sender that stays silent if the session it belongs to has ended."""

        def ack() -> None:
            if generation == self._generation and self._connected.is_set():
                self.client.ack(mid, qos)

        return ack
