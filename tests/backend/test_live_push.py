"""Live push over a real server and real WebSocket clients: a slow client is dropped and
counted, and never costs the others an event.

The slow client is a bare TCP socket that completes the WebSocket handshake and then
stops reading, with a small receive buffer: what a stalled browser tab on a bad link
looks like to the server (a client library would keep reading into its own buffer).
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from backend.app import create_app
from backend.core.settings import Settings
from tests.backend.conftest import ADMIN
from tests.backend.services import free_port

BURST = 200
PAD = "x" * 8000  # ~8 kB an event: the slow client's socket buffers fill in a few bursts


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[FastAPI, str]]:
    """The app under uvicorn on a free loopback port; yields it and its ws:// URL with a token."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    login = httpx.post(
        f"http://127.0.0.1:{port}/api/auth/login",
        json={"username": ADMIN[0], "password": ADMIN[1]},
        timeout=10,
    )
    token = login.raise_for_status().json()["access_token"]
    try:
        yield app, f"ws://127.0.0.1:{port}/ws?token={token}&topics=detections"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _stalled_client(url: str) -> socket.socket:
    """Handshake by hand, then read nothing."""
    host_port, path = url.removeprefix("ws://").split("/", 1)
    host, port = host_port.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _close_code(sock: socket.socket) -> int:
    """Read the server's frames (unmasked) until its close frame; return the close code."""
    sock.settimeout(10)
    stream = sock.makefile("rb")
    while True:
        first, second = stream.read(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", stream.read(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", stream.read(8))[0]
        body = stream.read(size)
        if first & 0x0F == 0x8:
            return int(struct.unpack("!H", body[:2])[0])


def _reader(ws: ClientConnection, got: list[int]) -> None:
    try:
        for raw in ws:
            if '"seq"' in str(raw):
                got.append(1)
    except ConnectionClosed:
        pass


def test_slow_client_is_dropped_and_counted_and_others_get_every_event(
    served: tuple[FastAPI, str],
) -> None:
    app, url = served
    rt: Any = app.state.runtime
    slow = _stalled_client(url)
    fast = connect(url)
    assert '"subscribed"' in str(fast.recv(timeout=5))
    got: list[int] = []
    reader = threading.Thread(target=_reader, args=(fast, got), daemon=True)
    reader.start()
    deadline = time.monotonic() + 5
    while len(rt.hub.clients) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    published = 0
    while rt.metrics.ws_slow_dropped._value.get() == 0:
        assert published < 200 * BURST, "the slow client was never dropped"
        rt.hub.publish_many(
            [
                ("detections", {"node_id": "cam-1", "seq": published + i, "pad": PAD})
                for i in range(BURST)
            ]
        )
        published += BURST
        deadline = time.monotonic() + 30
        while len(got) < published:  # the fast client keeps up, burst by burst
            assert time.monotonic() < deadline, f"fast client has {len(got)} of {published}"
            time.sleep(0.01)
    assert rt.metrics.ws_slow_dropped._value.get() == 1
    assert len(rt.hub.clients) == 1
    rt.hub.publish_many([("detections", {"node_id": "cam-1", "seq": published, "pad": ""})])
    deadline = time.monotonic() + 10
    while len(got) < published + 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert _close_code(slow) == 1013
    slow.close()
    base, query = url.replace("ws://", "http://", 1).split("/ws?token=")
    token = query.split("&")[0]
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert "edgeqi_ws_slow_clients_dropped_total 1.0" in text
    fast.close()
    reader.join(timeout=10)
