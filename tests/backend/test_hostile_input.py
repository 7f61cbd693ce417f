"""Hostile text and numbers get a 4xx on the real PostgreSQL, never a 500.

PostgreSQL refuses NUL in text, cannot encode a lone surrogate, and holds no integer
beyond 64 bits; each of these used to reach the database and come back as a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.core.settings import Settings
from tests.backend.conftest import ADMIN, token_for

pytestmark = pytest.mark.integration

Headers = dict[str, str]
RULE = {"name": "busy", "metric": "queue.vehicles", "op": ">", "threshold": 10}
SILENCE = {"node_id": "cam-1", "duration_s": 60, "comment": "maintenance"}
HOSTILE_TEXT = ["a\x00b", "\ud800", "x\udfffy"]
HUGE = [2**63, 2**70, -(2**63) - 1]


@pytest.fixture
def pg_client(settings: Settings, postgres_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"database_url": postgres_url}))) as c:
        yield c


@pytest.fixture
def pg_admin(pg_client: TestClient) -> Headers:
    return token_for(pg_client, *ADMIN)


def _bodies() -> list[tuple[str, str, dict[str, Any]]]:
    out: list[tuple[str, str, dict[str, Any]]] = []
    for text in HOSTILE_TEXT:
        out += [
            ("POST", "/api/alerts/rules", RULE | {"name": text}),
            ("POST", "/api/alerts/silences", SILENCE | {"comment": text}),
            ("POST", "/api/alerts/silences", {**SILENCE, "node_id": None, "intersection": text}),
            ("PUT", "/api/dashboard/settings/site", {"site_name": text}),
            ("POST", "/api/users", {"username": "u1", "password": text * 8}),
            ("POST", "/api/auth/login", {"username": text, "password": "whatever"}),
        ]
    for number in HUGE:
        out += [("POST", "/api/alerts/silences", SILENCE | {"rule_id": number})]
    return out


@pytest.mark.parametrize(("method", "path", "body"), _bodies())
def test_hostile_bodies_are_refused(
    pg_client: TestClient, pg_admin: Headers, method: str, path: str, body: dict[str, Any]
) -> None:
    # Sent as JSON text with escapes (``"\\ud800"``), as a hostile client would.
    headers = pg_admin | {"Content-Type": "application/json"}
    r = pg_client.request(method, path, content=json.dumps(body), headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)


PATHS = [
    *(f"/api/alerts/rules/{n}" for n in HUGE),
    *(f"/api/users/{n}" for n in HUGE),
    "/api/nodes/cam%00",
    "/api/nodes/%ED%A0%80",
    "/api/nodes?prefix=cam%00",
    "/api/nodes?prefix=%ED%A0%80",
    "/api/export/detections?intersection=a%00b",
    "/api/nodes?limit=18446744073709551617",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_hostile_paths_and_queries_are_refused(
    pg_client: TestClient, pg_admin: Headers, method: str, path: str
) -> None:
    body = RULE if path.startswith("/api/alerts/rules/") else {}
    r = pg_client.request(method, path, json=body, headers=pg_admin)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)


def test_schema_states_the_url_guards_nul_rule(client: TestClient) -> None:
    """Every free-text path or query parameter's schema refuses a NUL, as UrlGuard does:
    a client generating from the schema (schemathesis found it) must not believe a NUL
    query valid and then meet the guard's 400."""
    free_text = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] not in ("path", "query"):
                    continue
                value = parameter["schema"]
                for option in [value, *value.get("anyOf", [])]:
                    if option.get("type") == "string" and "enum" not in option:
                        free_text.append((method, path, parameter["name"], option))
    assert free_text, "no free-text parameter found: the test looks at nothing"
    for method, path, name, option in free_text:
        pattern = option.get("pattern")
        assert pattern is not None, (method, path, name)
        assert re.search(pattern, "a\x00b") is None, (method, path, name, pattern)
