"""Per-publisher quarantine quotas: no node can fill the disk with junk.

Every refused message is kept for inspection (principle 5), but a node that sends
nothing but junk would otherwise grow the ``quarantine`` table without bound. Each
publisher (the node level of the topic it used, which the broker ties to its login)
gets a sliding window of ``max_rows`` rows and ``max_bytes`` kept payload bytes; past
either, further refusals are counted (``edgeqi_quarantine_dropped_total``) and
acknowledged but not written.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

from edgeqi.protocol import TOPIC_ROOT

_MAX_PUBLISHERS = 10_000
"""Publishers tracked at once; the least recently charged is forgotten first."""


def publisher(topic: str) -> str:
    """Who published on ``topic`` as far as the broker's ACL vouches for it.

    ``edgeqi/v1/nodes/{node}/...`` and ``edgeqi/v1/consensus/{cluster}/{node}/...``
    name their node; anything else is charged to one shared ``?`` bucket.
    """
    parts = topic.split("/")
    if "/".join(parts[:2]) != TOPIC_ROOT or len(parts) < 4:
        return "?"
    if parts[2] == "nodes":
        return parts[3][:64]
    if parts[2] == "consensus" and len(parts) >= 5:
        return parts[4][:64]
    return "?"


class QuarantineQuota:
    """Thread-safe sliding-window budget of quarantine rows and bytes per publisher."""

    def __init__(self, max_rows: int, max_bytes: int, window_s: float) -> None:
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.window_s = window_s
        self._used: OrderedDict[str, deque[tuple[float, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def charge(self, who: str, kept_bytes: int) -> bool:
        """Take one row of ``kept_bytes`` from ``who``'s budget; False when it is spent."""
        now = time.monotonic()
        with self._lock:
            used = self._used.pop(who, None) or deque()
            self._used[who] = used  # most recently charged last
            while used and now - used[0][0] > self.window_s:
                used.popleft()
            if len(used) >= self.max_rows or sum(b for _, b in used) + kept_bytes > self.max_bytes:
                return False
            used.append((now, kept_bytes))
            while len(self._used) > _MAX_PUBLISHERS:
                self._used.popitem(last=False)
            return True
