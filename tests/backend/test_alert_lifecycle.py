"""Alert life cycle (issue 18): pending, firing, resolved; silences; the shipped rules."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.analytics.alert_rules import AlertEvaluator, post_webhooks
from backend.app import create_app
from backend.core import service
from backend.core.db import make_engine, now_ms
from backend.core.orm import AlertRow, AlertRule, AlertSilence
from backend.core.settings import Settings
from backend.ingest.store import Store
from edgeqi.protocol import Message
from tests.backend import factory as f
from tests.backend.conftest import ADMIN, token_for
from tests.backend.test_api import ingest

Headers = dict[str, str]
T0_MS = int(f.T0 * 1000)
DEFAULT_RULES = {"camera offline", "battery low", "queue spill-back", "consensus view change"}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


class Feed:
    """Writes messages one flush at a time and keeps what each flush announced."""

    def __init__(self, engine: Engine) -> None:
        self.store = Store(engine)
        self.evaluator = AlertEvaluator(engine, reload_s=0)

    def __call__(self, message: Message, at_s: float) -> list[dict[str, Any]]:
        accepted = f.accepted(message, T0_MS + int(at_s * 1000))
        return self.store.write([accepted], [], self.evaluator).alerts


def alerts(engine: Engine, rule: str) -> list[AlertRow]:
    with Session(engine) as s:
        rule_id = s.scalar(select(AlertRule.id).where(AlertRule.name == rule))
        return list(s.scalars(select(AlertRow).where(AlertRow.rule_id == rule_id)))


def spill(node: str, seq: int, at_s: float, vehicles: float = 40) -> Message:
    """A queue of ``vehicles`` (6 m each) on int-1's north approach."""
    return f.queue(node, seq, ts=f.T0 + at_s, vehicles=vehicles)


def test_spill_back_is_pending_for_a_minute_then_fires_then_resolves(engine: Engine) -> None:
    feed = Feed(engine)
    opened = feed(spill("cam-1", 1, 0), 0)
    assert [a["state"] for a in opened] == ["pending"]
    assert feed(spill("cam-1", 2, 30), 30) == []  # still pending: nothing new to announce
    fired = feed(spill("cam-1", 3, 61), 61)
    assert [(a["state"], a["fired_ms"]) for a in fired] == [("firing", T0_MS + 61_000)]
    resolved = feed(spill("cam-1", 4, 90, vehicles=4), 90)
    assert [(a["state"], a["resolved_ms"]) for a in resolved] == [("resolved", T0_MS + 90_000)]
    (row,) = alerts(engine, "queue spill-back")
    assert (row.state, row.created_ms, row.intersection, row.approach) == (
        "resolved",
        T0_MS,
        "int-1",
        "north",
    )
    assert row.message.startswith("queue spill-back at int-1 approach north (cam-1):")
    assert row.value == pytest.approx(240.0)  # the last value that held the condition


def test_a_pending_alert_that_clears_before_its_for_time_never_fires(engine: Engine) -> None:
    feed = Feed(engine)
    feed(spill("cam-1", 1, 0), 0)
    cleared = feed(spill("cam-1", 2, 20, vehicles=2), 20)
    assert [(a["state"], a["fired_ms"]) for a in cleared] == [("resolved", None)]


def test_each_approach_and_camera_is_its_own_series(engine: Engine) -> None:
    feed = Feed(engine)
    feed(spill("cam-1", 1, 0), 0)
    feed(spill("cam-2", 1, 1), 1)
    east = spill("cam-1", 2, 2).model_copy(update={"approach": "east"})
    feed(east, 2)
    rows = alerts(engine, "queue spill-back")
    assert sorted((r.node_id, r.approach) for r in rows) == [
        ("cam-1", "east"),
        ("cam-1", "north"),
        ("cam-2", "north"),
    ]


