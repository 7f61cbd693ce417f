"""Valid protocol messages for backend tests (built with the v1 schemas, never by hand)."""

from __future__ import annotations

from backend.ingest.store import Accepted
from edgeqi.protocol import (
    AnomalyReport,
    AnomalyType,
    ConsensusMessage,
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
    topic_for,
)

T0 = 1_750_000_000.0


def detections(node: str, seq: int, n: int = 2, ts: float = T0, cls: str = "car") -> DetectionBatch:
    return DetectionBatch(
        node_id=node,
        seq=seq,
        ts=ts,
        intersection="int-1",
        frame_ts=ts,
        detections=[
            Detection(
                cls=cls if i % 2 == 0 else "person", conf=0.5 + i / (4 * n), box=(i, i, 10, 20)
            )
            for i in range(n)
        ],
    )


def heartbeat(node: str, seq: int, ts: float = T0, soc: float = 0.8) -> Heartbeat:
    return Heartbeat(
        node_id=node,
        seq=seq,
        ts=ts,
        battery_soc=soc,
        power_w=5.5,
        mode=ModelMode.FULL,
        tier_kbps=1500,
        link=LinkStats(rtt_ms=20, bandwidth_kbps=5000, loss=0.01),
        discarded=3,
        deferred=2,
        dropped=0,
        uptime_s=100,
    )


def queue(node: str, seq: int, ts: float = T0, vehicles: float = 4) -> QueueObservation:
    return QueueObservation(
        node_id=node,
        seq=seq,
        ts=ts,
        intersection="int-1",
        approach="north",
        vehicles=vehicles,
        length_m=vehicles * 6,
    )


def anomaly(node: str, seq: int, ts: float = T0, score: float = 5.0) -> AnomalyReport:
    return AnomalyReport(
        node_id=node,
        seq=seq,
        ts=ts,
        intersection="int-1",
        approach="north",
        anomaly=AnomalyType.QUEUE_SPIKE,
        priority=ReportPriority.HIGH,
        observed_at=ts,
        value=20,
        baseline=5,
        score=score,
        significance=3,
    )


def log(node: str, seq: int, ts: float = T0, level: LogLevel = LogLevel.ERROR) -> LogRecord:
    return LogRecord(node_id=node, seq=seq, ts=ts, level=level, logger="cam", message="lens dirty")


def consensus(node: str, seq: int, ts: float = T0, phase: str = "prepare") -> ConsensusMessage:
    return ConsensusMessage(
        node_id=node,
        seq=seq,
        ts=ts,
        cluster="int-1",
        phase=phase,
        view=0,
        number=7,
        digest="abc123",
    )


def wire(message: Message) -> tuple[str, bytes]:
    """The (topic, payload) a node would publish."""
    return topic_for(message), encode(message)


def accepted(message: Message, received_ms: int = int(T0 * 1000)) -> Accepted:
    """The message as the ingestor hands it to the store after validation."""
    topic, payload = wire(message)
    return Accepted(topic, payload, received_ms, message)
