"""Who spent the CPU of a load test: cores per side, CPU per message and per request.

On a small machine the load generator (the simulated nodes, API users, WebSocket
clients) competes with the system under test, and a slow generator reads as a slow
backend. So, when there is more than one core, the generator's processes and the
backend's are pinned to disjoint halves of the CPUs this process may use (every
thread of each, with ``os.sched_setaffinity``); the broker and the database stay
unpinned (they serve both sides). Both sides' CPU seconds are read at the start and
the end of the load window, and the backend's are divided by what it did: CPU-ms per
ingested message (the ingest threads' own counters from ``/metrics`` when one process
does both, the ingest workers' processes otherwise) and CPU-ms per API request (the
API process less its ingest threads, over the requests its histogram counted; live
push to WebSocket clients is included in that share).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.parser import text_string_to_metric_families


def split_cores(cpus: set[int] | None = None) -> tuple[list[int], list[int]] | None:
    """(generator cores, backend cores) from the usable CPUs; ``None`` with one core."""
    usable = sorted(os.sched_getaffinity(0) if cpus is None else cpus)
    if len(usable) < 2:
        return None
    half = len(usable) // 2
    return usable[:half], usable[half:]


def pin(pid: int, cpus: list[int], descendants: bool = True) -> int:
    """Pin every thread of ``pid`` (and of its descendants) to ``cpus``; return how many.

    ``sched_setaffinity`` applies to one thread; threads created later inherit the mask
    of the thread that creates them."""
    pinned = 0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        procs = [root, *(root.children(recursive=True) if descendants else [])]
        for proc in procs:
            for task in Path(f"/proc/{proc.pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(task.name), cpus)
                    pinned += 1
    return pinned


def cpu_seconds(pids: list[int], descendants: bool = True) -> float:
    """User + system seconds of the processes (and their live children) so far.

    Not the children of a generator process: the load test's own process is the parent
    of the broker, the database and the backend it started."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in [root, *(root.children(recursive=True) if descendants else [])]:
                t = proc.cpu_times()
                total += t.user + t.system
    return total


def scrape(exposition: str) -> dict[str, float]:
    """The backend counters this meter divides by: ingest CPU, process CPU, requests."""
    out = {"ingest_cpu_s": 0.0, "process_cpu_s": 0.0, "requests": 0.0}
    for family in text_string_to_metric_families(exposition):
        if family.name == "edgeqi_ingest_cpu_seconds":
            out["ingest_cpu_s"] = sum(s.value for s in family.samples)
        elif family.name == "edgeqi_process_cpu_seconds":
            out["process_cpu_s"] = sum(s.value for s in family.samples)
        elif family.name == "edgeqi_http_request_seconds":
            out["requests"] = sum(s.value for s in family.samples if s.name.endswith("_count"))
    return out


@dataclass
class Snapshot:
    at: float
    api: float
    workers: float
    generator: dict[str, float]
    """CPU seconds of each part of the load generator (each process alone)."""
    counters: dict[str, float] = field(default_factory=dict)


def snapshot(
    api_pids: list[int],
    worker_pids: list[int],
    generator: dict[str, list[int]],
    exposition: str,
) -> Snapshot:
    """``generator``: part name (simulator, node shards, API users) -> its processes."""
    return Snapshot(
        time.time(),
        cpu_seconds(api_pids),
        cpu_seconds(worker_pids),
        {part: cpu_seconds(pids, descendants=False) for part, pids in generator.items()},
        scrape(exposition) if exposition else {},
    )


def per_unit(
    start: Snapshot, end: Snapshot, messages: int, split: bool, cores: dict[str, Any]
) -> dict[str, Any]:
    """The report's ``cpu`` section: the backend's share of a core, its cost per message and
    per request, and where each side ran (the generator's share: :func:`generator_share`)."""
    window = max(end.at - start.at, 1e-9)
    api_s = end.api - start.api
    counted = bool(start.counters) and bool(end.counters)
    thread_ingest = end.counters.get("ingest_cpu_s", 0.0) - start.counters.get("ingest_cpu_s", 0.0)
    ingest_s = end.workers - start.workers if split else thread_ingest
    serving_s = api_s if split else api_s - thread_ingest
    requests = end.counters.get("requests", 0.0) - start.counters.get("requests", 0.0)
    return {
        "window_s": round(window, 2),
        "backend_percent_of_core": round((api_s + (end.workers - start.workers)) / window * 100, 1),
        "ingest_cpu_s": round(ingest_s, 3),
        "api_cpu_s": round(serving_s, 3),
        "cpu_ms_per_message": round(ingest_s * 1000 / messages, 4)
        if messages and (split or counted)
        else None,
        "cpu_ms_per_request": round(serving_s * 1000 / requests, 3)
        if requests and counted
        else None,
        "requests_served": int(requests),
        "messages_ingested": messages,
        "cores": cores,
    }


def generator_share(start: Snapshot, end: Snapshot) -> dict[str, Any]:
    """Each part of the load generator's share of a core over the window, and the total."""
    window = max(end.at - start.at, 1e-9)
    parts = {
        part: round((end.generator[part] - start.generator.get(part, 0.0)) / window * 100, 1)
        for part in end.generator
    }
    return {"percent_of_core": round(sum(parts.values()), 1), "parts_percent_of_core": parts}
