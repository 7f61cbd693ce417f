"""What the backend received, as the simulator's stand-in for ingest.

Every publish that reaches the backend is recorded with its send and arrival times
and its bytes on the wire; every publish that never arrives is recorded as lost.
For policies that do not detect anomalies on the node (they upload observations),
the backend side runs the same Algorithm-2 scorer over what it received, in arrival
order, so that every policy's anomaly recall is measured the same way: from what
reached the backend, and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from edgeqi.protocol import AnomalyReport, Message, QueueObservation
from edgeqi.transmission import Action, AnomalyTransmitter, CycleMax, TransmissionConfig


@dataclass(slots=True)
class Report:
    """An anomaly as the backend knows it: where, what, when seen and when received."""

    node: int
    intersection: str
    approach: str
    anomaly: str
    priority: str
    event_at: float
    received_at: float
    source: str  # "node" (Algorithm 2 on the node) or "backend" (scored after upload)


@dataclass
class Collector:
    """Rows of every publish and every report, for metrics and Parquet tables."""

    start_epoch_s: float
    rows: dict[str, list[object]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "node",
                "kind",
                "seq",
                "sent_at",
                "arrival",
                "event_at",
                "payload_bytes",
                "wire_bytes",
                "attempts",
                "buffered",
            )
        }
    )
    reports: list[Report] = field(default_factory=list)
    _queue_rows: list[tuple[float, int, str, float, float]] = field(default_factory=list)
    video_bytes: int = 0
    wire_bytes: int = 0

    def record(
        self,
        node: int,
        message: Message,
        sent_at: float,
        arrival: float | None,
        event_at: float,
        payload_bytes: int,
        wire_bytes: int,
        attempts: int,
        buffered: bool,
    ) -> None:
        self.wire_bytes += wire_bytes
        r = self.rows
        r["node"].append(node)
        r["kind"].append(message.kind)
        r["seq"].append(message.seq)
        r["sent_at"].append(sent_at - self.start_epoch_s)
        r["arrival"].append(None if arrival is None else arrival - self.start_epoch_s)
        r["event_at"].append(event_at - self.start_epoch_s)
        r["payload_bytes"].append(payload_bytes)
        r["wire_bytes"].append(wire_bytes)
        r["attempts"].append(attempts)
        r["buffered"].append(buffered)
        if arrival is None:
            return
        if isinstance(message, AnomalyReport):
            self.reports.append(
                Report(
                    node,
                    message.intersection,
                    message.approach,
                    message.anomaly.value,
                    message.priority.value,
                    event_at - self.start_epoch_s,
                    arrival - self.start_epoch_s,
                    "node",
                )
            )
        elif isinstance(message, QueueObservation):
            key = f"{message.intersection}/{message.approach}"
            self._queue_rows.append((arrival, node, key, message.vehicles, event_at))

    def score_uploads(self, config: TransmissionConfig, cycle_s: float) -> None:
        """Backend-side Algorithm 2 over uploaded observations, per camera, in arrival order,
        on the same per-cycle peaks a node would score."""
        scorers: dict[int, tuple[AnomalyTransmitter, CycleMax]] = {}
        for arrival, node, key, value, event_at in sorted(self._queue_rows):
            pair = scorers.get(node)
            if pair is None:
                pair = scorers[node] = (AnomalyTransmitter(config), CycleMax(cycle_s))
            scorer, cycles = pair
            peak = cycles.push(key, value, event_at)
            if peak is None:
                continue
            verdict = scorer.observe(key, peak, event_at)
            if verdict.action in (Action.TRANSMIT_NOW, Action.TRANSMIT):
                intersection, approach = key.split("/", 1)
                self.reports.append(
                    Report(
                        node,
                        intersection,
                        approach,
                        "queue_spike",
                        "critical" if verdict.action is Action.TRANSMIT_NOW else "high",
                        event_at - self.start_epoch_s,
                        arrival - self.start_epoch_s,
                        "backend",
                    )
                )

    def messages_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def reports_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "node": r.node,
                    "intersection": r.intersection,
                    "approach": r.approach,
                    "anomaly": r.anomaly,
                    "priority": r.priority,
                    "event_at": r.event_at,
                    "received_at": r.received_at,
                    "source": r.source,
                }
                for r in self.reports
            ],
            columns=[
                "node",
                "intersection",
                "approach",
                "anomaly",
                "priority",
                "event_at",
                "received_at",
                "source",
            ],
        )
