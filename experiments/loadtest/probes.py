"""What a load test measures with, beside the load: ledgers, WebSocket clients, samplers.

Every timestamp is ``time.time()``, the one system clock of this machine, so differences
between them are exact up to the stated resolution:

* the node shards' ledger (:mod:`experiments.loadtest.node_shards`): the moment each node
  handed each message to its transport (the *publish* time; store-and-forward waits count
  as latency), read in the shard's process: the clock is the same system clock.
* :class:`DbLedger`: polls the database's message ledger every ``poll_s``; a row seen
  by a query was committed before that query started, so the query's start time is the
  *persist* time, late by at most one interval. The poll query's own duration is the
  database query time reported.
* :func:`ws_subscriber`: a dashboard WebSocket client; the receive time of each event
  that names a ``(node_id, seq)`` is its *push* time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from typing import Any

import psutil
import websockets
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from backend.core.db import make_engine

Key = tuple[str, int]


class DbLedger:
    """Background poll of newly stored messages: first-seen time and backend receive time."""

    def __init__(self, url: str, poll_s: float) -> None:
        self.engine: Engine = make_engine(url)
        self.poll_s = poll_s
        self.seen: dict[Key, tuple[float, float]] = {}
        """(node_id, seq) -> (persist time, backend receive time), seconds."""
        self.query_ms: list[float] = []
        self.errors = 0
        self._last_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="db-ledger", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        sql = text(
            "SELECT id, node_id, seq, received_ms FROM messages WHERE id > :last ORDER BY id"
        )
        while not self._stop.wait(self.poll_s):
            began = time.time()
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(sql, {"last": self._last_id}).all()
            except SQLAlchemyError:
                self.errors += 1  # the database is restarting: poll again
                continue
            self.query_ms.append((time.time() - began) * 1000)
            for row_id, node, seq, received_ms in rows:
                self.seen.setdefault((node, int(seq)), (began, received_ms / 1000))
                self._last_id = max(self._last_id, int(row_id))

    def wait_for(self, keys: set[Key], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if keys.issubset(self.seen.keys()):
                return True
            time.sleep(0.1)
        return keys.issubset(self.seen.keys())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def reconcile(self) -> dict[str, Any]:
        """Exact counts from the whole ledger, not from the poll."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT node_id, seq FROM messages")).all()
            detections = conn.execute(
                text("SELECT count(*) FROM detections WHERE node_id <> 'probe'")
            ).scalar_one()
        self.engine.dispose()
        return {"rows": [(str(n), int(s)) for n, s in rows], "detection_rows": int(detections)}


async def ws_subscriber(
    url: str, stop: threading.Event, events: list[tuple[float, str, int]], state: dict[str, int]
) -> None:
    """One live client until ``stop``; reconnects after a backend restart (counted)."""
    while not stop.is_set():
        try:
            async with websockets.connect(url, max_queue=None) as ws:
                state["connects"] = state.get("connects", 0) + 1
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                    except TimeoutError:
                        continue
                    at = time.time()
                    event = json.loads(raw)
                    data = event.get("data")
                    if isinstance(data, dict) and "seq" in data and "node_id" in data:
                        events.append((at, str(data["node_id"]), int(data["seq"])))
        except (OSError, websockets.WebSocketException):
            state["failures"] = state.get("failures", 0) + 1
            await asyncio.sleep(0.5)


class ResourceSampler:
    """CPU (% of one core) and resident memory of the backend's processes (the API and any
    ingest workers) and their children."""

    def __init__(self, pids: Any, every_s: float) -> None:
        self.pids = pids  # a callable returning the current pids (they change on a restart)
        self.every_s = every_s
        self.samples: list[tuple[float, float, float]] = []
        self._procs: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            pids = self.pids()
            if not pids:
                continue
            cpu = rss = 0.0
            with contextlib.suppress(psutil.Error):
                for pid in pids:
                    root = psutil.Process(pid)
                    for proc in [root, *root.children(recursive=True)]:
                        known = self._procs.setdefault(proc.pid, proc)
                        cpu += known.cpu_percent(None)
                        rss += known.memory_info().rss / 2**20
                self.samples.append((time.time(), cpu, rss))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
