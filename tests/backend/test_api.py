"""The HTTP/WebSocket API over SQLite: auth, roles, data endpoints, export, live push."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from starlette.websockets import WebSocketDisconnect

from backend.app import create_app
from backend.core.service import Runtime
from backend.core.settings import DEFAULT_SECRET, Settings
from edgeqi.protocol import Message
from tests.backend import factory as f
from tests.backend.conftest import ADMIN, PROVISIONING

Headers = dict[str, str]


def runtime(client: TestClient) -> Runtime:
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return rt


def ingest(client: TestClient, *messages: Message) -> None:
    """Publish on the in-process bus, as a co-located node would, and flush."""
    rt = runtime(client)
    for m in messages:
        rt.bus.publish(*f.wire(m))
    rt.ingestor.flush()


def seed(client: TestClient) -> None:
    ingest(
        client,
        *[f.detections("cam-1", s, n=4, ts=f.T0 + s) for s in range(10)],
        *[f.detections("cam-2", s, n=2, ts=f.T0 + s, cls="bus") for s in range(5)],
        f.heartbeat("cam-1", 100),
        f.queue("cam-1", 101),
        f.anomaly("cam-1", 102),
        f.log("cam-1", 103),
        f.consensus("cam-1", 104),
        f.consensus("cam-2", 105, phase="commit"),
    )


def test_health_is_open_and_everything_else_needs_a_token(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    app = client.app
    for route in app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or route.path == "/health":
            continue
        path = route.path.replace("{node_id}", "x").replace("{rule_id}", "1")
        path = path.replace("{alert_id}", "1").replace("{cluster}", "c")
        path = path.replace("{view}", "0").replace("{number}", "0")
        for method in route.methods:
            r = client.request(method, path, json={})
            if path == "/api/nodes/register":
                assert r.status_code in (401, 422), path
            else:
                assert r.status_code == 401, (method, path, r.status_code)
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/nodes", headers=bad).status_code == 401


def test_login_refresh_and_rate_limit(client: TestClient) -> None:
    r = client.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
    pair = r.json()
    assert client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
    ).json() == {"username": "admin", "role": "admin"}
    # a refresh token is not an access token, and vice versa
    assert (
        client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"}
        ).status_code
        == 401
    )
    assert (
        client.post("/api/auth/refresh", json={"refresh_token": pair["access_token"]}).status_code
        == 401
    )
    fresh = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert fresh.status_code == 200 and fresh.json()["access_token"]

    for _ in range(5):
        bad = client.post("/api/auth/login", json={"username": "admin", "password": "nope"})
        assert bad.status_code == 401
    blocked = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN[1]})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert (
        client.post("/api/auth/login", json={"username": "ghost", "password": "x"}).status_code
        == 401
    )


def test_roles_guard_writes(
    client: TestClient, admin: Headers, make_user: Callable[[str], Headers]
) -> None:
    viewer, operator = make_user("viewer"), make_user("operator")
    rule = {"name": "busy", "metric": "queue.vehicles", "op": ">", "threshold": 10}
    assert client.get("/api/alerts/rules", headers=viewer).status_code == 200
    assert client.post("/api/alerts/rules", json=rule, headers=viewer).status_code == 403
    created = client.post("/api/alerts/rules", json=rule, headers=operator)
    assert created.status_code == 201
    rid = created.json()["id"]
    assert (
        client.put(
            f"/api/alerts/rules/{rid}", json=rule | {"threshold": 3}, headers=operator
        ).json()["threshold"]
        == 3
    )
    assert (
        client.post(
            "/api/users",
            json={"username": "x", "password": "long-enough", "role": "admin"},
            headers=operator,
        ).status_code
        == 403
    )
    assert client.get("/api/users", headers=admin).status_code == 200
    assert client.delete(f"/api/alerts/rules/{rid}", headers=viewer).status_code == 403
    assert client.delete(f"/api/alerts/rules/{rid}", headers=operator).status_code == 204
    bad_rule = rule | {"metric": "no.such.metric"}
    assert client.post("/api/alerts/rules", json=bad_rule, headers=operator).status_code == 422


def test_production_refuses_the_default_secret(settings: Settings) -> None:
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(settings.model_copy(update={"env": "production", "secret_key": DEFAULT_SECRET}))
    create_app(settings.model_copy(update={"env": "production", "secret_key": "k" * 40}))


def test_node_registration_needs_the_provisioning_token(client: TestClient, admin: Headers) -> None:
    body = {"node_id": "cam-7", "intersection": "int-9"}
    assert client.post("/api/nodes/register", json=body).status_code == 401
    assert (
        client.post(
            "/api/nodes/register", json=body, headers={"X-Provisioning-Token": "guess"}
        ).status_code
        == 401
    )
    ok = client.post(
        "/api/nodes/register", json=body, headers={"X-Provisioning-Token": PROVISIONING}
    )
    assert ok.status_code == 201
    creds = ok.json()
    assert creds["mqtt_username"] == "cam-7" and len(creds["mqtt_password"]) >= 24
    assert creds["publish_prefix"] == "edgeqi/v1/nodes/cam-7/"
    again = client.post(
        "/api/nodes/register", json=body, headers={"X-Provisioning-Token": PROVISIONING}
    )
    assert again.status_code == 409
    node = client.get("/api/nodes/cam-7", headers=admin).json()["node"]
    assert node["registered"] is True and node["intersection"] == "int-9"


def test_data_endpoints_reflect_ingest(client: TestClient, admin: Headers) -> None:
    seed(client)
    nodes = client.get("/api/nodes", headers=admin).json()
    assert nodes["total"] == 2
    assert client.get("/api/nodes?prefix=cam-2", headers=admin).json()["total"] == 1
    page = client.get("/api/nodes?limit=1&offset=1", headers=admin).json()
    assert [n["node_id"] for n in page["items"]] == ["cam-2"]
    detail = client.get("/api/nodes/cam-1", headers=admin).json()
    assert detail["heartbeats"][0]["battery_soc"] == pytest.approx(0.8)
    assert detail["queues"] and detail["anomalies"] and detail["logs"]
    assert client.get("/api/nodes/nope", headers=admin).status_code == 404

    # cursor pagination visits every detection exactly once
    seen, cursor = [], None
    while True:
        q = "/api/detections?node_id=cam-1&limit=7" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(q, headers=admin).json()
        seen += [d["id"] for d in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 40
    buses = client.get("/api/detections?cls=bus", headers=admin).json()["items"]
    assert len(buses) == 5 and {d["node_id"] for d in buses} == {"cam-2"}
    window = client.get(
        f"/api/detections?since={f.T0 + 5}&until={f.T0 + 7}&node_id=cam-1", headers=admin
    )
    assert len(window.json()["items"]) == 8

    series = client.get(
        f"/api/analytics/series?bucket_s=60&since={f.T0 - 120}", headers=admin
    ).json()
    assert sum(p["n"] for p in series["points"]) == 50
    dist = client.get("/api/analytics/distribution?by=cls", headers=admin).json()["items"]
    assert {d["key"]: d["n"] for d in dist} == {"car": 20, "person": 25, "bus": 5}
    queue = client.get("/api/analytics/series?metric=queue&bucket_s=3600", headers=admin).json()
    assert queue["points"][0]["max"] == pytest.approx(4)

    rounds = client.get("/api/consensus/rounds", headers=admin).json()["items"]
    assert rounds[0]["messages"] == 2 and rounds[0]["nodes"] == 2 and rounds[0]["phases"] == 2
    one = client.get("/api/consensus/rounds/int-1/0/7", headers=admin).json()
    assert [m["phase"] for m in one["messages"]] == ["prepare", "commit"]
    logs = client.get("/api/logs?level=error", headers=admin).json()["items"]
    assert logs[0]["message"] == "lens dirty"

    status = client.get("/api/system/status", headers=admin).json()
    assert status["nodes"] == 2
    assert status["detections_total"] == 50
    assert status["messages_total"] == 21
    assert status["observations_not_transmitted_fraction"] == pytest.approx(5 / 26)
    health = client.get("/api/system/health", headers=admin).json()
    assert health["ok"] and health["database"]["ok"]


def test_alert_rules_fire_through_the_api(
    client: TestClient, make_user: Callable[[str], Headers]
) -> None:
    operator = make_user("operator")
    rule = {
        "name": "spike",
        "metric": "anomaly.score",
        "op": ">=",
        "threshold": 4,
        "severity": "critical",
        "cooldown_s": 0,
    }
    assert client.post("/api/alerts/rules", json=rule, headers=operator).status_code == 201
    ingest(client, f.anomaly("cam-1", 1, score=5), f.anomaly("cam-1", 2, score=1))
    alerts = client.get("/api/alerts", headers=operator).json()["items"]
    assert len(alerts) == 1 and alerts[0]["severity"] == "critical"
    assert client.post(f"/api/alerts/{alerts[0]['id']}/ack", headers=operator).status_code == 200
    assert client.get("/api/alerts?acknowledged=false", headers=operator).json()["items"] == []


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_export_contents(client: TestClient, admin: Headers, fmt: str) -> None:
    seed(client)
    r = client.get(f"/api/export?dataset=detections&format={fmt}&node_id=cam-2", headers=admin)
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.text)))
    elif fmt == "json":
        rows = json.loads(r.content)
    else:
        sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        rows = [dict(zip(values[0], v, strict=False)) for v in values[1:]]
    assert len(rows) == 10
    assert {str(row["cls"]) for row in rows} == {"bus", "person"}
    assert {str(row["node_id"]) for row in rows} == {"cam-2"}
    logs = client.get("/api/export?dataset=logs&format=json", headers=admin).json()
    assert logs[0]["message"] == "lens dirty"


def test_websocket_subscription(client: TestClient, admin: Headers) -> None:
    token = admin["Authorization"].split()[1]
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws?token=bad") as ws:
        ws.receive_json()
    with client.websocket_connect(f"/ws?token={token}&topics=detections") as ws:
        assert ws.receive_json() == {"topic": "subscribed", "data": ["detections"]}
        ingest(client, f.log("cam-1", 1), f.detections("cam-1", 2, n=3))
        event = ws.receive_json()
        assert event["topic"] == "detections" and event["data"]["count"] == 3
        ws.send_json({"subscribe": ["logs"]})
        assert ws.receive_json() == {"topic": "subscribed", "data": ["logs"]}
        ingest(client, f.log("cam-1", 3))
        assert ws.receive_json()["topic"] == "logs"


def test_metrics_expose_ingest_and_quarantine(client: TestClient, admin: Headers) -> None:
    seed(client)
    runtime(client).bus.publish("edgeqi/v1/nodes/cam-1/heartbeat", b"garbage")
    runtime(client).ingestor.flush()
    assert client.get("/api/nodes/cam-1", headers=admin).status_code == 200
    text = client.get("/metrics", headers=admin).text
    assert 'edgeqi_quarantine_total{reason="invalid_json"} 1.0' in text
    # latency is labelled by route template, not by the raw path
    assert 'route="/api/nodes/{node_id}",status="200"' in text
    assert "edgeqi_ingest_detections_total 50.0" in text
    assert 'edgeqi_node_lost_messages{node_id="cam-1"}' in text
    assert "edgeqi_http_request_seconds_count" in text


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/refresh"])
def test_get_on_a_post_only_route_is_405_with_allow(client: TestClient, path: str) -> None:
    """The dashboard's catch-all GET once answered these 404 (issue 17.7)."""
    r = client.get(path)
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert client.get("/api/no-such-route").status_code == 404


