"""Redis: latest node state and event fan-out between two backend replicas."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.core.service import Runtime
from backend.core.settings import Settings
from tests.backend import factory as f
from tests.backend.conftest import ADMIN, token_for
from tests.backend.services import Redis

pytestmark = pytest.mark.integration


def test_replicas_share_state_and_live_events(
    settings: Settings, redis_server: Redis, tmp_path: Path
) -> None:
    shared = settings.model_copy(update={"redis_url": redis_server.url})
    with (
        TestClient(create_app(shared)) as a,
        TestClient(create_app(shared.model_copy(update={"migrate_on_start": False}))) as b,
    ):
        token = token_for(b, *ADMIN)["Authorization"].split()[1]
        rt_a: Runtime = a.app.state.runtime  # type: ignore[attr-defined]
        with b.websocket_connect(f"/ws?token={token}&topics=detections") as ws:
            ws.receive_json()
            time.sleep(0.3)  # let replica b's Redis listener subscribe
            # replica a ingests; b's WebSocket client hears about it through Redis
            rt_a.bus.publish(*f.wire(f.detections("cam-1", 1, n=2)))
            rt_a.ingestor.flush()
            event = ws.receive_json()
        assert event["topic"] == "detections" and event["data"]["node_id"] == "cam-1"
        headers = token_for(b, *ADMIN)
        detail = b.get("/api/nodes/cam-1", headers=headers).json()
        assert detail["live"]["received"] == 1
        health = b.get("/api/system/health", headers=headers).json()
        assert health["cache"] == {"ok": True, "mode": "redis"}
