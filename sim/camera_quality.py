"""How well each camera sees, window by window: the multiplier on its detector's recall.

Independent per-window misses average out over the dozens of windows an episode lasts,
so a weaker detector would still report everything, a little later. Real misses come in
streaks and belong to a camera: glare or a bus in front for half a minute, dark hours,
rain, a dense queue hiding what is behind it, a lens that slowly dirties. Each factor
here is one of those, and their product scales every recall of the synthetic detector:

- a Gilbert-Elliott chain per camera (Gilbert 1960, Elliott 1963: the two-state model of
  bursty errors), good or in a miss streak;
- occlusion growing with how full the approach's storage is;
- night (between ``dusk_h`` and ``dawn_h``) and the overcast days of the sky model;
- drift: a camera that starts to degrade at a time drawn once per run and loses recall
  linearly from then on, down to a floor.

Every draw comes from the detector's own stream, in a fixed order per window, so the
same config and seed give the same views.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.scenario_config import DetectorConfig
from sim.weather import Sky

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def is_night(hour_of_day: float, dusk_h: float, dawn_h: float) -> bool:
    """Whether ``hour_of_day`` falls in the dark part of the day (which may span midnight)."""
    if dusk_h <= dawn_h:
        return dusk_h <= hour_of_day < dawn_h
    return hour_of_day >= dusk_h or hour_of_day < dawn_h


class CameraQuality:
    """Recall multipliers of ``nodes`` cameras, advanced one observation window at a time."""

    def __init__(
        self,
        cfg: DetectorConfig,
        nodes: int,
        rng: np.random.Generator,
        sky: Sky | None = None,
    ) -> None:
        self.cfg = cfg
        self.rng = rng
        self.sky = sky
        self.in_streak: BoolArray = np.zeros(nodes, dtype=np.bool_)
        rate_per_s = cfg.drift_per_node_hour / 3600.0
        self.drift_onset: FloatArray = (
            rng.exponential(1.0 / rate_per_s, size=nodes)
            if rate_per_s > 0.0
            else np.full(nodes, np.inf)
        )
        """Run second at which each camera starts to drift (infinite: never)."""

    def advance(self) -> None:
        """One window on: cameras enter or leave their miss streaks."""
        cfg = self.cfg
        if cfg.streak_enter_per_window <= 0.0 and not self.in_streak.any():
            return  # no streaks configured: nothing drawn, other draws unchanged
        u = self.rng.random(self.in_streak.shape)
        leave = 1.0 / cfg.streak_mean_windows
        self.in_streak = np.where(self.in_streak, u >= leave, u < cfg.streak_enter_per_window)

    def factor(self, now: float, hour_of_day: float, epoch_s: float) -> FloatArray:
        """Per camera, the multiplier on recall at run second ``now`` (occlusion aside)."""
        cfg = self.cfg
        f = np.where(self.in_streak, cfg.streak_recall_factor, 1.0)
        if cfg.drift_recall_loss_per_hour > 0.0:
            hours = np.clip(now - self.drift_onset, 0.0, None) / 3600.0
            f = f * np.maximum(cfg.drift_floor, 1.0 - cfg.drift_recall_loss_per_hour * hours)
        scene = 1.0
        if is_night(hour_of_day, cfg.dusk_h, cfg.dawn_h):
            scene *= cfg.night_recall_factor
        if self.sky is not None and self.sky.factor(epoch_s) < 1.0:
            scene *= cfg.overcast_recall_factor
        return np.asarray(f * scene, dtype=np.float64)

    def occlusion(self, occupancy: FloatArray) -> FloatArray:
        """Multiplier for queues filling ``occupancy`` (0-1) of their approach's storage."""
        return 1.0 - self.cfg.occlusion_at_capacity * np.clip(occupancy, 0.0, 1.0)
