"""Day-to-day sky over the city: clear days, or overcast ones in spells.

Without weather every day is the same sunny day, so a node that survives its first night
survives them all and a week says nothing about battery lifetime. The sky here is drawn
once per run (its own random stream, so other draws are unchanged) as a two-state chain
over calendar days, and scales every panel's output on overcast days.
"""

from __future__ import annotations

import numpy as np

from sim.scenario_config import WeatherConfig

DAY_S = 86_400.0


class Sky:
    """Output factor of every panel (1.0 on a clear day) for each calendar day of a run."""

    def __init__(
        self, cfg: WeatherConfig, start_epoch_s: float, duration_s: float, rng: np.random.Generator
    ) -> None:
        self.first_day = int(start_epoch_s // DAY_S)
        days = int((start_epoch_s + duration_s) // DAY_S) - self.first_day + 1
        self.factors: list[float] = [1.0] * days
        if cfg.overcast_share <= 0.0:
            return  # the clear-sky model draws nothing
        overcast = False
        for day in range(days):
            if day == 0 or rng.random() >= cfg.persistence:
                overcast = bool(rng.random() < cfg.overcast_share)
            if overcast:
                self.factors[day] = float(rng.uniform(*cfg.overcast_output))

    def factor(self, epoch_s: float) -> float:
        day = int(epoch_s // DAY_S) - self.first_day
        return self.factors[min(max(day, 0), len(self.factors) - 1)]

    @property
    def overcast_days(self) -> int:
        return sum(f < 1.0 for f in self.factors)
