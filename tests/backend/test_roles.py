"""Split roles: an ``edgeqi ingest`` worker writes, an API-only replica serves and pushes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.core.settings import Settings
from tests.backend import factory as f
from tests.backend.conftest import ADMIN, token_for
from tests.backend.mqtt_helpers import Publisher, session_present
from tests.backend.services import Mosquitto, Redis

pytestmark = pytest.mark.integration


def test_ingest_worker_feeds_an_api_only_replica(
    settings: Settings, mosquitto: Mosquitto, redis_server: Redis
) -> None:
    api = settings.model_copy(update={"role": "api", "redis_url": redis_server.url})
    with TestClient(create_app(api)) as client:  # migrates before the worker starts
        headers = token_for(client, *ADMIN)
        health = client.get("/api/system/health", headers=headers).json()
        assert health["role"] == "api" and health["broker"]["mode"].startswith("none")
        worker = subprocess.Popen(
            [sys.executable, "-m", "experiments.cli", "ingest", "--retire-on-exit"],
            env=os.environ
            | {
                "EDGEQI_DATABASE_URL": settings.database_url,
                "EDGEQI_MQTT_URL": mosquitto.url,
                "EDGEQI_REDIS_URL": redis_server.url,
                "EDGEQI_MQTT_CLIENT_ID": "worker-1",
                "EDGEQI_INGEST_FLUSH_INTERVAL_S": "0.05",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        publisher = Publisher(mosquitto.port)
        try:
            token = headers["Authorization"].split()[1]
            with client.websocket_connect(f"/ws?token={token}&topics=detections") as ws:
                ws.receive_json()
                deadline = time.monotonic() + 30
                seq = 0
                event = None
                # The worker subscribes some time after it starts; publish until it answers.
                while event is None:
                    assert time.monotonic() < deadline, "no event relayed from the worker"
                    seq += 1
                    publisher.publish_all([f.wire(f.detections("cam-9", seq, n=3))])
                    time.sleep(0.3)
                    stored = client.get("/api/nodes/cam-9", headers=headers)
                    if stored.status_code == 200:
                        event = ws.receive_json()
            assert event["topic"] == "detections" and event["data"]["node_id"] == "cam-9"
            page = client.get("/api/detections?node_id=cam-9", headers=headers).json()
            assert len(page["items"]) >= 3
        finally:
            publisher.close()
            worker.send_signal(signal.SIGTERM)
            out, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0, out.decode()
        assert not session_present(mosquitto.port, "worker-1")  # it left the group for good


def test_ingest_worker_refuses_to_start_without_a_broker(settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEQI_")}
    done = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "ingest"],
        env=env | {"EDGEQI_DATABASE_URL": settings.database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "--mqtt-url" in done.stderr
