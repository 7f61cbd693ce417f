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

from collections.abc import Hashable


class MOfN:
    """Per key (an approach), the last N windows' evidence; a window confirms when it shows
    the event and M of the last N did."""

    __slots__ = ("_history", "_m", "_mask")

    def __init__(self, m: int, n: int) -> None:
        if not 1 <= m <= n <= 64:
            raise ValueError(f"need 1 <= m <= n <= 64, got m={m}, n={n}")
        self._m = m
        self._mask = (1 << n) - 1
        self._history: dict[Hashable, int] = {}

    def any_evidence(self) -> bool:
        return any(self._history.values())

    def push(self, key: Hashable, seen: bool) -> bool:
        """Record one window of ``key``; True when it shows the event, confirmed."""
        h = ((self._history.get(key, 0) << 1) | seen) & self._mask
        self._history[key] = h
        return seen and h.bit_count() >= self._m


class EventConfirmer:
    """M-of-N confirmation per approach, and one report per event.

    A confirmation is a new event once the approach has shown no evidence at all for
    ``clear_s``: a detector flickering over one emergency vehicle (a window or two missed)
    does not repeat the alert, while a second vehicle that arrives after the first has
    gone (back-to-back emergencies on one approach) is reported in its own right.
    """

    __slots__ = ("_clear_s", "_in_event", "_last_seen", "_windows")

    def __init__(self, approaches: int, m: int, n: int, clear_s: float) -> None:
        self._windows = MOfN(m, n)
        self._clear_s = clear_s
        self._last_seen = [-1e18] * approaches
        """Per approach: the last window that showed the event."""
        self._in_event = [False] * approaches
        """Per approach: an event was reported and no quiet gap of ``clear_s`` followed."""

    def update_all(self, flags: tuple[bool, ...], now: float) -> list[int]:
        """Record one window of every approach; the approaches it confirms a new event on.

        Most windows show nothing after windows that showed nothing: one check then."""
        if not any(flags) and not self._windows.any_evidence():
            return []
        return [i for i, seen in enumerate(flags) if self.update(i, seen, now)]

    def update(self, approach: int, seen: bool, now: float) -> bool:
        """Record one window of ``approach``; True when this window confirms a new event."""
        if seen:
            if now - self._last_seen[approach] > self._clear_s:
                self._in_event[approach] = False  # quiet long enough: the last one is over
            self._last_seen[approach] = now
        if not self._windows.push(approach, seen) or self._in_event[approach]:
            return False
        self._in_event[approach] = True
        return True