def test_camera_offline_fires_on_the_clock_and_resolves_when_heard(engine: Engine) -> None:
    feed = Feed(engine)
    feed(f.heartbeat("cam-1", 1), 0)
    assert feed.evaluator.tick(T0_MS + 60_000) == []
    (fired,) = feed.evaluator.tick(T0_MS + 91_000)
    assert (fired["node_id"], fired["state"], fired["severity"]) == ("cam-1", "firing", "critical")
    assert fired["value"] == pytest.approx(91.0)
    feed(f.heartbeat("cam-1", 2, ts=f.T0 + 100), 100)
    (resolved,) = feed.evaluator.tick(T0_MS + 101_000)
    assert (resolved["id"], resolved["state"]) == (fired["id"], "resolved")


def test_a_view_change_fires_for_the_cluster_and_resolves_in_the_new_view(
    engine: Engine,
) -> None:
    feed = Feed(engine)
    assert feed(f.consensus("cam-1", 1), 0) == []
    new_view = f.consensus("cam-2", 1).model_copy(update={"view": 1})
    (fired,) = feed(new_view, 1)
    assert (fired["state"], fired["intersection"], fired["value"]) == ("firing", "int-1", 1.0)
    assert fired["message"].startswith("consensus view change at int-1:")
    (resolved,) = feed(f.consensus("cam-3", 1).model_copy(update={"view": 1}), 2)
    assert (resolved["id"], resolved["state"]) == (fired["id"], "resolved")


def test_a_silenced_alert_is_stored_but_not_announced(engine: Engine) -> None:
    feed = Feed(engine)
    with Session(engine) as s:
        s.add(
            AlertSilence(
                node_id="cam-1",
                starts_ms=T0_MS,
                ends_ms=T0_MS + 3_600_000,
                comment="lens being replaced",
                created_by="ops",
                created_ms=T0_MS,
            )
        )
        s.commit()
    feed(f.heartbeat("cam-1", 1), 0)
    feed(f.heartbeat("cam-2", 1), 0)
    announced = feed.evaluator.tick(T0_MS + 120_000)
    assert [a["node_id"] for a in announced] == ["cam-2"]
    stored = {a.node_id: a for a in alerts(engine, "camera offline")}
    assert stored["cam-1"].state == "firing" and stored["cam-1"].silence_id is not None
    assert stored["cam-2"].silence_id is None


def test_the_default_rules_ship_with_every_database(client: TestClient, admin: Headers) -> None:
    rules = client.get("/api/alerts/rules", headers=admin).json()
    shipped = {r["name"]: r for r in rules}
    assert shipped.keys() >= DEFAULT_RULES
    assert shipped["battery low"]["for_s"] == 300
    assert all(shipped[n]["enabled"] for n in DEFAULT_RULES)


@pytest.mark.parametrize("threshold", ["", None, "high"])
def test_a_rule_without_a_numeric_threshold_is_refused(
    client: TestClient, admin: Headers, threshold: object
) -> None:
    rule = {"name": "x", "metric": "queue.vehicles", "op": ">", "threshold": threshold}
    r = client.post("/api/alerts/rules", json=rule, headers=admin)
    assert r.status_code == 422
    missing = {k: v for k, v in rule.items() if k != "threshold"}
    assert client.post("/api/alerts/rules", json=missing, headers=admin).status_code == 422


def test_acknowledgement_records_who_and_when(
    client: TestClient, make_user: Callable[[str], Headers]
) -> None:
    operator = make_user("operator")
    rule = {"name": "spike", "metric": "anomaly.score", "op": ">=", "threshold": 4}
    assert client.post("/api/alerts/rules", json=rule, headers=operator).status_code == 201
    ingest(client, f.anomaly("cam-1", 1, score=5))
    (alert,) = client.get("/api/alerts?state=firing", headers=operator).json()["items"]
    assert (alert["intersection"], alert["approach"]) == ("int-1", "north")
    assert client.get("/api/system/status", headers=operator).json()["alerts_open"] == 1
    before = now_ms()
    acked = client.post(f"/api/alerts/{alert['id']}/ack", headers=operator).json()
    assert acked["acknowledged_by"] == "operator-user"
    assert before <= acked["acknowledged_ms"] <= now_ms()
    assert client.get("/api/system/status", headers=operator).json()["alerts_open"] == 0
    again = client.post(f"/api/alerts/{alert['id']}/ack", headers=operator).json()
    assert again["acknowledged_ms"] == acked["acknowledged_ms"]  # the first one stands


