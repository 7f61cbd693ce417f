"""A durable store-and-forward queue for field nodes: :class:`ForwardBuffer` on SQLite.

A camera on a pole may be offline for hours and may lose power meanwhile. The
in-memory buffer keeps messages across a broker outage but not across a restart of
the node process; this one keeps them in an SQLite file, so that everything not yet
acknowledged by the broker is sent after the node comes back. It behaves like
:class:`~edgeqi.transport.buffer.ForwardBuffer` (same methods, same drop rule: the
oldest message of the least important class goes first, never one in flight, never a
more important one to make room for a less important one), with a capacity in
messages and in bytes, and its counters (accepted, acknowledged, dropped per
priority) are stored in the same transaction as the messages they count.

On open, messages that were in flight when the process stopped go back to the queue:
the broker may have received some of them already, so it may see them twice; the
backend stores each ``(node_id, seq)`` once (``uq_messages_node_seq``), so a duplicate
costs bandwidth, never a double count.

Journal: WAL, so a commit appends to the log instead of rewriting pages, and a crash
mid-write leaves the previous state intact. ``synchronous=NORMAL`` (the default here)
fsyncs the log only at checkpoints: a process crash loses nothing committed, a power
cut may lose the last commits since the previous checkpoint (at most about 1,000
pages, SQLite's auto-checkpoint), but never corrupts the file. ``FULL`` fsyncs every
commit, so a power cut loses nothing acknowledged by ``push``, at one fsync per
message, which on an SD card costs milliseconds (see ``BENCHMARKS.md``); choose it
where supply is unreliable and the message rate low.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from edgeqi.transport.buffer import Envelope, SendPriority

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    node_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    size INTEGER NOT NULL,
    inflight INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_messages_send ON messages (inflight, priority, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_COUNTERS = ("accepted", "acked", *(f"dropped_{p.name.lower()}" for p in SendPriority))


class DiskForwardBuffer:
    """Queued and in-flight messages in an SQLite file, bounded by messages and bytes.

    Thread-safe: every operation holds the buffer's own lock (the MQTT transport calls
    it from the sender's thread and from paho's network thread).
    """

    def __init__(
        self,
        path: Path,
        capacity: int = 100_000,
        capacity_bytes: int = 256 * 1024 * 1024,
        synchronous: str = "NORMAL",
    ) -> None:
        if capacity < 1 or capacity_bytes < 1:
            raise ValueError("capacity must be at least 1")
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.path = path
        self.capacity = capacity
        self.capacity_bytes = capacity_bytes
        self.write_errors = 0
        """Pushes the file refused (disk full, I/O error), counted as drops too."""
        self.discarded_file: Path | None = None
        """Where an unreadable queue file was moved on open (``None``: it was fine)."""
        self._lock = threading.RLock()
        try:
            self._db = self._open(synchronous)
        except sqlite3.DatabaseError:
            # A file that is not a database (torn write on a bad card, stray file) must
            # not keep the node from starting: keep it aside for inspection, start empty.
            self.discarded_file = path.with_name(f"{path.name}.corrupt-{os.getpid()}")
            path.rename(self.discarded_file)
            for suffix in ("-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            self._db = self._open(synchronous)
        self.requeued_on_open = self._db.execute(
            "UPDATE messages SET inflight = 0 WHERE inflight = 1"
        ).rowcount
        self._db.commit()
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._counts.update(dict(self._db.execute("SELECT name, value FROM counters")))
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM messages").fetchone()
        self._queued, self._bytes = int(row[0]), int(row[1])
        self._inflight = 0

    def _open(self, synchronous: str) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            db.executescript(_SCHEMA)
            db.execute("SELECT COUNT(*) FROM messages").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    # -- the ForwardBuffer interface ----------------------------------------------------

    def __len__(self) -> int:
        return self._queued + self._inflight

    @property
    def queued(self) -> int:
        return self._queued

    @property
    def inflight(self) -> int:
        return self._inflight

    @property
    def nbytes(self) -> int:
        """Topic plus payload bytes held (queued and in flight)."""
        return self._bytes

    @property
    def accepted(self) -> int:
        return self._counts["accepted"]

    @property
    def acked(self) -> int:
        return self._counts["acked"]

    @property
    def dropped(self) -> Mapping[SendPriority, int]:
        return {p: self._counts[f"dropped_{p.name.lower()}"] for p in SendPriority}

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def push(
        self, topic: str, payload: bytes, priority: SendPriority, node_id: str, seq: int
    ) -> Envelope | None:
        """Store a message; return whatever was dropped to make room (possibly this one).

        When several smaller messages must go to fit a large one, all are dropped and
        counted; the oldest of them is returned.
        """
        size = len(topic.encode()) + len(payload)
        saved = (dict(self._counts), self._queued, self._bytes)
        try:
            with self._lock, self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._bump("accepted")
                victims = self._victims(priority, size)
                if victims is None:
                    self._bump(f"dropped_{priority.name.lower()}")
                    return Envelope(-1, topic, payload, priority, node_id, seq)
                for victim, victim_size in victims:
                    self._db.execute("DELETE FROM messages WHERE id = ?", (victim.id,))
                    self._bump(f"dropped_{victim.priority.name.lower()}")
                    self._queued -= 1
                    self._bytes -= victim_size
                self._db.execute(
                    "INSERT INTO messages (priority, topic, payload, node_id, seq, size)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (int(priority), topic, payload, node_id, seq, size),
                )
                self._queued += 1
                self._bytes += size
        except sqlite3.OperationalError:
            # Disk full or an I/O error: the transaction rolled back. The node must keep
            # running, so this message counts as dropped (in memory, the file refused it).
            self._counts, self._queued, self._bytes = saved
            self._counts["accepted"] += 1
            self._counts[f"dropped_{priority.name.lower()}"] += 1
            self.write_errors += 1
            return Envelope(-1, topic, payload, priority, node_id, seq)
        return victims[0][0] if victims else None

    def _victims(self, priority: SendPriority, size: int) -> list[tuple[Envelope, int]] | None:
        """Queued messages to drop, least important and oldest first, so ``size`` fits;
        ``None`` when only more important (or in-flight) messages could make room."""
        excess_n = len(self) + 1 - self.capacity
        excess_b = self._bytes + size - self.capacity_bytes
        if excess_n <= 0 and excess_b <= 0:
            return []
        if size > self.capacity_bytes:
            return None
        out: list[tuple[Envelope, int]] = []
        rows = self._db.execute(
            "SELECT id, topic, payload, priority, node_id, seq, size FROM messages"
            " WHERE inflight = 0 AND priority >= ? ORDER BY priority DESC, id",
            (int(priority),),
        )
        for row in rows:
            if excess_n <= 0 and excess_b <= 0:
                break
            out.append((_envelope(row), int(row[6])))
            excess_n -= 1
            excess_b -= int(row[6])
        return out if excess_n <= 0 and excess_b <= 0 else None

    def take(self, limit: int) -> list[Envelope]:
        """Mark up to ``limit`` queued messages, most important and oldest first, in flight."""
        if limit <= 0:
            return []
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute(
                "SELECT id, topic, payload, priority, node_id, seq FROM messages"
                " WHERE inflight = 0 ORDER BY priority, id LIMIT ?",
                (limit,),
            ).fetchall()
            self._db.executemany(
                "UPDATE messages SET inflight = 1 WHERE id = ?", [(r[0],) for r in rows]
            )
            self._queued -= len(rows)
            self._inflight += len(rows)
        return [_envelope(r) for r in rows]

    def ack(self, envelope_id: int) -> Envelope | None:
        """The network confirmed delivery: delete the message (``None`` if unknown)."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "DELETE FROM messages WHERE id = ? AND inflight = 1"
                " RETURNING id, topic, payload, priority, node_id, seq, size",
                (envelope_id,),
            ).fetchone()
            if row is None:
                return None
            self._bump("acked")
            self._inflight -= 1
            self._bytes -= int(row[6])
        return _envelope(row)

    def retry(self, envelope_id: int) -> Envelope | None:
        """Put one in-flight message back in the queue; its id keeps it ahead of newer ones."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "UPDATE messages SET inflight = 0 WHERE id = ? AND inflight = 1"
                " RETURNING id, topic, payload, priority, node_id, seq",
                (envelope_id,),
            ).fetchone()
            if row is None:
                return None
            self._queued += 1
            self._inflight -= 1
        return _envelope(row)

    def requeue(self) -> int:
        """Put every in-flight message back in the queue, ahead of newer ones of its class."""
        with self._lock, self._db:
            n = self._db.execute("UPDATE messages SET inflight = 0 WHERE inflight = 1").rowcount
            self._queued += n
            self._inflight -= n
        return int(n)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> DiskForwardBuffer:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _b: TracebackType | None
    ) -> None:
        self.close()

    def _bump(self, name: str) -> None:
        """Count one event, in memory and (inside the caller's transaction) in the file."""
        self._counts[name] += 1
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, self._counts[name]),
        )


def _envelope(row: tuple[Any, ...]) -> Envelope:
    id_, topic, payload, priority, node_id, seq = row[:6]
    return Envelope(
        int(id_), str(topic), bytes(payload), SendPriority(priority), str(node_id), int(seq)
    )
