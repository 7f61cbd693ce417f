"""Run the backend with the dashboard, fed live by the simulator over a private broker.

``python -m experiments.loadtest.dashboard_server --port 8765`` starts a private Mosquitto
(:mod:`experiments.services`) in a temporary folder, the real service subscribed to it
(migrations, MQTT ingest, alert rules, WebSocket push, static dashboard) with one user
per role, and the simulator's hardware-in-the-loop mode (:mod:`experiments.loadtest.live_city`):
a small city of unchanged ``EdgeNode`` objects, each publishing through its own MQTT
client. The run starts ``--backfill-min`` minutes before the wall clock, simulates that
history as fast as the machine allows, then follows the wall clock. The service answers
only once that history is stored, so end-to-end tests and benchmarks have data from
their first request. Used by the dashboard's Playwright tests, its benchmarks, and to
watch the dashboard without a separate simulator run.

Over a broker rather than the backend's in-process bus, so that the end-to-end tests
exercise the path field nodes use: paho clients at QoS 1, the backend's MQTT subscription.

The database is a SQLite file in the same temporary folder unless ``--database`` names
one to keep. SIGINT and SIGTERM both stop the city, the backend and the broker and remove
the folder (uvicorn re-raises the signal it shut down on; unhandled, SIGTERM would end
the process before any of that).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from backend.app import create_app
from backend.core.auth import Role, hash_password
from backend.core.db import now_ms
from backend.core.orm import User
from backend.core.service import Runtime
from backend.core.settings import Settings
from experiments.loadtest.live_city import LiveCity, city_scenario
from experiments.services import Mosquitto

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


def _exit_on_signal(signum: int, _frame: object) -> None:
    """SIGTERM as SystemExit, so that the ``finally`` blocks stop the broker and remove
    the temporary folder (uvicorn restores this handler and re-raises the signal)."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.loadtest.dashboard_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--database", default=None, help="default: a SQLite file in the temporary folder"
    )
    parser.add_argument("--password", default="edgeqi-demo-pass")
    parser.add_argument("--nodes", type=int, default=12, help="cameras, 4 per intersection")
    parser.add_argument("--backfill-min", type=float, default=10.0)
    parser.add_argument("--ready-timeout", type=float, default=90.0, help="seconds")
    parser.add_argument(
        "overrides", nargs="*", help="more scenario overrides, e.g. consensus=none seed=3"
    )
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _exit_on_signal)
    with tempfile.TemporaryDirectory(prefix="edgeqi-dashboard-") as work:
        if args.database is None:
            args.database = f"sqlite:///{Path(work) / 'dashboard.db'}"
        broker = Mosquitto(Path(work))
        broker.start()
        try:
            serve(args, broker.url)
        finally:
            broker.stop()
    return 0


def serve(args: argparse.Namespace, broker_url: str) -> None:
    """The service on ``broker_url``, with the simulated city publishing to the same broker."""
    started = time.monotonic()
    city = LiveCity(city_scenario(args.nodes, args.backfill_min * 60, broker_url, args.overrides))
    city.prepare()  # the city's process starts up while the backend does
    app = create_app(Settings(database_url=args.database, mqtt_url=broker_url, env="test"))
    rt: Runtime = app.state.runtime
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            # Subscribed once connected (SUBSCRIBE goes out before the flag is set): a
            # broker drops what is published before anyone subscribes.
            assert rt.mqtt is not None
            if not await asyncio.to_thread(rt.mqtt.wait_connected, args.ready_timeout):
                raise TimeoutError(f"the backend did not connect to {broker_url}")
            city.start()
            ensure_users(rt, args.password)
            try:
                stored = await asyncio.to_thread(city.wait_stored, rt.sessions, args.ready_timeout)
                print(
                    f"dashboard_server: {stored} messages of {args.backfill_min:g} simulated "
                    f"minutes stored {time.monotonic() - started:.1f} s after the broker started",
                    file=sys.stderr,
                    flush=True,
                )
                yield
            finally:
                city.stop()

    app.router.lifespan_context = lifespan
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    raise SystemExit(main())
