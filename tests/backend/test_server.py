"""``serve`` runs uvicorn; webhooks reach their URL; the migrate command works."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from backend.core import db
from experiments.cli import main as cli_main
from tests.backend import factory as f
from tests.backend.services import free_port


def test_serve_starts_uvicorn_and_refuses_insecure_production(tmp_path: Path) -> None:
    port = free_port()
    env = {"EDGEQI_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", "PATH": "/usr/bin:/bin"}
    code = "import sys; from experiments.cli import main; sys.exit(main(['serve', *sys.argv[1:]]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert r.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/nodes").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    refused = subprocess.run(
        [sys.executable, "-c", code],
        env=env | {"EDGEQI_ENV": "production"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert refused.returncode == 2 and "SECRET_KEY" in refused.stderr


def test_migrate_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli_main(["migrate", url]) == 0
    with db.make_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def test_webhook_alerts_are_posted(
    client: TestClient, make_user: Callable[[str], dict[str, str]]
) -> None:
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        operator = make_user("operator")
        rule = {
            "name": "long queue",
            "metric": "queue.vehicles",
            "op": ">",
            "threshold": 8,
            "action": "webhook",
            "webhook_url": f"http://127.0.0.1:{server.server_port}/hook",
        }
        assert client.post("/api/alerts/rules", json=rule, headers=operator).status_code == 201
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        rt.bus.publish(*f.wire(f.queue("cam-1", 1, vehicles=12)))
        rt.ingestor.flush()
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
    assert received and received[0]["node_id"] == "cam-1" and received[0]["value"] == 12
