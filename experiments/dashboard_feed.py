"""A synthetic city feed for the dashboard: node messages through the backend's real ingest.

Each simulated camera publishes what an EDGE-QI node publishes (heartbeats, queue
observations, detection batches, anomaly reports, logs), encoded with the v1 protocol
and handed to the backend's in-process bus, so storage, rollups, alert rules and live
push all run exactly as for MQTT traffic. It produces no consensus traffic: that only
appears when the consensus layer runs. Used by the dashboard's end-to-end tests and
benchmarks, and to watch the dashboard without a simulator run.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from edgeqi.protocol import (
    AnomalyReport,
    AnomalyType,
    Detection,
    DetectionBatch,
    Heartbeat,
    LinkStats,
    LogLevel,
    LogRecord,
    Message,
    ModelMode,
    QueueObservation,
    ReportPriority,
    encode,
    node_topic,
)

APPROACHES = ("north", "east", "south", "west")
CLASSES = ("car", "car", "car", "truck", "bus", "person", "bicycle")
Publish = Callable[[str, bytes], object]


@dataclass
class Camera:
    """One simulated camera's evolving state."""

    node_id: str
    intersection: str
    approach: str
    seq: int = 0
    soc: float = 0.9
    vehicles: float = 4.0
    uptime_s: float = 0.0


class CityFeed:
    """``intersections`` x ``cameras`` nodes, each stepping every ``period_s`` of feed time."""

    def __init__(
        self, publish: Publish, intersections: int = 3, cameras: int = 4, seed: int = 7
    ) -> None:
        self.publish = publish
        self.rng = random.Random(seed)
        self.cameras = [
            Camera(f"cam-{i + 1:02d}-{c + 1}", f"int-{i + 1}", APPROACHES[c % 4])
            for i in range(intersections)
            for c in range(cameras)
        ]
        self.sent = 0

    def _send(self, m: Message) -> None:
        self.publish(node_topic(m.node_id, m.kind), encode(m))
        self.sent += 1

    def step(self, cam: Camera, t: float, period_s: float) -> None:
        """Advance one camera by ``period_s`` ending at epoch ``t`` and publish its messages."""
        rng = self.rng
        cam.uptime_s += period_s
        cycle = 0.5 + 0.5 * math.sin(t / 90.0 + 1.7 * APPROACHES.index(cam.approach))
        cam.vehicles = max(0.0, 0.7 * cam.vehicles + 0.3 * (12 * cycle) + rng.gauss(0, 1.2))
        cam.soc = max(0.05, min(1.0, cam.soc - 0.0004 * period_s + rng.gauss(0, 0.002)))
        reduced = cam.soc < 0.3
        rtt = max(2.0, rng.gauss(35, 12))

        def seq() -> int:
            cam.seq += 1
            return cam.seq

        self._send(
            Heartbeat(
                node_id=cam.node_id,
                seq=seq(),
                ts=t,
                battery_soc=cam.soc,
                power_w=rng.uniform(3.5, 7.5) * (0.6 if reduced else 1.0),
                mode=ModelMode.REDUCED if reduced else ModelMode.FULL,
                tier_kbps=500 if reduced else 1500,
                link=LinkStats(
                    rtt_ms=rtt, bandwidth_kbps=rng.uniform(2000, 9000), loss=rng.uniform(0, 0.03)
                ),
                discarded=rng.randint(0, 6),
                deferred=rng.randint(0, 3),
                dropped=0,
                uptime_s=cam.uptime_s,
                cpu=rng.uniform(0.2, 0.9),
                mem_mb=rng.uniform(300, 900),
                temp_c=rng.uniform(40, 70),
            )
        )
        self._send(
            QueueObservation(
                node_id=cam.node_id,
                seq=seq(),
                ts=t,
                intersection=cam.intersection,
                approach=cam.approach,
                vehicles=round(cam.vehicles, 2),
                length_m=round(cam.vehicles * 6.5, 1),
                wait_s=round(cam.vehicles * 2.4, 1),
            )
        )
        n = max(1, int(cam.vehicles / 2) + rng.randint(0, 3))
        self._send(
            DetectionBatch(
                node_id=cam.node_id,
                seq=seq(),
                ts=t,
                intersection=cam.intersection,
                frame_ts=t,
                detections=[
                    Detection(
                        cls=rng.choice(CLASSES),
                        conf=round(rng.uniform(0.35, 0.99), 3),
                        box=(rng.uniform(0, 600), rng.uniform(0, 400), 40.0, 30.0),
                        track=rng.randint(1, 5000),
                    )
                    for _ in range(n)
                ],
            )
        )
        if cam.vehicles > 11 and rng.random() < 0.3:
            self._send(
                AnomalyReport(
                    node_id=cam.node_id,
                    seq=seq(),
                    ts=t,
                    intersection=cam.intersection,
                    approach=cam.approach,
                    anomaly=AnomalyType.QUEUE_SPIKE,
                    priority=ReportPriority.HIGH,
                    observed_at=t,
                    value=cam.vehicles,
                    baseline=6.0,
                    score=round((cam.vehicles - 6.0) / 1.5, 2),
                    significance=round(rng.uniform(2, 6), 2),
                )
            )
        if rng.random() < 0.05:
            level = LogLevel.WARNING if reduced else LogLevel.INFO
            self._send(
                LogRecord(
                    node_id=cam.node_id,
                    seq=seq(),
                    ts=t,
                    level=level,
                    logger="edgeqi.node",
                    message=f"{cam.approach} queue {cam.vehicles:.1f} veh, battery {cam.soc:.0%}",
                )
            )

    def backfill(self, start: float, end: float, period_s: float) -> None:
        """Publish history from ``start`` to ``end`` (epoch s) in steps of ``period_s``."""
        t = start
        while t < end:
            for cam in self.cameras:
                self.step(cam, t, period_s)
            t += period_s

    def run(self, clock: Callable[[], float], period_s: float, stop: threading.Event) -> None:
        """Publish live, one step per ``period_s`` of wall time, until ``stop`` is set."""
        while not stop.wait(period_s):
            now = clock()
            for cam in self.cameras:
                self.step(cam, now, period_s)
