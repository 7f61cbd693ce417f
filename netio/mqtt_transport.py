"""The MQTT transport a field node and the simulator's hardware-in-the-loop mode use.

paho-mqtt 2, one client per node with its own client id and credentials, QoS 1.
Every message first goes into the node's buffer (a :class:`ForwardBuffer` in memory, or
any :class:`~edgeqi.transport.buffer.Buffer` handed in, such as the field node's
SQLite queue that survives a restart); at most ``window``
of them are handed to paho at a time and each stays in the buffer until its PUBACK
arrives. paho retransmits its unacknowledged messages (DUP set) after a reconnect,
and reconnects by itself with exponential backoff, so a broker outage only delays
messages: the buffer absorbs what arrives meanwhile, bounded by its capacity and
dropping by priority, never silently (the drops are counted). A PUBACK with a
failure reason (e.g. not authorised) counts as ``refused``: retrying cannot help.

A PUBACK saying "no matching subscribers" (MQTT 5 reason 16) is not a delivery: the
broker accepted the message and then had nobody to give it to, so it is gone. That
happens when the backend's subscription is missing, e.g. Mosquitto 2.0 does not restore
a shared subscription from its persistence file after a restart, so until the ingest
reconnects and subscribes again every message published is dropped. Such messages go
back into the buffer and sending pauses (``unrouted_hold_s``, doubling up to
``unrouted_hold_max_s``) before they are tried again, so the buffer holds them exactly
as it holds messages during an outage.

On a field network the connection is TLS (:class:`MqttTls`: the CA that signed the
broker's certificate, and a client certificate for brokers that require one) and the
node logs in with its own username and password, which the broker's ACL ties to the
node's own topics.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edgeqi.protocol import Message
from edgeqi.transport.base import AckHook, TransportStats, buffer_stats, enqueue
from edgeqi.transport.buffer import Buffer, ForwardBuffer
from netio.netloop import NetworkLoop

_KEPT = (
    MQTTErrorCode.MQTT_ERR_SUCCESS,
    MQTTErrorCode.MQTT_ERR_NO_CONN,
    MQTTErrorCode.MQTT_ERR_CONN_LOST,
)
"""Publish results after which paho holds the message and sends it (again) on reconnect;
anything else (an oversized payload) is a refusal, counted like a failed PUBACK."""

NO_MATCHING_SUBSCRIBERS = 16
"""MQTT 5 PUBACK reason: accepted, but no subscription matched, so nobody got it."""


TLS_SCHEMES = ("mqtts", "ssl")


def broker_host_port(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``host:port``) to (host, port); 1883 by default, 8883 for
    ``mqtts://``."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    default = 8883 if parts.scheme in TLS_SCHEMES else 1883
    return parts.hostname or "localhost", parts.port or default


@dataclass(frozen=True, slots=True)
class MqttTls:
    """TLS to the broker: verify it against ``ca_file``; present ``cert_file``/``key_file``
    when the broker requires client certificates (mutual TLS)."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    def context(self) -> ssl.SSLContext:
        """A client context: TLS 1.2 or later, the broker's name and certificate checked."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file is not None:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        return ctx


class MqttTransport:
    """One node's connection to the broker; thread-safe ``send`` from any thread."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        capacity: int = 10_000,
        window: int = 100,
        keepalive: int = 30,
        reconnect_min_s: int = 1,
        reconnect_max_s: int = 30,
        on_ack: AckHook | None = None,
        unrouted_hold_s: float | None = 0.5,
        unrouted_hold_max_s: float = 8.0,
        buffer: Buffer | None = None,
        tls: MqttTls | None = None,
    ) -> None:
        """``buffer`` replaces the in-memory one of ``capacity`` messages (the caller
        keeps ownership: :meth:`close` leaves it open)."""
        self.host, self.port = host, port
        self.unrouted_hold_s, self.unrouted_hold_max_s = unrouted_hold_s, unrouted_hold_max_s
        self.unrouted = 0
        self._hold = 0.0
        self._hold_until = 0.0
        self._resume: threading.Timer | None = None
        self.reconnect_min_s, self.reconnect_max_s = reconnect_min_s, reconnect_max_s
        self._loop: NetworkLoop | None = None
        self.buffer: Buffer = buffer if buffer is not None else ForwardBuffer(capacity)
        self.window = window
        self.keepalive = keepalive
        self.on_ack = on_ack
        self.refused = 0
        self.connects = 0
        self.disconnects = 0
        self.last_refusal: str | None = None
        self._lock = threading.Lock()
        self._mids: dict[int, int] = {}
        self._early: dict[int, ReasonCode] = {}
        self._connected = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if username is not None:
            client.username_pw_set(username, password)
        if tls is not None:
            client.tls_set_context(tls.context())
        client.max_inflight_messages_set(window)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(reconnect_min_s, reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self.client = client

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self, loop: NetworkLoop | None = None) -> None:
        """Connect in the background (retrying with backoff until the broker answers).

        Without ``loop`` the client gets paho's own network thread; with one, that
        shared thread serves it (for many clients in one process).
        """
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        if loop is None:
            self.client.loop_start()
        else:
            self._loop = loop
            loop.add(self)

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def send(self, message: Message) -> bool:
        with self._lock:
            _, kept = enqueue(self.buffer, message)
        self._kick()
        return kept

    def _kick(self) -> None:
        """Hand queued messages over now, or ask the shared loop's thread to."""
        if self._loop is None:
            self._pump()
        else:
            self._loop.kick(self)

    def _pump(self) -> None:
        """Hand queued messages to paho, up to the window.

        paho runs ``on_publish`` holding its own lock, and that callback takes ours;
        so paho is never called while ours is held (lock order: paho, then ours). A
        PUBACK may therefore beat the recording of its mid: it waits in ``_early``.
        """
        if not self._connected.is_set():
            return
        with self._lock:
            if self._hold_until > time.monotonic():
                return
            room = self.window - self.buffer.inflight
            batch = self.buffer.take(room) if room > 0 else []
        for envelope in batch:
            info = self.client.publish(envelope.topic, envelope.payload, qos=1)
            if info.rc not in _KEPT:
                self._settle(envelope.id, ReasonCode(PacketTypes.PUBACK, "Unspecified error"))
                continue
            with self._lock:
                early = self._early.pop(info.mid, None)
                if early is None:
                    self._mids[info.mid] = envelope.id
                    continue
            self._settle(envelope.id, early)

    def _settle(self, envelope_id: int, reason: ReasonCode) -> None:
        if reason.value == NO_MATCHING_SUBSCRIBERS and self.unrouted_hold_s is not None:
            self._unrouted(envelope_id, self.unrouted_hold_s)
            return
        with self._lock:
            envelope = self.buffer.ack(envelope_id)
            if envelope is not None and reason.is_failure:
                self.refused += 1
                self.last_refusal = str(reason)
            elif envelope is not None:
                self._hold = 0.0
        if envelope is not None and not reason.is_failure and self.on_ack is not None:
            self.on_ack(envelope)

    def _unrouted(self, envelope_id: int, first_hold_s: float) -> None:
        """Take the message back and pause sending; a timer resumes it."""
        with self._lock:
            if self.buffer.retry(envelope_id) is None:
                return
            self.unrouted += 1
            now = time.monotonic()
            if self._hold_until > now:
                return  # already paused: the whole window comes back with the same answer
            self._hold = min(max(2 * self._hold, first_hold_s), self.unrouted_hold_max_s)
            self._hold_until = now + self._hold
            self._resume = threading.Timer(self._hold + 0.01, self._kick)
            self._resume.daemon = True
            self._resume.start()

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._kick()
            with self._lock:
                if len(self.buffer) == 0:
                    return True
            time.sleep(0.02)
        return False

    def stats(self) -> TransportStats:
        with self._lock:
            stats = buffer_stats(self.buffer, self.refused, self.connects, self.disconnects)
            stats.unrouted = self.unrouted
            return stats

    def close(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
        if self._loop is not None:
            self._loop.remove(self)
        else:
            self.client.disconnect()
            self.client.loop_stop()
        self._connected.clear()

    # -- paho callbacks (its network thread) ------------------------------------------

    def _on_connect(
        self, _c: mqtt.Client, _u: Any, _f: mqtt.ConnectFlags, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            self.last_refusal = str(reason)
            return
        self.connects += 1
        self._connected.set()
        self._pump()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: mqtt.DisconnectFlags, _r: ReasonCode, _p: Any
    ) -> None:
        if self._connected.is_set():
            self.disconnects += 1
        self._connected.clear()

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        with self._lock:
            envelope_id = self._mids.pop(mid, None)
            if envelope_id is None:
                self._early[mid] = reason
        if envelope_id is not None:
            self._settle(envelope_id, reason)
        self._pump()
