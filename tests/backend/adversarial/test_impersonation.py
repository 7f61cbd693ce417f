"""No node speaks for another (issue 17.1), probed with ``mosquitto_pub`` as cam-001.

Before the fix the ACL gave every node ``readwrite edgeqi/v1/consensus/#`` and ingest
did not tie a consensus message's ``node_id`` to anything: cam-001's message claiming
to be cam-002 was stored as (cam-002, 4000), and cam-002's own seq 4000 was then
acknowledged and quarantined as a duplicate, lost without cam-002 knowing.
"""

from __future__ import annotations

from backend.core.orm import MessageRow, Node
from edgeqi.protocol import TOPIC_ROOT, encode
from tests.backend import factory as f
from tests.backend.adversarial.conftest import Backend, publish


def forged(node: str, seq: int) -> bytes:
    return encode(f.consensus(node, seq))


def nodes(backend: Backend) -> set[str]:
    with backend.engine.connect() as conn:
        from sqlalchemy import select

        return set(conn.scalars(select(Node.node_id)))


def test_consensus_on_the_victims_sender_level_is_refused_by_the_broker(backend: Backend) -> None:
    out = publish(
        "cam-001",
        backend.broker,
        f"{TOPIC_ROOT}/consensus/int-1/cam-002/prepare",
        forged("cam-002", 4000),
    )
    assert "Not authorized" in out.stderr
    # The victim's own message with the same seq is stored, not quarantined as a duplicate.
    publish("cam-002", backend.broker, *f.wire(f.consensus("cam-002", 4000)))
    backend.settle()
    assert backend.stored(MessageRow.node_id == "cam-002", MessageRow.seq == 4000) == 1
    assert "duplicate" not in backend.reasons()


def test_consensus_naming_another_node_on_ones_own_level_is_quarantined(backend: Backend) -> None:
    publish(
        "cam-001",
        backend.broker,
        f"{TOPIC_ROOT}/consensus/int-1/cam-001/prepare",
        forged("cam-002", 4000),
    )
    publish(
        "cam-001",
        backend.broker,
        f"{TOPIC_ROOT}/consensus/int-1/cam-001/prepare/cam-002",
        forged("cam-002", 4001),
    )
    backend.settle()
    assert backend.reasons() == ["node_mismatch", "node_mismatch"]
    assert backend.stored(MessageRow.seq.in_([4000, 4001])) == 0


def test_an_invented_node_is_never_created(backend: Backend) -> None:
    publish(
        "cam-001",
        backend.broker,
        f"{TOPIC_ROOT}/consensus/int-1/cam-001/prepare",
        forged("ghost-9", 1),
    )
    out = publish(
        "cam-001",
        backend.broker,
        f"{TOPIC_ROOT}/consensus/int-1/ghost-9/prepare",
        forged("ghost-9", 2),
    )
    assert "Not authorized" in out.stderr
    backend.settle()
    assert "ghost-9" not in nodes(backend)
    assert backend.reasons() == ["node_mismatch"]


def test_telemetry_as_another_node_is_refused_or_quarantined(backend: Backend) -> None:
    heartbeat = encode(f.heartbeat("cam-002", 7))
    out = publish("cam-001", backend.broker, f"{TOPIC_ROOT}/nodes/cam-002/heartbeat", heartbeat)
    assert "Not authorized" in out.stderr
    publish("cam-001", backend.broker, f"{TOPIC_ROOT}/nodes/cam-001/heartbeat", heartbeat)
    backend.settle()
    assert backend.reasons() == ["node_mismatch"]
    assert backend.stored(MessageRow.node_id == "cam-002", MessageRow.seq == 7) == 0


def test_every_topic_kind_is_tied_to_the_login(backend: Backend) -> None:
    """Each telemetry kind under the victim's subtree is refused by the broker."""
    for message in (
        f.heartbeat("cam-002", 1),
        f.queue("cam-002", 2),
        f.anomaly("cam-002", 3),
        f.detections("cam-002", 5),
        f.log("cam-002", 6),
    ):
        out = publish("cam-001", backend.broker, *f.wire(message))
        assert "Not authorized" in out.stderr, message.kind
    backend.settle()
    assert backend.stored(MessageRow.seq < 100) == 0
    assert backend.reasons() == []


def test_a_topic_of_the_wrong_depth_is_refused_not_silently_dropped(backend: Backend) -> None:
    out = publish(
        "cam-001",
        backend.broker,
        f"{TOPIC_ROOT}/nodes/cam-001/heartbeat/x",
        encode(f.heartbeat("cam-001", 1)),
    )
    assert "Not authorized" in out.stderr  # the publisher is told
    # Where no ACL stands in between (the in-process bus, an open broker) ingest sees it.
    backend.ingestor.submit(
        f"{TOPIC_ROOT}/nodes/cam-001/heartbeat/x", encode(f.heartbeat("cam-001", 1))
    )
    backend.settle()
    assert backend.reasons() == ["bad_topic"]
