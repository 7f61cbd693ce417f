"""The node's message ``seq`` across restarts.

The backend stores each ``(node_id, seq)`` once and drops a repeat as a duplicate, so a
node that started counting from 0 again after a restart would lose every new message
whose number was already used. The next ``seq`` is therefore kept in a file beside the
queue, reserved a block ahead with one synced write; a clean stop records the exact
value. After a crash the node resumes at the end of its reservation: the unused rest
of a block is a gap in ``seq`` (which the backend counts), never a reuse.
"""

from __future__ import annotations

import os
from pathlib import Path


class SeqReservation:
    """Hands out the starting ``seq`` and keeps a reservation ahead of the one in use."""

    def __init__(self, path: Path, block: int = 4096, margin: int = 256) -> None:
        if margin >= block:
            raise ValueError("margin must be smaller than block")
        self.path, self.block, self.margin = path, block, margin
        self.start = self._read()
        self.limit = self.start
        self.ensure(self.start)

    def _read(self) -> int:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return 0
        try:
            value = int(text)
        except ValueError as exc:
            raise ValueError(f"{self.path}: not a sequence number: {text[:40]!r}") from exc
        if value < 0:
            raise ValueError(f"{self.path}: negative sequence number {value}")
        return value

    def _write(self, value: int) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w") as fh:
            fh.write(f"{value}\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)

    def ensure(self, seq: int) -> None:
        """Make sure numbers up to ``seq + margin`` are reserved before any is used."""
        if seq + self.margin >= self.limit:
            self.limit = seq + self.block
            self._write(self.limit)

    def close(self, next_seq: int) -> None:
        """A clean stop: the next start continues exactly at ``next_seq``."""
        self._write(next_seq)
        self.limit = next_seq
