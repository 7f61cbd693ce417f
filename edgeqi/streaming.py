"""Five-tier adaptive streaming: pick a video bitrate from measured link health.

Tiers are the paper's: 150 kbit/s, 500 kbit/s, 1.5 Mbit/s, 3 Mbit/s, 6 Mbit/s.
Down fast, up slow: a tier the link can no longer carry (or loss, or a draining
buffer) drops at once, possibly several tiers; a higher tier is taken only after the
link has supported it with a safety margin for ``upgrade_hold_s``, one tier at a
time, so that a momentary burst of bandwidth does not cause oscillation.
"""

from __future__ import annotations

from dataclasses import dataclass

TIERS_KBPS: tuple[int, ...] = (150, 500, 1500, 3000, 6000)


@dataclass(slots=True, frozen=True)
class StreamingConfig:
    safety: float = 1.4
    down_margin: float = 1.05
    max_loss: float = 0.05
    min_buffer_s: float = 2.0
    upgrade_hold_s: float = 10.0


class TierSelector:
    def __init__(self, config: StreamingConfig, initial: int = 0) -> None:
        if not 0 <= initial < len(TIERS_KBPS):
            raise ValueError(f"initial tier {initial} outside 0..{len(TIERS_KBPS) - 1}")
        self.config = config
        self.tier = initial
        self._good_since: float | None = None

    @property
    def tier_kbps(self) -> int:
        return TIERS_KBPS[self.tier]

    def update(self, now: float, bandwidth_kbps: float, loss: float, buffer_s: float | None) -> int:
        """New tier from the link's bandwidth and loss and, where the runtime streams video
        and can say how much is queued, the sender's buffer (``None``: not known)."""
        cfg = self.config
        starved = buffer_s is not None and buffer_s < cfg.min_buffer_s
        if loss > cfg.max_loss or starved:
            self.tier = max(0, self.tier - 1)
            self._good_since = None
        while self.tier > 0 and bandwidth_kbps < TIERS_KBPS[self.tier] * cfg.down_margin:
            self.tier -= 1
            self._good_since = None
        nxt = self.tier + 1
        healthy = loss <= cfg.max_loss and not starved
        if nxt < len(TIERS_KBPS) and healthy and bandwidth_kbps >= TIERS_KBPS[nxt] * cfg.safety:
            if self._good_since is None:
                self._good_since = now
            elif now - self._good_since >= cfg.upgrade_hold_s:
                self.tier = nxt
                self._good_since = None
        else:
            self._good_since = None
        return self.tier
