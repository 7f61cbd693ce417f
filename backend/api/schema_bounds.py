"""Exact integer bounds in the OpenAPI document.

FastAPI passes the document through its ``Schema`` model, which holds ``minimum`` and
``maximum`` as floats: ``2**63 - 1`` (the BIGINT ceiling of every id) comes out as
``9.223372036854776e+18``, which is ``2**63``, so clients (and schemathesis) took
``9223372036854775999`` for a valid rule id and met a 422. Every integer this API
takes is a 64-bit one (PostgreSQL's BIGINT), so an integer schema's float bound is
rounded toward the inside and clamped to that range, which restores the declared
``2**63 - 1`` and changes no bound that a float holds exactly.
"""

from __future__ import annotations

import math
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# key: (rounding toward the inside for integers, the int64 range that key can express)
_INWARD = {
    "minimum": (math.ceil, INT64_MIN, INT64_MAX),
    "exclusiveMinimum": (math.floor, INT64_MIN - 1, INT64_MAX),
    "maximum": (math.floor, INT64_MIN, INT64_MAX),
    "exclusiveMaximum": (math.ceil, INT64_MIN, INT64_MAX + 1),
}


def _exact(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key, (rounding, low, high) in _INWARD.items():
                bound = node.get(key)
                if isinstance(bound, float) and math.isfinite(bound):
                    node[key] = min(max(rounding(bound), low), high)
        for value in node.values():
            _exact(value)
    elif isinstance(node, list):
        for value in node:
            _exact(value)


def exact_integer_bounds(schema: dict[str, Any]) -> dict[str, Any]:
    """Integer bounds as exact int64 integers, in place and idempotent."""
    _exact(schema)
    return schema