def test_disabling_a_rule_resolves_its_open_alerts(client: TestClient, admin: Headers) -> None:
    rule = {"name": "spike", "metric": "anomaly.score", "op": ">=", "threshold": 4}
    rule_id = client.post("/api/alerts/rules", json=rule, headers=admin).json()["id"]
    ingest(client, f.anomaly("cam-1", 1, score=5))
    off = client.put(f"/api/alerts/rules/{rule_id}", json={**rule, "enabled": False}, headers=admin)
    assert off.status_code == 200
    (alert,) = client.get("/api/alerts", headers=admin).json()["items"]
    assert alert["state"] == "resolved" and alert["resolved_ms"] is not None


def test_silences_through_the_api(
    client: TestClient, admin: Headers, make_user: Callable[[str], Headers]
) -> None:
    body = {"node_id": "cam-1", "duration_s": 600, "comment": "maintenance"}
    viewer = make_user("viewer")
    assert client.post("/api/alerts/silences", json=body, headers=viewer).status_code == 403
    unmatched = {"duration_s": 600, "comment": "everything"}
    assert client.post("/api/alerts/silences", json=unmatched, headers=admin).status_code == 422
    created = client.post("/api/alerts/silences", json=body, headers=admin)
    assert created.status_code == 201
    silence = created.json()
    assert silence["active"] and silence["created_by"] == "admin"
    assert silence["ends_ms"] - silence["starts_ms"] == 600_000
    assert client.delete(f"/api/alerts/silences/{silence['id']}", headers=admin).status_code == 204
    (listed,) = client.get("/api/alerts/silences", headers=viewer).json()
    assert listed["id"] == silence["id"] and not listed["active"]


def test_the_service_clock_notices_a_silent_camera(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The running service evaluates ``node.silent_s`` on its own clock, with no message."""
    monkeypatch.setattr(service, "TICK_S", 0.1)
    with TestClient(create_app(settings)) as client:
        admin = token_for(client, *ADMIN)
        _silent_camera_fires(client, admin)


def _silent_camera_fires(client: TestClient, admin: Headers) -> None:
    rules = client.get("/api/alerts/rules", headers=admin).json()
    offline = next(r for r in rules if r["name"] == "camera offline")
    body = {k: v for k, v in offline.items() if k not in ("id", "created_ms")}
    fast = {**body, "threshold": 0.5}  # half a second of silence, so the test need not wait
    assert client.put(f"/api/alerts/rules/{offline['id']}", json=fast, headers=admin).is_success
    ingest(client, f.heartbeat("cam-1", 1, ts=now_ms() / 1000))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        firing = client.get("/api/alerts?state=firing", headers=admin).json()["items"]
        if firing:
            break
        time.sleep(0.2)
    assert [(a["node_id"], a["rule_id"]) for a in firing] == [("cam-1", offline["id"])]


def test_webhooks_are_sent_on_firing_and_resolving_not_while_pending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(httpx, "post", lambda url, json, timeout: sent.append(json))
    hook = {"action": "webhook", "webhook_url": "http://hooks.example/alert"}
    post_webhooks(
        [
            {**hook, "id": 1, "state": "pending"},
            {**hook, "id": 2, "state": "firing"},
            {**hook, "id": 3, "state": "resolved"},
            {"action": "notify", "webhook_url": None, "id": 4, "state": "firing"},
        ],
        timeout_s=1,
    )
    assert [(b["id"], b["state"]) for b in sent] == [(2, "firing"), (3, "resolved")]
    assert all("webhook_url" not in b for b in sent)
