"""The store-and-forward buffers and the in-memory transport (no broker needed).

The behavioural tests run on both buffers: the in-memory :class:`ForwardBuffer` and
the field node's SQLite :class:`~hardware.disk_buffer.DiskForwardBuffer`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeqi.protocol import (
    AnomalyReport,
    AnomalyType,
    DetectionBatch,
    Message,
    ReportPriority,
    decode,
)
from edgeqi.transport import Buffer, ForwardBuffer, InMemoryTransport, SendPriority, priority_of
from hardware.disk_buffer import DiskForwardBuffer
from tests.backend.factory import heartbeat

MakeBuffer = Callable[[int], Buffer]


@pytest.fixture(params=["memory", "disk"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeBuffer]:
    """Build a buffer of a given capacity, of either implementation."""
    opened: list[DiskForwardBuffer] = []

    def build(capacity: int) -> Buffer:
        if request.param == "memory":
            return ForwardBuffer(capacity)
        disk = DiskForwardBuffer(tmp_path / f"q{len(opened)}.sqlite", capacity)
        opened.append(disk)
        return disk

    yield build
    for disk in opened:
        disk.close()


def queued_priorities(buf: Buffer) -> list[SendPriority]:
    if isinstance(buf, ForwardBuffer):
        return [e.priority for q in buf._queues for e in q]
    assert isinstance(buf, DiskForwardBuffer)
    rows = buf._db.execute("SELECT priority FROM messages WHERE inflight = 0")
    return [SendPriority(r[0]) for r in rows]


def push(buf: Buffer, priority: SendPriority, seq: int) -> None:
    buf.push(f"t/{seq}", b"x", priority, "cam-1", seq)


def dropped_total(buf: Buffer) -> int:
    return sum(buf.dropped.values())


def test_full_buffer_drops_oldest_of_least_important_class(make: MakeBuffer) -> None:
    buf = make(3)
    push(buf, SendPriority.LOW, 0)
    push(buf, SendPriority.CRITICAL, 1)
    push(buf, SendPriority.LOW, 2)
    push(buf, SendPriority.NORMAL, 3)  # evicts LOW seq 0, the oldest low one
    assert [e.seq for e in buf.take(10)] == [1, 3, 2]
    assert buf.dropped[SendPriority.LOW] == 1
    assert dropped_total(buf) == 1


def test_new_message_less_important_than_everything_held_is_the_one_dropped(
    make: MakeBuffer,
) -> None:
    buf = make(2)
    push(buf, SendPriority.CRITICAL, 0)
    push(buf, SendPriority.HIGH, 1)
    dropped = buf.push("t", b"x", SendPriority.LOW, "cam-1", 2)
    assert dropped is not None and dropped.seq == 2
    assert buf.dropped[SendPriority.LOW] == 1
    assert [e.seq for e in buf.take(10)] == [0, 1]


def test_in_flight_messages_are_never_dropped_and_ack_frees_room(make: MakeBuffer) -> None:
    buf = make(2)
    push(buf, SendPriority.LOW, 0)
    push(buf, SendPriority.LOW, 1)
    taken = buf.take(2)
    dropped = buf.push("t", b"x", SendPriority.CRITICAL, "cam-1", 2)
    assert dropped is not None and dropped.seq == 2  # nothing queued could make room
    assert buf.ack(taken[0].id) is not None
    assert buf.ack(taken[0].id) is None  # a second ack of the same message is ignored
    assert buf.push("t", b"x", SendPriority.CRITICAL, "cam-1", 3) is None
    assert len(buf) == 2 and buf.acked == 1


def test_requeue_restores_original_order_ahead_of_newer_messages(make: MakeBuffer) -> None:
    buf = make(10)
    for seq in range(3):
        push(buf, SendPriority.NORMAL, seq)
    buf.take(2)
    push(buf, SendPriority.NORMAL, 3)
    assert buf.requeue() == 2
    assert [e.seq for e in buf.take(10)] == [0, 1, 2, 3]


def test_retry_puts_a_message_back_ahead_of_newer_ones_in_original_order(
    make: MakeBuffer,
) -> None:
    buf = make(10)
    for seq in range(4):
        push(buf, SendPriority.NORMAL, seq)
    taken = buf.take(3)
    push(buf, SendPriority.NORMAL, 4)
    buf.ack(taken[0].id)
    assert buf.retry(taken[2].id) is not None and buf.retry(taken[1].id) is not None
    assert buf.retry(taken[1].id) is None  # no longer in flight
    assert buf.acked == 1 and len(buf) == 4
    assert [e.seq for e in buf.take(10)] == [1, 2, 3, 4]


@pytest.mark.parametrize("kind", ["memory", "disk"])
@settings(max_examples=40, deadline=None)
@given(
    priorities=st.lists(st.sampled_from(list(SendPriority)), max_size=60),
    capacity=st.integers(1, 8),
)
def test_critical_is_never_dropped_while_something_less_important_is_held(
    kind: str, priorities: list[SendPriority], capacity: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        buf: Buffer = (
            ForwardBuffer(capacity)
            if kind == "memory"
            else DiskForwardBuffer(Path(tmp) / "q.sqlite", capacity)
        )
        for seq, p in enumerate(priorities):
            held_before = queued_priorities(buf)
            before = dict(buf.dropped)
            buf.push("t", b"x", p, "cam-1", seq)
            if buf.dropped[SendPriority.CRITICAL] > before[SendPriority.CRITICAL]:
                assert all(h == SendPriority.CRITICAL for h in held_before)
            assert len(buf) <= capacity
        assert buf.accepted == len(priorities) == len(buf) + dropped_total(buf)
        if isinstance(buf, DiskForwardBuffer):
            buf.close()


def _anomaly(seq: int, priority: ReportPriority) -> AnomalyReport:
    return AnomalyReport(
        node_id="cam-1",
        seq=seq,
        ts=1.0,
        intersection="i",
        approach="n",
        anomaly=AnomalyType.QUEUE_SPIKE,
        priority=priority,
        observed_at=1.0,
        value=10,
        baseline=2,
        score=7,
        significance=9,
    )


def test_priority_of_protocol_messages() -> None:
    detections = DetectionBatch(
        node_id="cam-1", seq=0, ts=1, intersection="i", frame_ts=1, detections=[]
    )
    assert priority_of(_anomaly(0, ReportPriority.CRITICAL)) is SendPriority.CRITICAL
    assert priority_of(_anomaly(0, ReportPriority.HIGH)) is SendPriority.HIGH
    assert priority_of(heartbeat("cam-1", 0)) is SendPriority.NORMAL
    assert priority_of(detections) is SendPriority.LOW


def test_in_memory_transport_holds_messages_during_an_outage() -> None:
    got: list[Message] = []
    acked: list[int] = []
    transport = InMemoryTransport(
        lambda _t, p: got.append(decode(p)) is None,
        capacity=3,
        on_ack=lambda e: acked.append(e.seq),
    )
    assert transport.send(heartbeat("cam-1", 0))
    transport.set_link(False)
    assert transport.send(heartbeat("cam-1", 1))
    assert transport.send(_anomaly(2, ReportPriority.CRITICAL))
    assert transport.send(heartbeat("cam-1", 3))
    assert transport.send(heartbeat("cam-1", 4))  # full: the oldest normal (seq 1) goes
    assert not transport.flush(0)
    transport.set_link(True)
    assert transport.flush(0)
    assert [m.seq for m in got] == [0, 2, 3, 4]  # critical first once the link is back
    assert acked == [0, 2, 3, 4]
    stats = transport.stats()
    assert stats.dropped["normal"] == 1 and stats.delivered == 4 and stats.disconnects == 1
