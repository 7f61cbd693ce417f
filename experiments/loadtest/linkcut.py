"""A TCP forwarder whose link can be cut: how a load test takes a node's uplink away.

The node's MQTT client connects to the forwarder, which relays to the broker.
:meth:`LinkForwarder.cut` resets every relayed connection and refuses new ones until
:meth:`restore`, which is what a dead cellular link looks like to both ends: the
client sees its connection drop and its reconnects fail, the broker sees a peer go.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from experiments.services import free_port


class LinkForwarder:
    """``127.0.0.1:port`` relays to ``127.0.0.1:target`` while the link is up."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.up = True
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        threading.Thread(target=self._accept, name="linkcut", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            if not self.up:
                _reset(conn)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                _reset(conn)
                continue
            with self._lock:
                self._open += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            _reset(s)

    def cut(self) -> None:
        """Drop every relayed connection and refuse new ones."""
        self.up = False
        with self._lock:
            sockets, self._open = self._open, []
        for s in sockets:
            _reset(s)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._server.close()


def _reset(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
