"""Run the backend with the dashboard and a live synthetic feed (for e2e tests and benchmarks).

``python -m experiments.dashboard_server --port 8765 --database sqlite:///x.db`` starts
the real service (migrations, ingest, alert rules, WebSocket push, static dashboard),
creates one user per role, backfills ``--backfill-min`` minutes of history through
the in-process bus and then publishes live traffic every ``--period`` seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from backend.app import create_app
from backend.auth import Role, hash_password
from backend.db import now_ms
from backend.models import User
from backend.runtime import Runtime
from backend.settings import Settings
from experiments.dashboard_feed import CityFeed

USERS = {"admin": Role.ADMIN, "operator": Role.OPERATOR, "viewer": Role.VIEWER}


def ensure_users(rt: Runtime, password: str) -> None:
    """One user per role named after the role, all with ``password``."""
    with rt.sessions.begin() as db:
        for name, role in USERS.items():
            if db.scalar(select(User.id).where(User.username == name)) is None:
                db.add(
                    User(
                        username=name,
                        password_hash=hash_password(password),
                        role=role.value,
                        disabled=False,
                        created_ms=now_ms(),
                    )
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.dashboard_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="sqlite:///dashboard-demo.db")
    parser.add_argument("--password", default="edgeqi-demo-pass")
    parser.add_argument("--intersections", type=int, default=3)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--backfill-min", type=float, default=10.0)
    parser.add_argument("--backfill-step", type=float, default=5.0)
    parser.add_argument("--period", type=float, default=1.0, help="live step, seconds")
    args = parser.parse_args(argv)

    app = create_app(Settings(database_url=args.database, env="test"))
    rt: Runtime = app.state.runtime
    feed = CityFeed(rt.bus.publish, args.intersections, args.cameras)
    stop = threading.Event()
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            ensure_users(rt, args.password)
            now = time.time()
            feed.backfill(now - args.backfill_min * 60, now - args.period, args.backfill_step)
            live = threading.Thread(
                target=feed.run, args=(time.time, args.period, stop), daemon=True
            )
            live.start()
            try:
                yield
            finally:
                stop.set()
                live.join(timeout=5)

    app.router.lifespan_context = lifespan
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
