"""A corpus of bad MQTT payloads: nothing crashes, every one is quarantined with a reason."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.core.db import make_engine
from backend.core.orm import MessageRow, QuarantineRow
from backend.ingest.ingestor import Ingestor
from backend.ingest.store import Store
from edgeqi.protocol import MAX_MESSAGE_BYTES
from tests.backend import factory as f

TOPIC = "edgeqi/v1/nodes/cam-9/heartbeat"
_good = json.loads(f.wire(f.heartbeat("cam-9", 1))[1])


def _mutate(**changes: object) -> bytes:
    return json.dumps(_good | changes).encode()


CORPUS: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("not json", b"hello"),
    ("truncated", f.wire(f.heartbeat("cam-9", 1))[1][:-5]),
    ("array", b"[1,2,3]"),
    ("null", b"null"),
    ("number", b"42"),
    ("invalid utf-8", b"\xff\xfe\xfd"),
    ("nul escaped", _mutate(mode="full\u0000")),
    ("seq string", _mutate(seq="1")),
    ("seq negative", _mutate(seq=-1)),
    ("seq float", _mutate(seq=1.5)),
    ("seq huge", _mutate(seq=2**70)),
    ("soc out of range", _mutate(battery_soc=1.5)),
    ("NaN", _good_text := json.dumps(_good).replace('"power_w":5.5', '"power_w":NaN').encode()),
    ("Infinity", json.dumps(_good).replace('"power_w":5.5', '"power_w":1e999').encode()),
    ("extra field", _mutate(evil=True)),
    ("wrong version", _mutate(v=2)),
    ("unicode node id", _mutate(node_id="камера-1")),
    ("emoji everywhere", _mutate(mode="🚗" * 100)),
    ("deep nesting", b"[" * 5000 + b"]" * 5000),
    ("huge", b'{"a":"' + b"x" * (MAX_MESSAGE_BYTES + 10) + b'"}'),
    ("huge valid-looking", _mutate(mode="x" * (MAX_MESSAGE_BYTES + 1))),
    ("missing fields", b'{"v":1,"kind":"heartbeat"}'),
    ("kind mismatch", f.wire(f.queue("cam-9", 2))[1]),
    ("node mismatch", f.wire(f.heartbeat("cam-8", 3))[1]),
]


def test_corpus_is_quarantined_with_reasons(tmp_path: object, sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    ingestor = Ingestor(Store(engine))
    good_topic, good = f.wire(f.heartbeat("cam-9", 1))
    ingestor.submit(good_topic, good)
    ingestor.flush()
    for _name, payload in CORPUS:
        ingestor.submit(TOPIC, payload)
    ingestor.submit(good_topic, good)  # replayed
    ingestor.submit("edgeqi/v1/nodes/\udcff/heartbeat", good)  # undecodable topic
    ingestor.flush()
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(MessageRow))
        rows = conn.execute(select(QuarantineRow.reason, QuarantineRow.detail)).all()
    assert stored == 1
    assert len(rows) == len(CORPUS) + 2
    assert all(reason and detail for reason, detail in rows)
    assert {r for r, _ in rows} >= {"invalid_json", "schema", "oversized", "duplicate"}
    engine.dispose()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    topic=st.one_of(st.just(TOPIC), st.text(max_size=80)),
    payload=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.dictionaries(
            st.sampled_from([*_good, "x"]),
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
        ).map(lambda d: json.dumps(_good | d).encode()),
    ),
)
def test_random_payloads_never_raise(topic: str, payload: bytes) -> None:
    store = _FakeStore()
    ingestor = Ingestor(store)  # type: ignore[arg-type]
    ingestor.submit(topic, payload)
    assert ingestor._pending() == 1
    item = (ingestor._accepted + ingestor._refused)[0]  # type: ignore[operator]
    assert getattr(item, "reason", "ok")


class _FakeStore:
    """Validation happens before any database work; no store is needed to test it."""
