"""Every node's battery, solar harvest and power draw, integrated together.

Energy is the integral of the device profile's power over the states each node was
actually in during the interval (computing at full or reduced precision, idle, asleep
between windows where the profile can, radio on air, radio tail), never a per-event
guess. The arithmetic is the same as
:class:`edgeqi.energy.EnergyMeter`'s, done for all nodes at once with NumPy, and a
test holds the two equal on the same timeline.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edgeqi.energy import DeviceProfile, PowerState, SolarPanel
from sim.scenario_config import DeviceConfig, EnergyConfig
from sim.weather import Sky

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
STATES = (
    PowerState.IDLE,
    PowerState.COMPUTE_FULL,
    PowerState.COMPUTE_REDUCED,
    PowerState.RADIO,
    PowerState.RADIO_TAIL,
    PowerState.SLEEP,
)
REVIVE_SOC = 0.1
"""A node that died of an empty battery boots again once solar brings it back to 10 %."""


def device_profile(cfg: DeviceConfig) -> DeviceProfile:
    """The node core's profile from the validated config (the same fields, by design)."""
    return DeviceProfile(**cfg.model_dump())


class EnergyModel:
    """Batteries of ``nodes`` nodes: drawn by the power model, charged by their panels."""

    def __init__(
        self,
        cfg: EnergyConfig,
        nodes: int,
        uplink_kbps: float,
        start_epoch_s: float,
        rng: np.random.Generator,
        sky: Sky | None = None,
    ) -> None:
        """``sky`` scales the panels' output day by day (none: every day clear)."""
        self.profile = device_profile(cfg.device)
        self.sky = sky
        self.start_epoch_s = start_epoch_s
        self.capacity_j = cfg.battery_wh * 3600.0
        lo, hi = cfg.initial_soc
        self.charge_j: FloatArray = rng.uniform(lo, hi, size=nodes) * self.capacity_j
        self.panel = SolarPanel(cfg.solar_peak_w, cfg.sunrise_h, cfg.sunset_h)
        self.panel_scale: FloatArray = rng.uniform(0.5, 1.0, size=nodes)
        """Shading and orientation: each node gets part of the panel's rated output."""
        self.radio_air_w = self.profile.radio_base_w + self.profile.radio_w_per_mbps * (
            uplink_kbps / 1000.0
        )
        self.joules: FloatArray = np.zeros((nodes, len(STATES)))
        self.seconds: FloatArray = np.zeros((nodes, len(STATES)))
        self.harvested_j: FloatArray = np.zeros(nodes)
        self.unsupplied_j: FloatArray = np.zeros(nodes)
        self.last_air_end: FloatArray = np.full(nodes, -np.inf)
        self.depleted: BoolArray = np.zeros(nodes, dtype=np.bool_)
        self.power_w: FloatArray = np.zeros(nodes)

    @property
    def soc(self) -> FloatArray:
        return self.charge_j / self.capacity_j

    def account(
        self,
        t0: float,
        t1: float,
        powered: BoolArray,
        compute_full_s: FloatArray,
        compute_reduced_s: FloatArray,
        air_s: FloatArray,
        busy_s: FloatArray | None = None,
    ) -> None:
        """Integrate power over ``[t0, t1]`` for every powered node, harvest, update batteries.

        ``air_s`` is the time each node's radio spent transmitting in the interval;
        ``last_air_end`` must already hold when each node's last transmission ended,
        from which the radio's tail time in the interval follows. ``busy_s`` is time the
        board had to stay awake besides detection (encoding video); the rest of the
        interval, less the profile's wake-up time, it sleeps at ``gap_w``.
        """
        dt = t1 - t0
        p = self.profile
        on = powered.astype(np.float64)
        cf = np.minimum(compute_full_s, dt) * on
        cr = np.minimum(compute_reduced_s, dt - cf) * on
        if p.sleep_w is None:
            sleep = np.zeros_like(cf)  # the board cannot sleep: the gaps are idle
        else:
            awake = p.wake_s if busy_s is None else p.wake_s + busy_s
            sleep = np.clip(dt - cf - cr - awake, 0.0, None) * on
        idle = (dt - cf - cr) * on - sleep
        air = np.minimum(air_s, dt) * on
        tail_start = np.maximum(self.last_air_end, t0)
        tail_end = np.minimum(self.last_air_end + p.radio_tail_s, t1)
        tail = np.clip(tail_end - tail_start, 0.0, dt) * on
        tail = np.maximum(0.0, tail - air)
        seconds = np.stack([idle, cf, cr, air, tail, sleep], axis=1)
        watts = np.array(
            [p.idle_w, p.full_w, p.reduced_w, self.radio_air_w, p.radio_tail_w, p.gap_w]
        )
        joules = seconds * watts
        self.seconds += seconds
        self.joules += joules
        drawn = joules.sum(axis=1)
        self.power_w = drawn / dt
        harvest = self.panel.energy_j(self.start_epoch_s + t0, self.start_epoch_s + t1)
        if self.sky is not None:
            harvest *= self.sky.factor(self.start_epoch_s + t0)
        gained = harvest * self.panel_scale
        self.harvested_j += gained
        charge = np.minimum(self.charge_j + gained, self.capacity_j)
        short = np.maximum(drawn - charge, 0.0)
        self.unsupplied_j += short
        self.charge_j = np.maximum(charge - drawn, 0.0)
        newly_empty = (self.charge_j <= 0.0) & powered
        self.depleted |= newly_empty
        self.depleted &= ~(self.soc >= REVIVE_SOC)

    def kill(self, node: int) -> None:
        """Battery death injected by a fault: empty the battery now."""
        self.charge_j[node] = 0.0
        self.depleted[node] = True

    @property
    def total_j(self) -> float:
        return float(self.joules.sum())

    def by_state_j(self) -> dict[str, float]:
        return {s.value: float(self.joules[:, i].sum()) for i, s in enumerate(STATES)}
