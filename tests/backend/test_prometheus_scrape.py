"""Prometheus scrapes ``/metrics`` with a long-lived scrape token, and the shipped Grafana
dashboard queries only metrics the backend exports (issue 18).

The scrape token opens ``/metrics`` and nothing else; without one configured, a user's
access token is still needed (it expires after 15 minutes, which is why the scrape token
exists). The dashboard test scrapes a live app with the token, as Prometheus would, and
checks every metric name in every panel's PromQL against the exposition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from backend.app import create_app
from backend.core.settings import Settings
from tests.backend import factory as f
from tests.backend.test_api import Headers, ingest

DASHBOARD = Path(__file__).parents[2] / "backend" / "core" / "grafana" / "edgeqi-backend.json"
TOKEN = "scrape-" + "0123456789abcdef" * 3
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}


@pytest.fixture
def scraped(settings: Settings) -> Iterator[TestClient]:
    settings.metrics_token = Settings(metrics_token=TOKEN).metrics_token
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_scrape_token_reads_metrics_and_nothing_else(scraped: TestClient) -> None:
    r = scraped.get("/metrics", headers=SCRAPE)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "edgeqi_ingest_pending" in r.text
    assert scraped.get("/api/nodes", headers=SCRAPE).status_code == 401
    assert scraped.get("/api/auth/me", headers=SCRAPE).status_code == 401
    wrong = {"Authorization": f"Bearer {TOKEN[:-1]}x"}
    assert scraped.get("/metrics", headers=wrong).status_code == 401
    assert scraped.get("/metrics").status_code == 401


def test_without_a_scrape_token_metrics_needs_a_user(client: TestClient, admin: Headers) -> None:
    assert client.get("/metrics", headers=SCRAPE).status_code == 401
    assert client.get("/metrics", headers=admin).status_code == 200


def test_a_short_token_is_refused_and_a_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(metrics_token="too-short")
    secret = tmp_path / "scrape-token"
    secret.write_text(TOKEN + "\n")
    token = Settings(metrics_token_file=secret).metrics_token
    assert token is not None and token.get_secret_value() == TOKEN


def _exported(text: str) -> set[str]:
    """Every series name the exposition can hold, from its families and their types."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + s for s in SUFFIXES.get(family.type, ("",))}
    return names


def test_every_dashboard_query_names_an_exported_metric(scraped: TestClient) -> None:
    ingest(scraped, f.heartbeat("cam-1", 1), f.detections("cam-1", 2))
    exported = _exported(scraped.get("/metrics", headers=SCRAPE).text)
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["panels"]
    queried: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel["targets"]:
            queried |= set(re.findall(r"\bedgeqi_[a-z0-9_]+", target["expr"]))
    assert queried, "no query names a metric"
    assert queried - exported == set()
    # The latency panels select ``route=~"/api.*"``: route labels are the templates.
    scraped.get("/api/nodes/cam-1")
    text = scraped.get("/metrics", headers=SCRAPE).text
    assert 'route="/api/nodes/{node_id}"' in text