def test_openapi_states_the_non_json_bodies(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert list(paths["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    export = paths["/api/export"]["get"]["responses"]["200"]["content"]
    assert export["text/csv"]["schema"] == {"type": "string"}
    assert export[next(m for m in export if "spreadsheet" in m)]["schema"]["format"] == "binary"


def test_options_names_every_method_of_the_path(client: TestClient) -> None:
    """Starlette's 405 named the first route's method only (``Allow: GET`` for /api/users)."""
    r = client.options("/api/users")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


def test_dashboard_numbers_refuse_booleans(client: TestClient, admin: Headers) -> None:
    site = {"site_name": "x", "low_battery_soc": False}
    assert client.put("/api/dashboard/settings/site", json=site, headers=admin).status_code == 422
    site = {"site_name": "x", "status_poll_s": 5}  # an int is still a float
    assert client.put("/api/dashboard/settings/site", json=site, headers=admin).status_code == 200


def test_a_literal_path_is_not_a_templated_one(client: TestClient) -> None:
    """``/api/nodes/register`` takes POST only, though ``/api/nodes/{node_id}`` takes GET."""
    r = client.options("/api/nodes/register")
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_booleans_are_not_numbers_and_numbers_not_booleans(
    client: TestClient, admin: Headers
) -> None:
    vital = [{"name": "TTFB", "value": False}]
    assert client.post("/api/dashboard/vitals", json=vital, headers=admin).status_code == 422
    assert client.patch("/api/users/1", json={"disabled": 0}, headers=admin).status_code == 422


def test_a_whole_float_is_an_integer(client: TestClient, admin: Headers) -> None:
    """JSON Schema counts 160.0 as an integer; schemathesis sends it (strict mode refused it)."""
    site = {"site_name": "x", "default_range_min": 160.0}
    r = client.put("/api/dashboard/settings/site", json=site, headers=admin)
    assert r.status_code == 200 and r.json()["default_range_min"] == 160
