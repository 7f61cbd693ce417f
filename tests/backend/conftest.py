"""Fixtures of the backend tests: SQLite databases, private Mosquitto and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.core.db import migrate
from backend.core.settings import Settings
from tests.backend.services import Mosquitto, Postgres, Redis


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite file of this test alone."""
    url = f"sqlite:///{tmp_path / 'edgeqi.db'}"
    migrate(url)
    return url


@pytest.fixture
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A private anonymous broker for one test (tests may restart it)."""
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """One private PostgreSQL cluster for the whole session."""
    server = Postgres(tmp_path_factory.mktemp("postgres"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


_db_counter = iter(range(1_000_000))


@pytest.fixture
def postgres_url(postgres_server: Postgres) -> str:
    """A fresh, migrated database in the private cluster."""
    url = postgres_server.create_database(f"edgeqi_{next(_db_counter)}")
    migrate(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Both dialects: SQLite always, PostgreSQL as an integration test."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


ADMIN = ("admin", "admin-password-1")
PROVISIONING = "provision-me"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of an isolated service on a fresh SQLite file."""
    return Settings(
        env="test",
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        secret_key="test-secret-" + "x" * 32,
        admin_username=ADMIN[0],
        admin_password=ADMIN[1],
        provisioning_token=PROVISIONING,
        ingest_flush_interval_s=0.05,
        retention_interval_s=3600,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A running app (lifespan entered) with the bootstrap admin."""
    with TestClient(create_app(settings)) as c:
        yield c


def token_for(client: TestClient, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return token_for(client, *ADMIN)


@pytest.fixture
def make_user(client: TestClient, admin: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """Create a user of the given role and return its auth header."""

    def make(role: str) -> dict[str, str]:
        name, password = f"{role}-user", f"{role}-password-1"
        r = client.post(
            "/api/users",
            json={"username": name, "password": password, "role": role},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        return token_for(client, name, password)

    return make


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """A private Redis for one test."""
    server = Redis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
