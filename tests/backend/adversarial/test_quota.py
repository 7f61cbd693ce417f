"""No client can fill the disk (issue 17.3): junk from one node is kept only up to its
quarantine quota, and the rest is counted, acknowledged and not written.

Before the fix 300 junk messages of 1 MiB grew the database from 1.5 MB to 24 MB; now
the broker refuses packets over ``max_packet_size`` and a node's quarantine is bounded.
"""

from __future__ import annotations

from collections.abc import Callable

from backend.ingest.quota import QuarantineQuota
from edgeqi.protocol import TOPIC_ROOT, encode
from tests.backend import factory as f
from tests.backend.adversarial.conftest import Backend, publish

ROWS = 20


def test_one_nodes_junk_stops_at_its_quota_and_is_counted(
    make_backend: Callable[..., Backend],
) -> None:
    backend = make_backend(QuarantineQuota(ROWS, 10 * 64 * 1024, 3600))
    backend.start()
    junk = b"\n".join(b"junk-%d " % i + b"z" * 2000 for i in range(3 * ROWS))
    publish("cam-001", backend.broker, f"{TOPIC_ROOT}/nodes/cam-001/log", junk, lines=True)
    backend.settle()
    assert backend.reasons() == ["invalid_json"] * ROWS
    assert backend.metrics.quarantine_dropped.labels("invalid_json")._value.get() == 2 * ROWS
    # Another node's budget is its own: cam-002's junk is still kept.
    publish("cam-002", backend.broker, f"{TOPIC_ROOT}/nodes/cam-002/log", b"{oops")
    backend.settle()
    assert backend.reasons().count("invalid_json") == ROWS + 1


def test_the_byte_budget_bounds_what_large_junk_keeps(make_backend: Callable[..., Backend]) -> None:
    budget = 3 * 64 * 1024
    backend = make_backend(QuarantineQuota(10_000, budget, 3600))
    backend.start()
    for _ in range(10):
        publish("cam-001", backend.broker, f"{TOPIC_ROOT}/nodes/cam-001/log", b"[" * 200_000)
    backend.settle()
    assert backend.quarantined_bytes() <= budget
    assert len(backend.reasons()) == 3


def test_a_node_replaying_its_own_messages_spends_its_quota(
    make_backend: Callable[..., Backend],
) -> None:
    """Valid messages sent again are quarantined as ``duplicate``, and charged like junk:
    before this fix a replaying node could fill the quarantine without bound."""
    backend = make_backend(QuarantineQuota(ROWS, 10 * 64 * 1024, 3600))
    backend.start()
    topic = f"{TOPIC_ROOT}/nodes/cam-001/log"
    lines = b"\n".join(encode(f.log("cam-001", seq)) for seq in range(ROWS))
    for _ in range(4):  # once new, three times replayed
        publish("cam-001", backend.broker, topic, lines, lines=True)
    backend.settle()
    assert backend.stored() >= ROWS
    assert backend.reasons() == ["duplicate"] * ROWS
    assert backend.metrics.quarantine_dropped.labels("duplicate")._value.get() == 2 * ROWS
    assert backend.metrics.duplicates._value.get() == 3 * ROWS
