"""Service settings, read from the environment (prefix ``EDGEQI_``) or a ``.env`` file.

Every default gives a service that runs with nothing else installed (SQLite file,
in-process bus, no Redis), which is the "embedded by default" principle of the design.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

METRICS_TOKEN_MIN = 32
"""Shortest scrape token accepted: it never expires, so it must not be guessable."""
DEFAULT_SECRET = "edgeqi-insecure-development-secret-change-me"
"""Placeholder JWT secret; the service refuses to start with it when ``env == "production"``."""


class Settings(BaseSettings):
    """All knobs of the backend. Environment variable ``EDGEQI_<FIELD>`` overrides each."""

    model_config = SettingsConfigDict(env_prefix="EDGEQI_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    role: Literal["all", "api", "ingest"] = "all"
    """``all``: one process serves the API and ingests. ``api`` serves only (no broker
    subscription, no retention); ``ingest`` (``edgeqi ingest``) only consumes the broker,
    writes, evaluates alerts and relays live events through Redis. Splitting them keeps
    ingest's CPU work off the API's interpreter, which is what bounds the API's tail
    latency under load (see BENCHMARKS.md)."""
    database_url: str = "sqlite:///edgeqi.db"
    migrate_on_start: bool = True

    mqtt_url: str | None = None
    """``mqtt://user:password@host:port``; unset means the in-process bus is the ingest source."""
    mqtt_client_id: str = "edgeqi-backend"
    mqtt_share_group: str = "edgeqi"
    mqtt_queue_size: int = Field(default=10_000, ge=1)
    mqtt_reconnect_min_s: float = Field(default=0.5, gt=0)
    mqtt_reconnect_max_s: float = Field(default=30.0, gt=0)
    mqtt_retire_on_stop: bool = False
    """On stop, leave the shared group for good (scale-down) instead of keeping the
    session for a restart; see :meth:`backend.ingest.mqtt_source.MqttSource.stop`."""

    redis_url: str | None = None
    redis_channel: str = "edgeqi:events"

    secret_key: str = DEFAULT_SECRET
    access_token_ttl_s: int = Field(default=900, ge=1)
    refresh_token_ttl_s: int = Field(default=7 * 24 * 3600, ge=1)
    admin_username: str | None = None
    admin_password: str | None = None
    provisioning_token: str | None = None
    metrics_token: SecretStr | None = None
    """A long-lived bearer token that reads ``/metrics`` and nothing else, for Prometheus
    (``authorization: credentials``), so a scraper needs no user account and no login
    token that expires after ``access_token_ttl_s``. Unset: ``/metrics`` takes a user's
    token only. At least ``METRICS_TOKEN_MIN`` characters."""
    metrics_token_file: Path | None = None
    """The same token read from a file (a Docker or Kubernetes secret); wins over
    ``metrics_token``."""
    login_max_failures: int = Field(default=5, ge=1)
    """Failed logins per (address, username) in ``login_window_s`` before 429."""
    login_name_max_failures: int = Field(default=20, ge=1)
    """Failed logins per username from all addresses together (guessing from many)."""
    login_client_max_failures: int = Field(default=30, ge=1)
    """Failed logins per address for all usernames together (spraying many names)."""
    login_window_s: float = Field(default=60.0, gt=0)
    provisioning_max_failures: int = Field(default=5, ge=1)
    """Wrong provisioning tokens per address in ``login_window_s`` before 429."""
    trusted_proxies: str | None = None
    """Addresses (comma-separated, or ``*``) of reverse proxies whose ``X-Forwarded-For``
    is believed. Unset: the header is ignored and the peer address is the client, so a
    client cannot pick the address its failed logins are counted against."""

    ingest_batch_size: int = Field(default=500, ge=1)
    ingest_flush_interval_s: float = Field(default=0.2, gt=0)
    ingest_max_pending: int = Field(default=50_000, ge=1)
    quarantine_keep_bytes: int = Field(default=64 * 1024, ge=0)
    """Raw bytes kept per quarantined payload; the full size is recorded beside them."""
    quarantine_quota_rows: int = Field(default=1000, ge=1)
    quarantine_quota_bytes: int = Field(default=4 * 1024 * 1024, ge=0)
    quarantine_quota_window_s: float = Field(default=3600.0, gt=0)
    """Per publisher, at most ``quarantine_quota_rows`` rows and ``quarantine_quota_bytes``
    kept bytes in any ``quarantine_quota_window_s``; the rest is counted, not kept."""
    require_registration: bool = False
    """Quarantine (``unregistered``) messages of nodes never registered through
    ``/api/nodes/register``. Off by default because simulated and load-test nodes are
    not registered; either way such messages are counted."""

    active_node_window_s: float = Field(default=60.0, gt=0)
    retention_detections_days: float = Field(default=30.0, gt=0)
    retention_metrics_days: float = Field(default=90.0, gt=0)
    retention_logs_days: float = Field(default=7.0, gt=0)
    retention_interval_s: float = Field(default=3600.0, gt=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    cors_origins: list[str] = Field(default_factory=list)
    dashboard_dist: Path | None = None
    """Built dashboard to serve at ``/``; default ``backend/dashboard/dist``."""

    @model_validator(mode="after")
    def _read_metrics_token(self) -> Settings:
        if self.metrics_token_file is not None:
            text = self.metrics_token_file.read_text().strip()
            self.metrics_token = SecretStr(text)
        token = self.metrics_token
        if token is not None and len(token.get_secret_value()) < METRICS_TOKEN_MIN:
            raise ValueError(
                f"metrics_token must be at least {METRICS_TOKEN_MIN} characters "
                "(e.g. `openssl rand -hex 32`)"
            )
        return self
