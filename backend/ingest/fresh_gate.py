"""Which accepted messages are certainly new, so they may be pushed live before the flush.

The ledger finds duplicates (same ``node_id`` and ``seq``) only inside the flush's
transaction. To push a message before that, the ingestor needs a cheaper proof that it
will not be a duplicate: a ``seq`` above every ``seq`` this process has stored or let
through for that node. A node this process has not stored anything of yet (a fresh
start, a node evicted from the bounded table) gives no such proof, and neither does a
``seq`` at or below the mark (a broker redelivery, a node that restarted its counter):
those messages are pushed after their flush, and only if the flush stored them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

MAX_NODES = 100_000
"""Nodes remembered; the least recently heard is forgotten first (then it is unproven)."""


class FreshGate:
    """Highest ``seq`` known per node, shared by every ingest source thread."""

    def __init__(self, max_nodes: int = MAX_NODES) -> None:
        self.max_nodes = max_nodes
        self._high: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, node_id: str, seq: int) -> bool:
        """True (and ``seq`` becomes the mark) when ``seq`` is above the node's known mark."""
        with self._lock:
            high = self._high.get(node_id)
            if high is None or seq <= high:
                return False
            self._remember(node_id, seq)
            return True

    def stored(self, node_id: str, seq: int) -> None:
        """Raise the node's mark to a ``seq`` the ledger has just stored."""
        with self._lock:
            high = self._high.get(node_id)
            self._remember(node_id, seq if high is None else max(high, seq))

    def _remember(self, node_id: str, seq: int) -> None:
        self._high[node_id] = seq
        self._high.move_to_end(node_id)
        while len(self._high) > self.max_nodes:
            self._high.popitem(last=False)
