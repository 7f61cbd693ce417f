"""The response models describe what the routes really return (issue 15).

FastAPI validates each response against its declared model, so a route whose body
drifted from the model answers 500. Every typed read route is called here with data of
every kind in the database (a route over an empty table would validate trivially), and
a value from each body is checked, so a model that silently dropped a field fails too.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend.core.orm import AlertRow
from tests.backend import factory as f
from tests.backend.test_api import Headers, ingest, runtime, seed

T0 = f.T0


def _seeded(client: TestClient, admin: Headers) -> None:
    seed(client)
    ingest(client, f.heartbeat("cam-2", 200, ts=T0 + 1, soc=0.5))
    with runtime(client).sessions() as db:
        db.add(
            AlertRow(
                node_id="cam-1",
                severity="critical",
                message="spill-back",
                value=9.0,
                created_ms=int((T0 + 5) * 1000),
                acknowledged=False,
            )
        )
        db.commit()
    vitals = [{"name": "LCP", "value": 812.5, "rating": "good"}, {"name": "LCP", "value": 90.0}]
    assert client.post("/api/dashboard/vitals", json=vitals, headers=admin).status_code == 204


def get(client: TestClient, admin: Headers, path: str, **params: object) -> dict:  # type: ignore[type-arg]
    r = client.get(path, params=params, headers=admin)
    assert r.status_code == 200, (path, r.text)
    body: dict = r.json()  # type: ignore[type-arg]
    return body


def test_every_typed_read_route_validates_real_data(client: TestClient, admin: Headers) -> None:
    _seeded(client, admin)
    span = {"since": T0 - 3600, "until": T0 + 3600}

    assert get(client, admin, "/api/auth/me") == {"username": "admin", "role": "admin"}
    health = get(client, admin, "/api/system/health")
    assert health["database"] == {"ok": True, "detail": "sqlite"}
    assert health["ingest"]["stored"] > 0

    node = get(client, admin, "/api/nodes/cam-1", history=5)
    assert node["node"]["node_id"] == "cam-1"
    assert node["heartbeats"][0]["link"]["rtt_ms"] >= 0
    assert node["queues"][0]["vehicles"] == 4
    assert node["anomalies"][0]["score"] == 5.0 and node["anomalies"][0]["observed_ms"] > 0
    assert node["logs"][0]["level"] == "error"
    assert node["last_hour"] == [] or node["last_hour"][0]["cls"]

    series = get(client, admin, "/api/analytics/series", bucket_s=60, **span)
    assert sum(p["n"] for p in series["points"]) == 10 * 4 + 5 * 2
    dist = get(client, admin, "/api/analytics/distribution", **span)
    by_class = {i["key"]: i["n"] for i in dist["items"]}
    assert sum(by_class.values()) == 50 and by_class["bus"] == 5

    rounds = get(client, admin, "/api/consensus/rounds")["items"]
    assert rounds and rounds[0]["messages"] == 2
    r = rounds[0]
    one = get(client, admin, f"/api/consensus/rounds/{r['cluster']}/{r['view']}/{r['number']}")
    assert [m["phase"] for m in one["messages"]] == ["prepare", "commit"]
    summary = get(client, admin, "/api/consensus/summary")
    assert summary["clusters"][0]["rounds"] == 1 and summary["clusters"][0]["views"] == [0]

    logs = get(client, admin, "/api/logs", node_id="cam-1")
    assert logs["items"][0]["seq"] == 103 and logs["next_cursor"] is None

    vitals = get(client, admin, "/api/dashboard/vitals")
    assert vitals["summary"]["LCP"]["count"] == 2 and vitals["summary"]["LCP"]["max"] == 812.5
    assert vitals["items"][0]["user"] == "admin" and vitals["items"][0]["at_ms"] > 0

    playback = get(client, admin, "/api/playback/range")
    assert playback["start"] is not None and playback["start"] <= T0 <= playback["end"]
    frame = get(client, admin, "/api/playback/frame", t=T0 + 30, window_s=60)
    assert {n["node_id"]: n["battery_soc"] for n in frame["nodes"]} == {"cam-1": 0.8, "cam-2": 0.5}
    assert frame["detections"][next(iter(frame["detections"]))]
    assert frame["anomalies"][0]["score"] == 5.0
    assert frame["alerts"][0]["message"] == "spill-back"
    queues = next(iter(frame["queues"].values()))
    assert next(iter(queues.values()))["vehicles"] == 4
