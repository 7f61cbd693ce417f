"""Evidence accumulated over observation windows before a perception event is reported.

A detector's single window is weak evidence: it misses in streaks and now and then sees
an emergency vehicle or a stalled one that is not there. A node therefore reports such
an event only once it is confirmed, M windows out of the last N showing it: the M-of-N
confirmation rule of radar track initiation (Blackman & Popoli, "Design and Analysis of
Modern Tracking Systems", 1999). False evidence at rate p per window is confirmed at
about C(N, M) p^M per window, while a real event that the detector sees in a share r of
windows is confirmed after a few windows when r is high and late or never when r is low.
"""

from __future__ import annotations


class EventConfirmer:
    """M-of-N confirmation per approach, and one report per event.

    An event counts as new when it is confirmed after ``clear_s`` without confirmation,
    so that a detector flickering between windows does not repeat the same alert.
    """

    __slots__ = ("_clear_s", "_history", "_last_confirmed", "_m", "_mask")

    def __init__(self, approaches: int, m: int, n: int, clear_s: float) -> None:
        if not 1 <= m <= n <= 64:
            raise ValueError(f"need 1 <= m <= n <= 64, got m={m}, n={n}")
        self._m = m
        self._mask = (1 << n) - 1
        self._clear_s = clear_s
        self._history = [0] * approaches
        self._last_confirmed = [-1e18] * approaches

    def update_all(self, flags: tuple[bool, ...], now: float) -> list[int]:
        """Record one window of every approach; the approaches it confirms a new event on.

        Most windows show nothing after windows that showed nothing: one check then."""
        if not any(flags) and not any(self._history):
            return []
        return [i for i, seen in enumerate(flags) if self.update(i, seen, now)]

    def update(self, approach: int, seen: bool, now: float) -> bool:
        """Record one window of ``approach``; True when this window confirms a new event."""
        h = ((self._history[approach] << 1) | seen) & self._mask
        self._history[approach] = h
        if not seen or h.bit_count() < self._m:
            return False
        new = now - self._last_confirmed[approach] > self._clear_s
        self._last_confirmed[approach] = now
        return new
