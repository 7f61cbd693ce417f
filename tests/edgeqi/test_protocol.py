"""The v1 protocol: one encoding, strict validation with reasons, the topic tree."""

from __future__ import annotations

import json

import pytest

from edgeqi.protocol import (
    ProtocolError,
    QueueObservation,
    consensus_topic,
    decode,
    encode,
    mqtt_publish_overhead,
    node_topic,
    parse_node_topic,
    topic_for,
)
from tests.backend.factory import anomaly, heartbeat


def test_round_trip_and_compact_encoding() -> None:
    msg = heartbeat("n00001", 1)
    data = encode(msg)
    assert b" " not in data
    assert decode(data) == msg
    assert b"cpu" not in data, "unset optionals are not sent"


def test_encoding_is_canonical() -> None:
    a = QueueObservation(
        node_id="n1", seq=4, ts=10.0, intersection="i1", approach="N", vehicles=3, length_m=21
    )
    b = decode(encode(a))
    assert encode(b) == encode(a)
    assert list(json.loads(encode(a))) == [
        "v",
        "node_id",
        "seq",
        "ts",
        "kind",
        "intersection",
        "approach",
        "vehicles",
        "length_m",
    ]


def test_encoding_equals_pydantics_public_json() -> None:
    """``encode`` calls the compiled serializer directly; the bytes must not change."""
    with_cpu = heartbeat("n1", 2).model_copy(update={"cpu": 0.25})
    for msg in (heartbeat("n1", 1), anomaly("n1", 3), with_cpu):
        assert encode(msg) == msg.model_dump_json(exclude_none=True).encode()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b'{"kind":"teleport","node_id":"n1","seq":1,"ts":1}', "unknown_kind"),
        (
            b'{"kind":"queue","node_id":"n1","seq":-1,"ts":1,"intersection":"i","approach":"N","vehicles":1,"length_m":1}',
            "schema",
        ),
        (
            b'{"kind":"queue","node_id":"bad id!","seq":1,"ts":1,"intersection":"i",'
            b'"approach":"N","vehicles":1,"length_m":1}',
            "schema",
        ),
        (
            b'{"kind":"queue","node_id":"n1","seq":1,"ts":1,"intersection":"i","approach":"N","vehicles":"many","length_m":1}',
            "schema",
        ),
        (
            b'{"kind":"queue","node_id":"n1","seq":1,"ts":1,"intersection":"i","approach":"N","vehicles":1,"length_m":1,"x":1}',
            "schema",
        ),
        (b"x" * 300_000, "oversized"),
    ],
)
def test_bad_payloads_rejected_with_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(payload)
    assert info.value.reason == reason


def test_nan_is_refused() -> None:
    with pytest.raises(ProtocolError):
        decode(
            b'{"kind":"queue","node_id":"n1","seq":1,"ts":1,"intersection":"i","approach":"N","vehicles":NaN,"length_m":1}'
        )


def test_topic_tree() -> None:
    assert node_topic("n1", "heartbeat") == "edgeqi/v1/nodes/n1/heartbeat"
    assert parse_node_topic("edgeqi/v1/nodes/n1/anomaly") == ("n1", "anomaly")
    assert consensus_topic("i0007", "cam-2", "prepare") == "edgeqi/v1/consensus/i0007/cam-2/prepare"
    assert topic_for(anomaly("n2", 1)) == "edgeqi/v1/nodes/n2/anomaly"
    with pytest.raises(ProtocolError, match="bad_topic"):
        parse_node_topic("edgeqi/v1/nodes/n1")
    with pytest.raises(ProtocolError, match="unknown_kind"):
        parse_node_topic("edgeqi/v1/nodes/n1/selfie")
    with pytest.raises(ValueError, match="invalid node_id"):
        node_topic("../etc", "heartbeat")


def test_mqtt_overhead_counts_header_topic_and_ack() -> None:
    topic = node_topic("n00001", "heartbeat")
    assert mqtt_publish_overhead(topic, qos=1) == 3 + 2 + len(topic) + 2 + 4
    assert mqtt_publish_overhead(topic, qos=0) == 3 + 2 + len(topic)
