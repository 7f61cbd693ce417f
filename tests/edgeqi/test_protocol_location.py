"""Heartbeats carry an optional place (coordinates, junction, approach) for the city map.

Old nodes send none, so a heartbeat without it must decode unchanged and encode to the
same bytes (every bandwidth figure counts those bytes); a place that is given must be a
real point on the globe, because the map projects it.
"""

from __future__ import annotations

import json

import pytest

from edgeqi.protocol import Location, ProtocolError, decode, encode
from tests.backend.factory import heartbeat


def test_old_heartbeat_without_location_still_accepted_and_bytes_unchanged() -> None:
    old = heartbeat("n00001", 1)
    data = encode(old)
    assert b"location" not in data and b"approach" not in data
    doc = json.loads(data)
    assert decode(json.dumps(doc, separators=(",", ":"))) == old


def test_location_round_trips_with_junction_and_approach() -> None:
    msg = heartbeat("n00001", 2).model_copy(
        update={"location": Location(lat=48.137, lon=11.575), "intersection": "i0", "approach": "N"}
    )
    back = decode(encode(msg))
    assert back == msg
    assert back.location == Location(lat=48.137, lon=11.575)


@pytest.mark.parametrize(
    "loc",
    [
        {"lat": 90.5, "lon": 0},
        {"lat": -91, "lon": 0},
        {"lat": 0, "lon": 180.01},
        {"lat": 0, "lon": -181},
        {"lat": "NaN", "lon": 0},
        {"lat": 0, "lon": "Infinity"},
        {"lat": 0},
    ],
)
def test_impossible_location_rejected(loc: dict[str, object]) -> None:
    doc = json.loads(encode(heartbeat("n00001", 3)))
    doc["location"] = loc
    with pytest.raises(ProtocolError) as err:
        decode(json.dumps(doc))
    assert err.value.reason == "schema"
    assert "location" in err.value.detail
