"""``edgeqi serve``: run the backend under uvicorn.

The keep-alive timeout is longer than uvicorn's 5 s on purpose: clients (browsers,
httpx, a load balancer) keep idle connections for about that long too, and when the
server closes one at the instant a client reuses it the request fails with
"server disconnected". A server that waits longer than its clients leaves the closing
to them, which is race-free; 65 s outlasts the common 60 s load-balancer idle timeout.
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from backend.app import create_app
from backend.core.settings import Settings


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
        )
        return 0
    try:
        app = create_app(Settings())
    except RuntimeError as exc:
        parser.exit(2, f"edgeqi serve: {exc}\n")
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_keep_alive=args.keep_alive_s,
    )
    return 0
