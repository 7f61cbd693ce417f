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
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from edgeqi.protocol import AnomalyReport, Message, QueueObservation
from edgeqi.transmission import (
    Action,
    AnomalyTransmitter,
    CycleConfirmation,
    CycleMax,
    TransmissionConfig,
)

MESSAGE_COLUMNS = (
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


ROW_GROUP_ROWS = 65_536
"""Publishes held as Python tuples before they are sealed into typed columns: a row as a
tuple of boxed numbers costs about 320 bytes, as columns 77 (``tracemalloc``, 65,535 rows),
so a run that sends millions of messages holds them in a quarter of the memory."""


REPORT_COLUMNS = (
    "node",
    "intersection",
    "approach",
    "anomaly",
    "priority",
    "event_at",
    "received_at",
    "source",
)
"""The columns of ``reports.parquet`` (and of the frame :mod:`sim.scoring` reads)."""


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
    _rows: list[tuple[object, ...]] = field(default_factory=list)
    """The publishes of the row group being filled, a tuple each in :data:`MESSAGE_COLUMNS`
    order (a tuple per row is cheaper than ten list appends)."""
    _groups: list[dict[str, npt.NDArray[Any]]] = field(default_factory=list)
    """Sealed row groups of :data:`ROW_GROUP_ROWS` publishes, as typed columns."""
    reports: list[Report] = field(default_factory=list)
    _queue_rows: list[tuple[float, int, str, float, float]] = field(default_factory=list)
    video_bytes: int = 0
    wire_bytes: int = 0
    clips: list[tuple[int, float, int]] = field(default_factory=list)
    """(node, time since start, bytes) of each clip attached to a critical report: the time
    is the report's event time, so a clip can be paired with its report."""

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
        t0 = self.start_epoch_s
        self._rows.append(
            (
                node,
                message.kind,
                message.seq,
                sent_at - t0,
                None if arrival is None else arrival - t0,
                event_at - t0,
                payload_bytes,
                wire_bytes,
                attempts,
                buffered,
            )
        )
        if len(self._rows) >= ROW_GROUP_ROWS:
            self._seal()
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
        on the same per-cycle peaks a node would score and with the same M-of-N
        confirmation before a cycle is reported."""
        scorers: dict[int, tuple[AnomalyTransmitter, CycleMax, CycleConfirmation]] = {}
        for arrival, node, key, value, event_at in sorted(self._queue_rows):
            pair = scorers.get(node)
            if pair is None:
                pair = scorers[node] = (
                    AnomalyTransmitter(config),
                    CycleMax(cycle_s),
                    CycleConfirmation(config),
                )
            scorer, cycles, evidence = pair
            peak = cycles.push(key, value, event_at)
            if peak is None:
                continue
            verdict = scorer.observe(key, peak, event_at)
            if evidence.confirms(key, verdict):
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

    def _seal(self) -> None:
        """Turn the row group being filled into typed columns; ``arrival`` is NaN where lost."""
        node, kind, seq, sent, arrival, event, payload, wire, attempts, buffered = zip(
            *self._rows, strict=True
        )
        self._groups.append(
            {
                "node": np.array(node, dtype=np.int64),
                "kind": np.array(kind, dtype=object),
                "seq": np.array(seq, dtype=np.int64),
                "sent_at": np.array(sent, dtype=np.float64),
                "arrival": np.array([np.nan if a is None else a for a in arrival]),
                "event_at": np.array(event, dtype=np.float64),
                "payload_bytes": np.array(payload, dtype=np.int64),
                "wire_bytes": np.array(wire, dtype=np.int64),
                "attempts": np.array(attempts, dtype=np.int64),
                "buffered": np.array(buffered, dtype=np.bool_),
            }
        )
        self._rows = []

    def messages_frame(self) -> pd.DataFrame:
        if self._rows:
            self._seal()
        groups = self._groups
        if not groups:
            return pd.DataFrame({name: [] for name in MESSAGE_COLUMNS})
        columns: dict[str, Any] = {
            name: np.concatenate([g[name] for g in groups]) for name in MESSAGE_COLUMNS
        }
        # The frame's types are those of one list of every row: ``arrival`` is a float column
        # with NaN where lost, or, when nothing arrived at all, a column of None.
        if np.isnan(columns["arrival"]).all():
            columns["arrival"] = [None] * len(columns["arrival"])
        return pd.DataFrame(columns)

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
            columns=list(REPORT_COLUMNS),
        )
