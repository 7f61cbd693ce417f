"""Ingest-side identity checks that do not refuse: registration and seq regressions.

Nodes of the simulator and the load test are never registered, so an unregistered
sender is stored unless ``require_registration`` is set; either way it is counted
(``edgeqi_ingest_flagged_total{reason="unregistered"}``). A ``seq`` below the highest
this replica has stored for a node is stored too (redeliveries and a field node's
durable queue reorder legitimately; idempotence on ``(node_id, seq)`` already refuses
repeats) and counted as ``seq_regression``, so a node whose counter went back
is visible.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, OperationalError

from backend.core.orm import Node

_MAX_NODES = 100_000
"""Nodes whose highest seq is remembered; the least recently seen is forgotten first."""


class Registry:
    """The set of registered node ids, reread from the database at most every ``ttl_s``."""

    def __init__(self, engine: Engine, ttl_s: float = 5.0) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self._known: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def registered(self, node_id: str) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._read_at > self.ttl_s or (
                node_id not in self._known and now - self._read_at > 0.5
            ):
                try:
                    with self.engine.connect() as conn:
                        query = select(Node.node_id).where(Node.registered_ms.is_not(None))
                        self._known = frozenset(conn.scalars(query))
                except (OperationalError, DBAPIError):
                    # The database is away (a restart): answer from the last reading. The
                    # message is only counted here; refusing it would lose it, and the
                    # store rides out the outage on its own.
                    pass
                self._read_at = now
            return node_id in self._known


class SeqWatch:
    """Highest stored ``seq`` per node; reports each new message that goes below it."""

    def __init__(self) -> None:
        self._high: OrderedDict[str, int] = OrderedDict()

    def regressed(self, node_id: str, seq: int) -> bool:
        """Record ``seq`` for ``node_id``; True when it is below the highest seen."""
        high = self._high.pop(node_id, None)
        self._high[node_id] = seq if high is None else max(high, seq)
        while len(self._high) > _MAX_NODES:
            self._high.popitem(last=False)
        return high is not None and seq < high
