"""The durable queue: what the in-memory buffer cannot do (survive a restart, bytes cap).

The behaviour it shares with :class:`ForwardBuffer` is tested on both in
``tests/edgeqi/test_transport_buffer.py``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from edgeqi.transport import SendPriority
from hardware.disk_buffer import DiskForwardBuffer


def _fill(buf: DiskForwardBuffer, priorities: list[SendPriority], size: int = 10) -> None:
    for seq, p in enumerate(priorities):
        buf.push(f"t/{seq}", bytes(size), p, "cam-1", seq)


def test_messages_and_counters_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    with DiskForwardBuffer(path, capacity=4) as buf:
        _fill(
            buf,
            [
                SendPriority.LOW,
                SendPriority.CRITICAL,
                SendPriority.NORMAL,
                SendPriority.LOW,
                SendPriority.HIGH,
            ],
        )
        first = buf.take(1)
        assert [e.seq for e in first] == [1]
        assert buf.ack(first[0].id) is not None
    with DiskForwardBuffer(path, capacity=4) as again:
        assert again.accepted == 5 and again.acked == 1
        assert again.dropped[SendPriority.LOW] == 1 and sum(again.dropped.values()) == 1
        assert len(again) == 3 and again.queued == 3 and again.inflight == 0
        assert [(e.seq, e.topic, e.payload) for e in again.take(10)] == [
            (4, "t/4", bytes(10)),
            (2, "t/2", bytes(10)),
            (3, "t/3", bytes(10)),
        ]


def test_in_flight_messages_go_back_to_the_queue_on_reopen_in_order(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    buf = DiskForwardBuffer(path)
    _fill(buf, [SendPriority.NORMAL] * 5)
    assert [e.seq for e in buf.take(3)] == [0, 1, 2]
    buf.push("late", b"x", SendPriority.NORMAL, "cam-1", 5)
    buf.close()  # the process dies with three messages unacknowledged
    again = DiskForwardBuffer(path)
    assert again.requeued_on_open == 3 and again.inflight == 0
    assert [e.seq for e in again.take(10)] == [0, 1, 2, 3, 4, 5]
    again.close()


def test_byte_capacity_drops_oldest_least_important_until_the_new_message_fits(
    tmp_path: Path,
) -> None:
    # Each message is 3 topic bytes + 100 payload bytes; the cap holds three of them.
    buf = DiskForwardBuffer(tmp_path / "q.sqlite", capacity=100, capacity_bytes=320)
    _fill(buf, [SendPriority.LOW, SendPriority.NORMAL, SendPriority.LOW], size=100)
    assert buf.nbytes == 309
    dropped = buf.push("t/3", bytes(150), SendPriority.HIGH, "cam-1", 3)  # needs two to go
    assert dropped is not None and dropped.seq == 0
    assert buf.dropped[SendPriority.LOW] == 2 and buf.dropped[SendPriority.NORMAL] == 0
    assert [e.seq for e in buf.take(10)] == [3, 1]
    # Nothing queued is left to make room (both in flight): the new message goes.
    kept_out = buf.push("t/4", bytes(100), SendPriority.CRITICAL, "cam-1", 4)
    assert kept_out is not None and kept_out.seq == 4
    assert buf.dropped[SendPriority.CRITICAL] == 1
    # Larger than the whole cap: refused outright, nothing else dropped for it.
    assert buf.push("big", bytes(400), SendPriority.CRITICAL, "cam-1", 5) is not None
    assert buf.dropped[SendPriority.CRITICAL] == 2 and len(buf) == 2
    buf.close()


def test_an_unreadable_queue_file_is_kept_aside_and_the_node_starts_empty(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.sqlite"
    path.write_bytes(b"this is not an sqlite database, a torn write on a bad card" * 100)
    with DiskForwardBuffer(path) as buf:
        assert buf.discarded_file is not None and buf.discarded_file.exists()
        assert len(buf) == 0
        buf.push("t", b"x", SendPriority.NORMAL, "cam-1", 0)
        assert buf.queued == 1


def test_the_file_is_in_wal_mode_with_the_chosen_synchronous_level(tmp_path: Path) -> None:
    with DiskForwardBuffer(tmp_path / "q.sqlite", synchronous="FULL") as buf:
        assert buf._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert buf._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_killed_process_loses_nothing_it_pushed(tmp_path: Path) -> None:
    """The process dies without closing anything (``os._exit``): every committed push is
    in the file and the messages it had in flight are queued again."""
    path = tmp_path / "q.sqlite"
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from edgeqi.transport import SendPriority
        from hardware.disk_buffer import DiskForwardBuffer
        buf = DiskForwardBuffer(Path({str(path)!r}))
        for seq in range(200):
            buf.push("t", b"x" * 100, SendPriority.NORMAL, "cam-1", seq)
        for e in buf.take(20)[:5]:
            buf.ack(e.id)
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with DiskForwardBuffer(path) as buf:
        assert buf.requeued_on_open == 15 and buf.acked == 5 and buf.accepted == 200
        assert [e.seq for e in buf.take(1000)] == list(range(5, 200))


def test_a_full_disk_drops_the_new_message_counted_instead_of_crashing(tmp_path: Path) -> None:
    with DiskForwardBuffer(tmp_path / "q.sqlite") as buf:
        pages = buf._db.execute("PRAGMA page_count").fetchone()[0]
        buf._db.execute(f"PRAGMA max_page_count = {pages}")  # the card is full
        results = [buf.push("t", bytes(2000), SendPriority.HIGH, "cam-1", s) for s in range(20)]
        assert buf.write_errors > 0
        failed = [r for r in results if r is not None]
        assert len(failed) == buf.write_errors == buf.dropped[SendPriority.HIGH]
        assert buf.accepted == 20 and len(buf) == 20 - len(failed)
        buf._db.execute(f"PRAGMA max_page_count = {pages * 100}")  # space again
        assert buf.push("t", b"x", SendPriority.HIGH, "cam-1", 20) is None
        assert [e.seq for e in buf.take(100)][-1] == 20
