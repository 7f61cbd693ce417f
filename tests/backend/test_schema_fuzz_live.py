"""Schemathesis's CLI against the live service, every check, a fixed seed: 0 failures.

``edgeqi serve`` runs as an operator runs it (a subprocess on a free loopback port),
on a real PostgreSQL and ingesting from a real Mosquitto; a few messages go in through
the broker before the run, and the CLI talks to the server over real HTTP with the
admin's token, in both modes (schema-valid data must be accepted, invalid rejected).
The in-process variant on SQLite is :mod:`tests.backend.test_schema_fuzz`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.backend import factory as f
from tests.backend.conftest import ADMIN
from tests.backend.mqtt_helpers import Publisher
from tests.backend.services import Mosquitto, edgeqi_serve

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SEED = 17
EXAMPLES = 100
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
STATEFUL_LINKS_ONLY = """
# The stateful phase chains calls along the links the schema states (backend.api.openapi_links)
# and Location headers; its guesses from field names are off: they took a silence's nullable
# rule_id for a rule id and sent DELETE /api/alerts/rules/None as schema-valid data.
[phases.stateful.inference]
algorithms = ["location-headers"]
"""


def _seed(broker: Mosquitto, url: str, headers: dict[str, str]) -> None:
    """Publish a few messages through the broker and wait until the API serves them."""
    pub = Publisher(broker.port)
    try:
        messages = [f.detections("cam-1", 1), f.heartbeat("cam-1", 2), f.consensus("cam-1", 3)]
        pub.publish_all([f.wire(m) for m in messages])
    finally:
        pub.close()
    deadline = time.monotonic() + 20
    while "cam-1" not in httpx.get(f"{url}/api/nodes", headers=headers, timeout=5).text:
        assert time.monotonic() < deadline, "the seeded messages never reached the API"
        time.sleep(0.1)
    # A silence by node names no rule: its ``rule_id`` is null, which a fuzzer that chains
    # calls must not take for a rule id (it once sent DELETE /api/alerts/rules/None).
    silence = {"node_id": "cam-1", "duration_s": 600, "comment": "lens cleaning"}
    made = httpx.post(f"{url}/api/alerts/silences", json=silence, headers=headers, timeout=5)
    assert made.status_code == 201, made.text


def test_schemathesis_cli_passes_every_check_on_the_live_service(
    tmp_path: Path, postgres_url: str, mosquitto: Mosquitto
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "EDGEQI_DATABASE_URL": postgres_url,
        "EDGEQI_MQTT_URL": mosquitto.url,
        "EDGEQI_SECRET_KEY": "live-fuzz-secret-" + "x" * 32,
        "EDGEQI_ADMIN_USERNAME": ADMIN[0],
        "EDGEQI_ADMIN_PASSWORD": ADMIN[1],
    }
    with edgeqi_serve(env) as url:
        login = httpx.post(
            f"{url}/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}, timeout=10
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        _seed(mosquitto, url, headers)
        config = tmp_path / "schemathesis.toml"
        config.write_text(STATEFUL_LINKS_ONLY)
        run = subprocess.run(
            [
                SCHEMATHESIS,
                f"--config-file={config}",
                "run",
                f"{url}/openapi.json",
                "--checks=all",
                "--mode=all",
                f"--seed={SEED}",
                f"--max-examples={EXAMPLES}",
                "--workers=2",
                "--generation-database=none",
                "--no-color",
                "--request-timeout=10",
                "-H",
                f"Authorization: {headers['Authorization']}",
            ],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-20000:]
    cases = re.search(r"(\d+) generated", out)
    assert cases is not None and int(cases.group(1)) >= 2000, out[-3000:]
    # The stated links give the stateful phase chains to run (without them it is skipped).
    assert re.search(r"✅\s+Stateful", out), out[-3000:]
    print(out[out.rfind("Test Phases:") :])  # shown with -s: phases and cases run
