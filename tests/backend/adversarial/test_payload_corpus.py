"""Hostile payloads on a node's own topic (issue 17.3, 17.6): each one is refused with a
counted reason, stored exactly once, or flagged, never lost silently and never a crash."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from backend.core.orm import MessageRow, Node
from backend.ingest.identity import Registry
from edgeqi.protocol import MAX_MESSAGE_BYTES, TOPIC_ROOT, encode
from tests.backend import factory as f
from tests.backend.adversarial.conftest import Backend, publish

HB = f"{TOPIC_ROOT}/nodes/cam-001/heartbeat"
LOG = f"{TOPIC_ROOT}/nodes/cam-001/log"


def good(seq: int) -> bytes:
    return encode(f.heartbeat("cam-001", seq))


def test_corpus_is_quarantined_with_its_reason(backend: Backend) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    nested = json.loads(good(1))
    nested["link"] = {"rtt_ms": {"a": {"b": {"c": 1}}}}
    corpus = [
        (b"{not json", "invalid_json"),
        (b"", "invalid_json"),
        (deep, "invalid_json"),
        (b'{"v":1,"node_id":"cam-001","seq":1,"kind":"heartbeat","n":"\xff\xfe"}', "invalid_json"),
        (json.dumps(nested).encode(), "schema"),
        (good(2).replace(b'"seq":2', b'"seq":-2'), "schema"),
        (good(3)[:-1] + b',"extra":"x"}', "schema"),
        (good(4).replace(b'"heartbeat"', b'"teleport"'), "unknown_kind"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "oversized"),
    ]
    for payload, _ in corpus:
        publish("cam-001", backend.broker, LOG if len(payload) > 100_000 else HB, payload)
    backend.settle()
    assert backend.reasons() == sorted(reason for _, reason in corpus)
    assert backend.stored(MessageRow.node_id == "cam-001") == 0


def test_a_packet_over_the_broker_limit_never_reaches_the_database(backend: Backend) -> None:
    before = backend.quarantined_bytes()
    for _ in range(3):
        publish("cam-001", backend.broker, LOG, b"x" * (1 << 20))
    backend.settle()
    assert backend.reasons() == []
    assert backend.quarantined_bytes() == before


def test_redelivery_and_replay_are_stored_exactly_once(backend: Backend) -> None:
    for _ in range(3):
        publish("cam-001", backend.broker, HB, good(10))
    backend.settle()
    assert backend.stored(MessageRow.node_id == "cam-001", MessageRow.seq == 10) == 1
    assert backend.reasons() == ["duplicate", "duplicate"]


def test_a_seq_regression_is_stored_and_counted(backend: Backend) -> None:
    for seq in (100, 101, 5):
        publish("cam-001", backend.broker, HB, good(seq))
    backend.settle()
    assert backend.stored(MessageRow.node_id == "cam-001") == 3
    flagged = backend.metrics.flagged.labels("seq_regression")._value.get()
    assert flagged == 1


def test_an_unregistered_node_is_counted_and_refused_when_registration_is_required(
    backend: Backend,
) -> None:
    publish("cam-001", backend.broker, HB, good(1))
    backend.settle()
    assert backend.stored(MessageRow.node_id == "cam-001") == 1
    # Neither camera registered through /api/nodes/register: cam-001 and the sentinel.
    assert backend.metrics.flagged.labels("unregistered")._value.get() == 2
    backend.ingestor.require_registration = True
    backend.ingestor.submit(HB, good(2))
    backend.ingestor.flush()
    assert backend.reasons() == ["unregistered"]
    with Session(backend.engine) as db:
        db.get_one(Node, "cam-001").registered_ms = 1
        db.commit()
    backend.ingestor.registry = Registry(backend.engine)  # not the cache of the refusal
    backend.ingestor.submit(HB, good(3))
    backend.ingestor.flush()
    assert backend.stored(MessageRow.node_id == "cam-001", MessageRow.seq == 3) == 1
