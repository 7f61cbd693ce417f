"""The dashboard's server side: settings and layout per user, roles, vitals, views, SPA serving."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from backend.app import create_app
from backend.core.settings import Settings
from edgeqi.protocol import Command, ConsensusMessage, Message, encode, node_topic
from tests.backend import factory as f
from tests.backend.test_api import ingest, runtime

Headers = dict[str, str]
MakeUser = Callable[[str], Headers]


def vote(
    node: str, seq: int, number: int, digest: str, view: int = 0, phase: str = "commit"
) -> ConsensusMessage:
    return ConsensusMessage(
        node_id=node,
        seq=seq,
        ts=f.T0 + number,
        cluster="int-1",
        phase=phase,
        view=view,
        number=number,
        digest=digest,
    )


def test_layout_is_per_user_and_site_settings_need_an_operator(
    client: TestClient, make_user: MakeUser
) -> None:
    viewer, operator = make_user("viewer"), make_user("operator")
    first = client.get("/api/dashboard/settings", headers=viewer).json()
    assert first["user"] == {"layout": [], "hidden": []}
    assert first["can_edit_site"] is False
    assert first["site"]["site_name"] == "EDGE-QI"

    layout = {"layout": [{"i": "nodes", "x": 0, "y": 0, "w": 4, "h": 3}], "hidden": ["energy"]}
    user_url, site_url = "/api/dashboard/settings/user", "/api/dashboard/settings/site"
    assert client.put(user_url, json=layout, headers=viewer).status_code == 200
    assert client.get("/api/dashboard/settings", headers=viewer).json()["user"] == layout
    assert client.get("/api/dashboard/settings", headers=operator).json()["user"]["hidden"] == []

    site = {**first["site"], "site_name": "Metro", "live_points": 300}
    assert client.put("/api/dashboard/settings/site", json=site, headers=viewer).status_code == 403
    r = client.put("/api/dashboard/settings/site", json=site, headers=operator)
    assert r.status_code == 200, r.text
    seen = client.get("/api/dashboard/settings", headers=viewer).json()
    assert seen["site"]["site_name"] == "Metro" and seen["site"]["live_points"] == 300
    assert client.get("/api/dashboard/settings", headers=operator).json()["can_edit_site"] is True

    bad_cell = {"layout": [{"i": "nodes", "x": 12, "y": 0, "w": 4, "h": 3}], "hidden": []}
    assert client.put(user_url, json=bad_cell, headers=viewer).status_code == 422
    unknown = {**site, "colour": "red"}
    assert client.put(site_url, json=unknown, headers=operator).status_code == 422


def test_vitals_are_recorded_and_summarised(client: TestClient, make_user: MakeUser) -> None:
    viewer = make_user("viewer")
    batch = [{"name": "LCP", "value": v, "rating": "good"} for v in (100.0, 300.0, 200.0)]
    r = client.post("/api/dashboard/vitals", json=batch, headers=viewer)
    assert r.status_code == 204
    assert client.post("/api/dashboard/vitals", json=[{"name": "LCP", "value": -1}], headers=viewer)
    got = client.get("/api/dashboard/vitals", headers=viewer).json()
    assert got["summary"]["LCP"] == {"count": 3, "median": 200.0, "p75": 300.0, "max": 300.0}
    assert {i["user"] for i in got["items"]} == {"viewer-user"}


def test_intersections_show_cameras_queues_plan_and_consensus(
    client: TestClient, admin: Headers
) -> None:
    now = time.time()
    plan = Command(
        node_id="cam-2",
        seq=9,
        ts=now,
        target="cam-1",
        action="signal_plan",
        params={"green_ns_s": 30},
    )
    messages: list[Message] = [
        f.heartbeat("cam-1", 1, ts=now),
        f.queue("cam-1", 2, ts=now - 5, vehicles=3),
        f.queue("cam-1", 3, ts=now, vehicles=7),
        f.detections("cam-2", 4, ts=now),
        vote("cam-1", 10, 1, "aaa"),
        vote("cam-2", 11, 1, "aaa"),
    ]
    ingest(client, *messages)
    # A coordinator node reports the plan it issued on its own telemetry topic.
    runtime(client).bus.publish(node_topic("cam-2", "command"), encode(plan))
    runtime(client).ingestor.flush()
    body = client.get("/api/intersections", headers=admin).json()
    one = next(i for i in body["items"] if i["intersection"] == "int-1")
    assert [c["node_id"] for c in one["cameras"]] == ["cam-1", "cam-2"]
    assert one["queues"]["north"]["vehicles"] == 7  # the newer of cam-1's two observations
    assert one["consensus"]["nodes"] == ["cam-1", "cam-2"]
    assert one["consensus"]["digest"] == "aaa"
    assert one["signal_plan"]["action"] == "signal_plan"
    assert one["signal_plan"]["params"] == {"green_ns_s": 30}
    assert one["signal_plan"]["from"] == "cam-2"


def test_consensus_summary_finds_view_changes_and_disagreeing_nodes(
    client: TestClient, admin: Headers
) -> None:
    empty = client.get("/api/consensus/summary", headers=admin).json()
    assert empty == {"clusters": [], "suspected": [], "rejected": {}}
    votes = [vote(n, 1, 1, "good") for n in ("a", "b", "c")] + [vote("d", 1, 1, "evil")]
    votes += [vote(n, 2, 2, "good2", view=1) for n in ("a", "b", "c")] + [vote("d", 2, 2, "x", 1)]
    ingest(client, *votes)
    runtime(client).bus.publish("edgeqi/v1/nodes/a/consensus", b"{not json")
    runtime(client).ingestor.flush()
    s = client.get("/api/consensus/summary", headers=admin).json()
    assert s["clusters"] == [{"cluster": "int-1", "rounds": 2, "views": [0, 1], "view_changes": 1}]
    assert s["suspected"] == [{"cluster": "int-1", "node_id": "d", "disagreements": 2}]
    assert sum(s["rejected"].values()) == 1


def test_a_round_conflicts_only_where_one_phase_carries_two_digests(
    client: TestClient, admin: Headers
) -> None:
    # A healthy round has several digests (the reports' placeholder, the proposal, the
    # checkpoint's state), each phase one; round 2 has a node committing another value.
    healthy = [vote(n, 1, 1, "report", phase="report") for n in "abcd"]
    healthy += [vote(n, 2, 1, "v1", phase="prepare") for n in "abcd"]
    healthy += [vote(n, 3, 1, "v1") for n in "abcd"]
    healthy += [vote(n, 4, 1, "state1", phase="checkpoint") for n in "abcd"]
    split = [vote(n, 5, 2, "v2") for n in "abc"] + [vote("d", 5, 2, "evil")]
    ingest(client, *healthy, *split)
    rounds = client.get("/api/consensus/rounds", headers=admin).json()["items"]
    by_number = {r["number"]: r for r in rounds}
    assert by_number[1]["digests"] == 3 and by_number[1]["conflicts"] == 0
    assert by_number[2]["digests"] == 2 and by_number[2]["conflicts"] == 1


def test_playback_frame_is_the_city_at_that_moment(client: TestClient, admin: Headers) -> None:
    ingest(
        client,
        f.heartbeat("cam-1", 1, ts=f.T0, soc=0.9),
        f.heartbeat("cam-1", 2, ts=f.T0 + 100, soc=0.5),
        f.queue("cam-1", 3, ts=f.T0 + 10, vehicles=2),
        f.queue("cam-1", 4, ts=f.T0 + 110, vehicles=9),
        f.detections("cam-1", 5, n=4, ts=f.T0 + 20),
    )
    rng = client.get("/api/playback/range", headers=admin).json()
    assert rng == {"start": f.T0, "end": f.T0 + 110}
    early = client.get(f"/api/playback/frame?t={f.T0 + 30}&window_s=60", headers=admin).json()
    assert early["nodes"][0]["battery_soc"] == 0.9
    assert early["queues"]["int-1"]["north"]["vehicles"] == 2
    assert sum(early["detections"]["int-1"].values()) == 4
    late = client.get(f"/api/playback/frame?t={f.T0 + 115}&window_s=60", headers=admin).json()
    assert late["nodes"][0]["battery_soc"] == 0.5
    assert late["queues"]["int-1"]["north"]["vehicles"] == 9
    assert late["detections"] == {}


def test_export_applies_the_list_filters(client: TestClient, admin: Headers) -> None:
    ingest(
        client,
        f.detections("cam-1", 1, n=4),
        f.detections("cam-2", 2, n=4, cls="bus"),
    )
    text = client.get("/api/export?format=csv&cls=bus", headers=admin).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {r["cls"] for r in rows} == {"bus"}
    assert {r["node_id"] for r in rows} == {"cam-2"}


def test_dashboard_is_served_with_spa_fallback_and_api_untouched(
    settings: Settings, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<div id=root>dashboard</div>")
    (dist / "assets" / "app-1.js").write_text("console.log(1)")
    with TestClient(create_app(settings.model_copy(update={"dashboard_dist": dist}))) as c:
        assert c.get("/").text == "<div id=root>dashboard</div>"
        deep = c.get("/nodes/cam-1")
        assert deep.status_code == 200 and "dashboard" in deep.text
        asset = c.get("/assets/app-1.js")
        assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
        assert c.get("/assets/missing.js").status_code == 404
        assert "root:" not in c.get("/..%2f..%2fetc/passwd").text
        assert c.get("/api/nodes").status_code == 401
        assert c.get("/api/nope").status_code == 404
        assert c.get("/health").json() == {"status": "ok"}
    unbuilt = settings.model_copy(update={"dashboard_dist": tmp_path / "none"})
    with TestClient(create_app(unbuilt)) as c:
        assert c.get("/").status_code == 503
