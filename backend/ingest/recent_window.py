"""The last minute of stored messages, kept in memory by the process that stores them.

``/api/system/status`` used to count the last minute by scanning the ledger (most of
the SELECT time under load). The process that writes the ledger already sees every
stored message once, so it keeps the same figures (count, bytes, summed latency) for
a sliding window instead; a process that does not ingest still asks the table.
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass

WINDOW_MS = 60_000


@dataclass(frozen=True, slots=True)
class Recent:
    """What the ledger holds with ``received_ms`` inside the window."""

    messages: int
    size_bytes: int
    latency_ms_mean: float | None


class RecentWindow:
    """Stored messages by ``received_ms``; old ones leave as the window moves."""

    def __init__(self, window_ms: int = WINDOW_MS) -> None:
        self.window_ms = window_ms
        self._heap: list[tuple[int, int, int]] = []
        self._size = 0
        self._latency = 0
        self._lock = threading.Lock()

    def add(self, received_ms: int, size_bytes: int, latency_ms: int) -> None:
        """Count one newly stored message (a heap: sources may store slightly out of order)."""
        with self._lock:
            heapq.heappush(self._heap, (received_ms, size_bytes, latency_ms))
            self._size += size_bytes
            self._latency += latency_ms

    def at(self, now_ms: int) -> Recent:
        """The figures for ``received_ms >= now_ms - window_ms``, as the table would give."""
        cutoff = now_ms - self.window_ms
        with self._lock:
            while self._heap and self._heap[0][0] < cutoff:
                _, size, latency = heapq.heappop(self._heap)
                self._size -= size
                self._latency -= latency
            n = len(self._heap)
            return Recent(n, self._size, self._latency / n if n else None)
