"""One network thread for the MQTT connections of many nodes.

paho's own loop (``loop_start``) is a thread per client that wakes at least once a
second; a thousand simulated nodes in one interpreter would be a thousand threads
fighting for the GIL, and they connect too slowly to start a run. A
:class:`NetworkLoop` drives any number of clients from one thread with ``epoll``
(``selectors``): it connects and reconnects them with exponential backoff, reads,
writes, keeps them alive, and is the only thread that ever calls into their paho
clients, so that a publish never races a partial write on the same socket.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netio.mqtt_transport import MqttTransport

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Member:
    transport: MqttTransport
    fd: int | None = None
    sock: object = None
    events: int = 0
    delay: float = 0.0
    next_attempt: float = 0.0
    closed: threading.Event = field(default_factory=threading.Event)


class NetworkLoop:
    """Serves the sockets of many :class:`MqttTransport` from one thread."""

    def __init__(self, tick_s: float = 0.05) -> None:
        self.tick_s = tick_s
        self._sel = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._members: list[_Member] = []
        self._dirty: set[_Member] = set()
        self._leaving: set[_Member] = set()
        self._by_transport: dict[int, _Member] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._stop = threading.Event()
        self._last_misc = 0.0
        self._thread = threading.Thread(target=self._run, name="mqtt-netloop", daemon=True)
        self._thread.start()

    # -- called from any thread -------------------------------------------------------

    def add(self, transport: MqttTransport) -> None:
        member = _Member(transport, delay=transport.reconnect_min_s)
        with self._lock:
            self._members.append(member)
            self._by_transport[id(transport)] = member
        self._wake()

    def kick(self, transport: MqttTransport) -> None:
        """Ask the loop thread to hand the transport's queued messages to paho."""
        with self._lock:
            member = self._by_transport.get(id(transport))
            if member is None:
                return
            self._dirty.add(member)
        self._wake()

    def remove(self, transport: MqttTransport, timeout: float = 10.0) -> None:
        """Disconnect the client (in the loop thread) and forget it."""
        with self._lock:
            member = self._by_transport.get(id(transport))
            if member is None:
                return
            self._leaving.add(member)
        self._wake()
        member.closed.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        self._thread.join(timeout=10)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"x")

    # -- the loop thread ----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._turn()
            except Exception:  # the loop serves every node: one failure must not stop it
                log.exception("MQTT network loop turn failed")
                time.sleep(self.tick_s)

    # One turn of the event loop over every connection (leave, connect, pump, select, read,
    # write, keep alive): the steps share the loop's state and must run in this order.
    def _turn(self) -> None:  # noqa: C901, PLR0912
        """One pass: leave, (re)connect, pump, select, read/write, keep alive."""
        now = time.monotonic()
        with self._lock:
            members = list(self._members)
            dirty, self._dirty = self._dirty, set()
            leaving, self._leaving = self._leaving, set()
        for member in leaving:
            self._leave(member)
        for member in members:
            if member not in leaving:
                try:
                    self._maintain(member, now)
                except OSError:  # its socket died under us: start over next turn
                    self._unregister(member)
        for member in dirty:
            if member.fd is not None and member not in leaving:
                member.transport._pump()
        for key, mask in self._sel.select(self.tick_s):
            if key.data is None:
                with contextlib.suppress(BlockingIOError, OSError):
                    self._wake_r.recv(65536)
                continue
            client = key.data.transport.client
            if mask & selectors.EVENT_READ:
                client.loop_read()
            if mask & selectors.EVENT_WRITE:
                client.loop_write()
        if now - self._last_misc >= 1.0:
            self._last_misc = now
            for member in members:
                if member.fd is not None:
                    member.transport.client.loop_misc()

    def _maintain(self, member: _Member, now: float) -> None:
        """(Re)connect with backoff; keep the selector registration in step with the socket."""
        transport = member.transport
        client = transport.client
        sock = client.socket()
        if sock is None:
            self._unregister(member)
            if now < member.next_attempt:
                return
            try:
                client.reconnect()
            except OSError:
                member.next_attempt = now + member.delay
                member.delay = min(member.delay * 2, transport.reconnect_max_s)
                return
            member.next_attempt = now + member.delay  # if this one dies before its CONNACK
            member.delay = min(member.delay * 2, transport.reconnect_max_s)
            sock = client.socket()
            if sock is None:
                return
        if transport.connected:
            member.delay = transport.reconnect_min_s
        if sock is not member.sock:
            self._unregister(member)
            fd = sock.fileno()
            stale = self._sel.get_map().get(fd)
            if stale is not None:  # a closed socket's number, reused: that member must re-add
                self._sel.unregister(fd)
                if isinstance(stale.data, _Member):
                    stale.data.fd, stale.data.sock, stale.data.events = None, None, 0
            member.sock, member.fd = sock, fd
            member.events = selectors.EVENT_READ
            self._sel.register(fd, member.events, member)
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.want_write() else 0)
        if want != member.events and member.fd is not None:
            member.events = want
            self._sel.modify(member.fd, want, member)

    def _unregister(self, member: _Member) -> None:
        key = None if member.fd is None else self._sel.get_map().get(member.fd)
        if key is not None and key.data is member:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._sel.unregister(member.fd)
        member.fd, member.sock, member.events = None, None, 0

    def _leave(self, member: _Member) -> None:
        client = member.transport.client
        if member.fd is not None:
            with contextlib.suppress(OSError):
                client.disconnect()
                client.loop_write()
        self._unregister(member)
        with self._lock:
            self._members.remove(member)
            self._by_transport.pop(id(member.transport), None)
        member.closed.set()
