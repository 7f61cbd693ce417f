"""``edgeqi serve``: run the backend under uvicorn.

The keep-alive timeout is longer than uvicorn's 5 s on purpose: clients (browsers,
httpx, a load balancer) keep idle connections for about that long too, and when the
server closes one at the instant a client reuses it the request fails with
"server disconnected". A server that waits longer than its clients leaves the closing
to them, which is race-free; 65 s outlasts the common 60 s load-balancer idle timeout.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
from typing import Any

import uvicorn

from backend.app import create_app
from backend.core.settings import DEFAULT_SECRET, Settings

log = logging.getLogger(__name__)


def loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposed_secret(settings: Settings, host: str) -> None:
    """Refuse to listen beyond loopback with the public default JWT secret, in any mode.

    Anyone who has read this repository can sign an admin token with that secret, so
    it is only tolerable where nobody else can connect; even there it is logged.
    """
    if settings.secret_key != DEFAULT_SECRET:
        return
    if not loopback(host):
        raise RuntimeError(
            f"refusing to listen on {host} with the public default EDGEQI_SECRET_KEY: "
            "set it to a random value of at least 32 characters"
        )
    log.warning("EDGEQI_SECRET_KEY is the public default: fine on loopback, nowhere else")


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's forwarded-header handling: off unless trusted proxies are configured.

    uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 by default, which lets any local
    client choose the address its failed logins are counted against.
    """
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.trusted_proxies}


def serve(argv: list[str]) -> int:
    """Parse ``argv`` and run the API until interrupted; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="edgeqi serve",
        description=(
            "Run the backend service: ingest, storage, REST API (OpenAPI at /docs), WebSocket push"
            " and the dashboard; SQLite and an in-process bus unless EDGEQI_* settings name a "
            "database and a broker."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port")
    parser.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", help="overrides EDGEQI_DATABASE_URL")
    parser.add_argument("--mqtt-url", help="overrides EDGEQI_MQTT_URL")
    parser.add_argument("--redis-url", help="overrides EDGEQI_REDIS_URL")
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--keep-alive-s",
        type=int,
        default=65,
        help="idle seconds before the server closes a keep-alive connection (default 65)",
    )
    args = parser.parse_args(argv)
    for name in ("database_url", "mqtt_url", "redis_url"):
        value = getattr(args, name)
        if value:
            os.environ[f"EDGEQI_{name.upper()}"] = value
    settings = Settings()
    try:
        check_exposed_secret(settings, args.host)
    except RuntimeError as exc:
        parser.exit(2, f"edgeqi serve: {exc}\n")
    if args.reload or args.workers > 1:
        # uvicorn needs an import string to reload or fork; settings come from the env.
        uvicorn.run(
            "backend.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            reload=args.reload,
            workers=None if args.reload else args.workers,
            log_level=args.log_level,
            timeout_keep_alive=args.keep_alive_s,
            **proxy_options(settings),
        )
        return 0
    try:
        app = create_app(settings)
    except RuntimeError as exc:
        parser.exit(2, f"edgeqi serve: {exc}\n")
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_keep_alive=args.keep_alive_s,
        **proxy_options(settings),
    )
    return 0
