"""Everything one service instance owns, wired together, with start/stop.

Kept apart from the FastAPI app so ingest can run (tests, benchmarks, the simulator
in-process) without HTTP, and so the app factory stays small.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import select

from backend.analytics.alert_rules import TICK_S, AlertEvaluator, post_webhooks
from backend.analytics.retention import Policy, enforce
from backend.core.auth import LoginLimiter, Role, Tokens, hash_password
from backend.core.db import make_engine, migrate, now_ms, session_factory
from backend.core.orm import User
from backend.core.prometheus import Metrics
from backend.core.settings import Settings
from backend.core.users import ActiveUsers
from backend.ingest.bus import LocalBus
from backend.ingest.identity import Registry
from backend.ingest.ingestor import Ingestor
from backend.ingest.mqtt_source import MqttSource
from backend.ingest.quota import QuarantineQuota
from backend.ingest.store import Accepted, Store, WriteResult
from backend.live.push import Hub
from backend.live.redis_cache import Cache
from edgeqi.protocol import (
    CONSENSUS_SUBSCRIPTION,
    NODE_SUBSCRIPTION,
    ConsensusMessage,
    DetectionBatch,
    LogRecord,
)

log = logging.getLogger(__name__)


class Runtime:
    """Database, ingest pipeline, sources, live hub and cache of one backend replica."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = time.time()
        self.metrics = Metrics()
        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.tokens = Tokens(settings)
        self.limiter = LoginLimiter(
            settings.login_max_failures,
            settings.login_window_s,
            per_name_max=settings.login_name_max_failures,
            per_client_max=settings.login_client_max_failures,
        )
        # Keyed (address, "provisioning"): per address, and across all addresses at 20x,
        # so guessing the token from many addresses is bounded too.
        self.provision_limiter = LoginLimiter(
            settings.provisioning_max_failures,
            settings.login_window_s,
            per_name_max=20 * settings.provisioning_max_failures,
        )
        self.users = ActiveUsers(self.sessions)
        self.evaluator = AlertEvaluator(self.engine)
        self.ingestor = Ingestor(
            Store(self.engine, settings.quarantine_keep_bytes),
            self.metrics,
            batch_size=settings.ingest_batch_size,
            flush_interval_s=settings.ingest_flush_interval_s,
            max_pending=settings.ingest_max_pending,
            alert_hook=self.evaluator,
            quota=QuarantineQuota(
                settings.quarantine_quota_rows,
                settings.quarantine_quota_bytes,
                settings.quarantine_quota_window_s,
            ),
            registry=Registry(self.engine),
            require_registration=settings.require_registration,
        )
        self.ingests = settings.role != "api"
        self.bus = LocalBus()
        if self.ingests:
            for topic_filter in (NODE_SUBSCRIPTION, CONSENSUS_SUBSCRIPTION):
                self.bus.subscribe(topic_filter, self._from_bus)
        self.hub = Hub(self.metrics)
        self.cache = (
            Cache(settings.redis_url, settings.redis_channel) if settings.redis_url else None
        )
        self.mqtt: MqttSource | None = None
        if settings.mqtt_url and self.ingests:
            self.mqtt = MqttSource(
                settings.mqtt_url,
                self.ingestor,
                client_id=settings.mqtt_client_id,
                group=settings.mqtt_share_group,
                queue_size=settings.mqtt_queue_size,
                reconnect_min_s=settings.mqtt_reconnect_min_s,
                reconnect_max_s=settings.mqtt_reconnect_max_s,
                metrics=self.metrics,
            )
        self.ingestor.listeners.append(self._after_flush)
        self.ingestor.accept_listeners.append(self._on_accept)
        self._stop = threading.Event()
        self._retention: threading.Thread | None = None
        self._alert_clock: threading.Thread | None = None

    def _from_bus(self, topic: str, payload: bytes) -> None:
        self.ingestor.submit(topic, payload)

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Migrate, create the bootstrap admin, start ingest, sources and housekeeping."""
        if self.settings.migrate_on_start:
            migrate(self.settings.database_url)
        self._bootstrap_admin()
        if self.cache is not None:
            self.hub.relay = self.cache.relay
            if self.settings.role != "ingest":  # an ingest worker has no clients to push to
                self.cache.listen(lambda events: self.hub.publish_many(events, relay=False))
        self._stop.clear()
        if not self.ingests:
            return
        self.ingestor.start()
        if self.mqtt is not None:
            self.mqtt.start()
        self._retention = threading.Thread(
            target=self._retention_loop, name="edgeqi-retention", daemon=True
        )
        self._retention.start()
        self._alert_clock = threading.Thread(
            target=self._alert_clock_loop, name="edgeqi-alert-clock", daemon=True
        )
        self._alert_clock.start()

    def stop(self) -> None:
        """Stop sources first so everything received is flushed before the database closes."""
        self._stop.set()
        if self.mqtt is not None:
            self.mqtt.stop(retire=self.settings.mqtt_retire_on_stop)
        self.ingestor.stop()
        if self.cache is not None:
            self.cache.close()
        if self._retention is not None:
            self._retention.join(timeout=10)
        if self._alert_clock is not None:
            self._alert_clock.join(timeout=10)
        self.engine.dispose()

    def _bootstrap_admin(self) -> None:
        s = self.settings
        if not (s.admin_username and s.admin_password):
            return
        with self.sessions.begin() as db:
            exists = db.scalar(select(User.id).where(User.username == s.admin_username))
            if exists is None:
                db.add(
                    User(
                        username=s.admin_username,
                        password_hash=hash_password(s.admin_password),
                        role=Role.ADMIN.value,
                        disabled=False,
                        created_ms=now_ms(),
                    )
                )

    def _retention_loop(self) -> None:
        policy = Policy.from_settings(self.settings)
        while not self._stop.wait(self.settings.retention_interval_s):
            try:
                enforce(self.engine, policy)
            except Exception:  # retention must never take the service down
                log.exception("retention pass failed")

    def _alert_clock_loop(self) -> None:
        """Rules on time (a camera gone silent) have no message to be evaluated on."""
        while not self._stop.wait(TICK_S):
            try:
                self._announce_alerts(self.evaluator.tick(now_ms()))
            except Exception:  # a failed pass is retried on the next tick
                log.exception("alert clock pass failed")

    # -- events -----------------------------------------------------------------------

    def _on_accept(self, item: Accepted) -> None:
        """Push a message proven new as soon as it is accepted (the promise is the
        ingestor's module docstring), so live latency does not include the flush wait."""
        self.hub.publish_many(live_events([item]))

    def _after_flush(self, result: WriteResult) -> None:
        """Push what a flush stored and was not pushed on acceptance to live clients;
        node counters to the cache; alerts to clients and webhooks."""
        touched: dict[str, dict[str, Any]] = {}
        for item in result.new:
            m = item.message
            touched[m.node_id] = {"node_id": m.node_id, "last_seen_ms": item.received_ms}
        for loss in result.nodes:
            touched.setdefault(loss.node_id, {"node_id": loss.node_id})
            touched[loss.node_id].update({"received": loss.received, "lost": loss.lost})
        if self.cache is not None:
            self.cache.set_nodes(touched)
        self.hub.publish_many(live_events([i for i in result.new if not i.pushed]))
        self._announce_alerts(result.alerts)

    def _announce_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Push alert changes to live clients; POST those of webhook rules."""
        if not alerts:
            return
        self.hub.publish_many(
            [
                ("alerts", {k: v for k, v in a.items() if k not in ("webhook_url", "action")})
                for a in alerts
            ]
        )
        webhooks = [a for a in alerts if a.get("action") == "webhook"]
        if webhooks:
            threading.Thread(
                target=post_webhooks,
                args=(webhooks, self.settings.webhook_timeout_s),
                daemon=True,
            ).start()


def live_events(items: list[Accepted]) -> list[tuple[str, dict[str, Any]]]:
    """The live events of stored or accepted messages, in their order."""
    events: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        m = item.message
        if isinstance(m, DetectionBatch):
            events.append(
                (
                    "detections",
                    {
                        "node_id": m.node_id,
                        "seq": m.seq,
                        "intersection": m.intersection,
                        "frame_ts": m.frame_ts,
                        "count": len(m.detections),
                        "classes": sorted({d.cls for d in m.detections}),
                    },
                )
            )
        elif isinstance(m, ConsensusMessage):
            events.append(("consensus", m.model_dump(exclude={"body", "signature"})))
        elif isinstance(m, LogRecord):
            events.append(("logs", m.model_dump()))
        elif m.kind in ("heartbeat", "queue", "anomaly"):
            events.append(("nodes", m.model_dump(mode="json")))
    return events
