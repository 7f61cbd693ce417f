"""``edgeqi ingest``: a backend replica that only ingests (no HTTP).

Run one or more beside ``edgeqi serve`` started with ``EDGEQI_ROLE=api``: the workers
share the broker subscription (MQTT 5 shared group), write the database, evaluate
alert rules and relay live events to the API replicas through Redis. The API process
then spends its interpreter on requests alone.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from backend.core.service import Runtime
from backend.core.settings import Settings


def main(argv: list[str]) -> int:
    """Run until SIGINT/SIGTERM, then stop the sources and flush; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="edgeqi ingest",
        description=(
            "Run a backend replica that only ingests (MQTT into the database, no HTTP); pair it "
            "with an API-only server (EDGEQI_ROLE=api edgeqi serve)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--database-url", help="overrides EDGEQI_DATABASE_URL")
    parser.add_argument("--mqtt-url", help="overrides EDGEQI_MQTT_URL (required here)")
    parser.add_argument("--redis-url", help="overrides EDGEQI_REDIS_URL (live push to the API)")
    parser.add_argument("--client-id", help="overrides EDGEQI_MQTT_CLIENT_ID (one per worker)")
    parser.add_argument(
        "--retire-on-exit",
        action="store_true",
        help="leave the shared group for good on exit (scale-down) instead of keeping the session",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    for name, env in (
        ("database_url", "DATABASE_URL"),
        ("mqtt_url", "MQTT_URL"),
        ("redis_url", "REDIS_URL"),
        ("client_id", "MQTT_CLIENT_ID"),
    ):
        value = getattr(args, name)
        if value:
            os.environ[f"EDGEQI_{env}"] = value
    settings = Settings(role="ingest")
    if args.retire_on_exit:
        settings = settings.model_copy(update={"mqtt_retire_on_stop": True})
    if not settings.mqtt_url:
        parser.exit(2, "edgeqi ingest: no broker to consume: set --mqtt-url or EDGEQI_MQTT_URL\n")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runtime = Runtime(settings)
    runtime.start()
    logging.getLogger(__name__).info("ingesting from %s", settings.mqtt_url.split("@")[-1])
    stop.wait()
    runtime.stop()
    return 0
