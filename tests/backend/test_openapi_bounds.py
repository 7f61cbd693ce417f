"""Integer bounds in the OpenAPI document are exact integers (FastAPI's model made them
floats, and ``float(2**63 - 1)`` is ``2**63``): live schemathesis sent the silence a
rule id of 9223372036854775999 as schema-valid and met the 422 of ``le=2**63 - 1``."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from backend.api.schema_bounds import INT64_MAX, exact_integer_bounds

BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _integer_schemas(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "integer":
            found.append(node)
        for value in node.values():
            found += _integer_schemas(value)
    elif isinstance(node, list):
        for value in node:
            found += _integer_schemas(value)
    return found


def test_silence_rule_id_states_the_exact_bigint_ceiling(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    rule_id = schema["components"]["schemas"]["SilenceBody"]["properties"]["rule_id"]
    (integer,) = [o for o in rule_id["anyOf"] if o.get("type") == "integer"]
    assert integer["maximum"] == INT64_MAX and type(integer["maximum"]) is int
    assert integer["minimum"] == 0 and type(integer["minimum"]) is int


def test_every_integer_bound_is_an_integer(client: TestClient) -> None:
    schemas = _integer_schemas(client.get("/openapi.json").json())
    bounded = [s for s in schemas if set(BOUNDS) & set(s)]
    assert bounded
    for s in bounded:
        for key in set(BOUNDS) & set(s):
            assert type(s[key]) is int, (key, s)


def test_the_ceiling_is_accepted_and_one_above_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {"duration_s": 60, "comment": "c"}
    at = client.post("/api/alerts/silences", json=body | {"rule_id": INT64_MAX}, headers=admin)
    assert at.status_code == 404  # valid, but no such rule
    above = {"rule_id": INT64_MAX + 1}
    assert client.post("/api/alerts/silences", json=body | above, headers=admin).status_code == 422


def test_rounding_is_inward_and_clamped_to_int64() -> None:
    doc = {
        "a": {"type": "integer", "minimum": 0.5, "maximum": 9.5},
        "b": {"type": "integer", "exclusiveMinimum": 0.5, "exclusiveMaximum": 9.5},
        "c": {"type": "integer", "maximum": float(2**63), "exclusiveMaximum": float(2**64)},
        "d": {"type": "number", "maximum": 9.5},
    }
    out = exact_integer_bounds(doc)
    assert out["a"] == {"type": "integer", "minimum": 1, "maximum": 9}
    assert out["b"] == {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}
    assert out["c"] == {"type": "integer", "maximum": INT64_MAX, "exclusiveMaximum": 2**63}
    assert out["d"] == {"type": "number", "maximum": 9.5}
    assert exact_integer_bounds(out) == out
