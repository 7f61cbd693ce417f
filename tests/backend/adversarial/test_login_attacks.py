"""Login throttling and token revocation against a live ``edgeqi serve`` (issue 17.4, 17.5),
driven with httpx, a client the project did not write.

Before the fix: a rotating ``X-Forwarded-For`` from loopback reset the lockout (uvicorn
believed the header), spraying many usernames from one address was never throttled,
provisioning tokens could be guessed without limit, the public default secret was
accepted on any address outside production, and a deleted user's token still worked.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backend.services import SERVE, edgeqi_serve, free_port

ADMIN = ("admin", "admin-password-1")


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        "EDGEQI_DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}",
        "EDGEQI_SECRET_KEY": "live-test-secret-" + "y" * 32,
        "EDGEQI_ADMIN_USERNAME": ADMIN[0],
        "EDGEQI_ADMIN_PASSWORD": ADMIN[1],
        "EDGEQI_PROVISIONING_TOKEN": "the-real-provisioning-token",
        "PATH": "/usr/bin:/bin",
    }


@pytest.fixture
def live(tmp_path: Path) -> Iterator[str]:
    """A live server on a free loopback port; yields its base URL."""
    with edgeqi_serve(env_for(tmp_path)) as base:
        yield base


def login(base: str, username: str, password: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/auth/login",
        json={"username": username, "password": password},
        headers=headers,
        timeout=10,
    )


def test_a_rotating_forwarded_for_does_not_reset_the_lockout(live: str) -> None:
    codes = [
        login(live, "admin", "wrong", **{"X-Forwarded-For": f"10.0.{i}.1"}).status_code
        for i in range(8)
    ]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3


def test_spraying_usernames_from_one_address_is_throttled(live: str) -> None:
    codes = [login(live, f"user{i}", "wrong").status_code for i in range(35)]
    assert codes[:30] == [401] * 30 and set(codes[30:]) == {429}


def test_provisioning_token_guessing_is_throttled(live: str) -> None:
    codes = [
        httpx.post(
            f"{live}/api/nodes/register",
            json={"node_id": f"cam-{i}"},
            headers={"X-Provisioning-Token": f"guess-{i}"},
            timeout=10,
        ).status_code
        for i in range(7)
    ]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 2


def test_tokens_of_a_deleted_or_disabled_user_stop_working(live: str) -> None:
    admin = {"Authorization": f"Bearer {login(live, *ADMIN).json()['access_token']}"}
    for action in ("disable", "delete"):
        created = httpx.post(
            f"{live}/api/users",
            headers=admin,
            timeout=10,
            json={"username": f"eve-{action}", "password": "eve-password-1", "role": "viewer"},
        ).json()
        token = login(live, f"eve-{action}", "eve-password-1").json()["access_token"]
        eve = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{live}/api/auth/me", headers=eve, timeout=10).status_code == 200
        url = f"{live}/api/users/{created['id']}"
        if action == "disable":
            r = httpx.patch(url, headers=admin, json={"disabled": True}, timeout=10)
        else:
            r = httpx.delete(url, headers=admin, timeout=10)
        assert r.status_code in (200, 204)
        assert httpx.get(f"{live}/api/auth/me", headers=eve, timeout=10).status_code == 401


def test_the_default_secret_is_refused_beyond_loopback(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    del env["EDGEQI_SECRET_KEY"]
    refused = subprocess.run(
        [sys.executable, "-c", SERVE, "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "EDGEQI_SECRET_KEY" in refused.stderr
