"""Prometheus metrics of one service instance, in a registry of its own.

A private :class:`CollectorRegistry` per app keeps several apps in one process (tests,
benchmarks) from colliding on metric names.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ThreadCpu:
    """CPU seconds spent by a set of threads, from ``/proc/self/task/<tid>/stat``.

    Ingest and the API share one interpreter in the default layout; the process's CPU
    time cannot say which of them spent it, the threads' own counters can (Linux; 0
    elsewhere). A thread that has ended keeps the last value read from it.
    """

    def __init__(self) -> None:
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def join(self) -> None:
        """Count the calling thread from now on."""
        with self._lock:
            self._last.setdefault(threading.get_native_id(), 0.0)

    def seconds(self) -> float:
        with self._lock:
            for tid in self._last:
                try:
                    stat = Path(f"/proc/self/task/{tid}/stat").read_text()
                except OSError:
                    continue  # ended (or not Linux): keep its last reading
                fields = stat.rsplit(")", 1)[1].split()  # the name may contain spaces
                self._last[tid] = (int(fields[11]) + int(fields[12])) / _TICKS
            return sum(self._last.values())


class Metrics:
    """Everything ``/metrics`` exposes: ingest, quarantine, loss, HTTP and WebSocket."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ingested = Counter(
            "edgeqi_ingest_messages_total", "Messages stored, by kind", ["kind"], registry=r
        )
        self.detections = Counter("edgeqi_ingest_detections_total", "Detections stored", registry=r)
        self.duplicates = Counter(
            "edgeqi_ingest_duplicates_total", "Redelivered (node_id, seq) pairs", registry=r
        )
        self.quarantined = Counter(
            "edgeqi_quarantine_total", "Payloads quarantined, by reason", ["reason"], registry=r
        )
        self.quarantine_dropped = Counter(
            "edgeqi_quarantine_dropped_total",
            "Refused payloads not kept because their publisher's quarantine quota was spent",
            ["reason"],
            registry=r,
        )
        self.flagged = Counter(
            "edgeqi_ingest_flagged_total",
            "Messages stored but flagged: unregistered sender, seq below the node's highest",
            ["reason"],
            registry=r,
        )
        self.batch_size = Histogram(
            "edgeqi_ingest_batch_size",
            "Messages per database flush",
            buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000),
            registry=r,
        )
        self.flush_seconds = Histogram(
            "edgeqi_ingest_flush_seconds", "Time to write one batch", registry=r
        )
        self.lag_seconds = Histogram(
            "edgeqi_ingest_lag_seconds",
            "Receipt to commit",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.pending = Gauge("edgeqi_ingest_pending", "Messages awaiting a flush", registry=r)
        self.store_errors = Counter(
            "edgeqi_ingest_store_errors_total", "Failed flush attempts", registry=r
        )
        self.node_lost = Gauge(
            "edgeqi_node_lost_messages", "Sequence numbers never received", ["node_id"], registry=r
        )
        self.request_seconds = Histogram(
            "edgeqi_http_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=r,
        )
        self.ws_clients = Gauge("edgeqi_ws_clients", "Connected WebSocket clients", registry=r)
        self.ws_slow_dropped = Counter(
            "edgeqi_ws_slow_clients_dropped",
            "WebSocket clients disconnected for falling a full queue behind",
            registry=r,
        )
        self.alerts = Counter("edgeqi_alerts_total", "Alerts fired", ["severity"], registry=r)
        self.ingest_threads = ThreadCpu()
        self.ingest_cpu = Gauge(
            "edgeqi_ingest_cpu_seconds",
            "CPU seconds of the ingest threads (MQTT network, validation, flushing, live push)",
            registry=r,
        )
        self.ingest_cpu.set_function(self.ingest_threads.seconds)
        self.process_cpu = Gauge(
            "edgeqi_process_cpu_seconds", "CPU seconds of this whole process", registry=r
        )
        self.process_cpu.set_function(time.process_time)
        self.mqtt_connected = Gauge(
            "edgeqi_mqtt_connected", "1 while the MQTT source is connected", registry=r
        )
