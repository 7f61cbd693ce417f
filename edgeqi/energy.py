"""Energy: device power profiles, battery, solar harvesting, and a meter of joules by state.

A node's energy is the integral of its board's power over the states it was in:
idle, asleep between windows (where the device can), inference at full or reduced
precision, radio transmitting, radio tail. Power per state comes from a
:class:`DeviceProfile` whose figures are cited in the config that provides them; the
uplink follows the LTE model of Huang et al. (MobiSys 2012): while sending,
``P = base + slope * throughput``, then a tail at lower power before the modem sleeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(slots=True, frozen=True)
class DeviceProfile:
    name: str
    idle_w: float
    full_w: float
    """Board power while running the full-precision detector."""
    reduced_w: float
    full_latency_s: float
    """Seconds per inference, full precision."""
    reduced_latency_s: float
    radio_base_w: float
    radio_w_per_mbps: float
    radio_tail_s: float
    radio_tail_w: float
    source: str = ""
    per_object_s: float = 0.0
    """Seconds per detected object and frame at full precision (tracking, crop classifier):
    a crowded window costs more than an empty one."""
    sleep_w: float | None = None
    """Board power between windows where the device sleeps that briefly; ``None``: idle_w."""
    wake_s: float = 0.0
    """Seconds at idle power per window to wake and capture the window's frames."""

    @property
    def gap_w(self) -> float:
        """What the board draws between windows when it has nothing to do."""
        return self.idle_w if self.sleep_w is None else self.sleep_w

    def detection_s(self, frames: int, objects: float, reduced: bool) -> float:
        """Processor seconds to detect ``frames`` frames holding ``objects`` objects each."""
        if reduced:
            scale = self.reduced_latency_s / self.full_latency_s
            return frames * (self.reduced_latency_s + self.per_object_s * scale * objects)
        return frames * (self.full_latency_s + self.per_object_s * objects)


class PowerState(StrEnum):
    IDLE = "idle"
    SLEEP = "sleep"
    COMPUTE_FULL = "compute_full"
    COMPUTE_REDUCED = "compute_reduced"
    RADIO = "radio"
    RADIO_TAIL = "radio_tail"


@dataclass(slots=True)
class Battery:
    capacity_j: float
    charge_j: float

    def __post_init__(self) -> None:
        if self.capacity_j <= 0:
            raise ValueError("battery capacity must be positive")
        self.charge_j = min(max(self.charge_j, 0.0), self.capacity_j)

    def draw(self, joules: float) -> float:
        """Take up to ``joules``; return what the battery could actually supply."""
        supplied = min(max(joules, 0.0), self.charge_j)
        self.charge_j -= supplied
        return supplied

    def harvest(self, joules: float) -> float:
        """Store up to ``joules``; return what fitted below capacity."""
        stored = min(max(joules, 0.0), self.capacity_j - self.charge_j)
        self.charge_j += stored
        return stored

    @property
    def soc(self) -> float:
        return self.charge_j / self.capacity_j

    @property
    def empty(self) -> bool:
        return self.charge_j <= 0.0


@dataclass(slots=True, frozen=True)
class SolarPanel:
    """Output follows a half sine between sunrise and sunset (UTC hours), zero at night."""

    peak_w: float
    sunrise_h: float = 6.0
    sunset_h: float = 18.0

    def power_w(self, now: float) -> float:
        h = (now % 86400.0) / 3600.0
        if not self.sunrise_h <= h <= self.sunset_h:
            return 0.0
        day = self.sunset_h - self.sunrise_h
        return self.peak_w * math.sin(math.pi * (h - self.sunrise_h) / day)

    def _cumulative(self, t: float) -> float:
        """Joules produced from the Unix epoch to ``t``: whole days plus today's part."""
        day_s = (self.sunset_h - self.sunrise_h) * 3600.0
        per_day = self.peak_w * 2.0 * day_s / math.pi
        days, rem = divmod(t, 86400.0)
        start, end = self.sunrise_h * 3600.0, self.sunset_h * 3600.0
        x = min(max(rem, start), end) - start
        today = self.peak_w * day_s / math.pi * (1.0 - math.cos(math.pi * x / day_s))
        return days * per_day + today

    def energy_j(self, t0: float, t1: float) -> float:
        """Exact integral of :meth:`power_w` over ``[t0, t1]``, across midnights and days."""
        if self.peak_w <= 0.0 or t1 <= t0:
            return 0.0
        return self._cumulative(t1) - self._cumulative(t0)


@dataclass(slots=True)
class EnergyMeter:
    """Joules and seconds per power state, accumulated as the node reports its activity."""

    by_state: dict[PowerState, float] = field(
        default_factory=lambda: dict.fromkeys(PowerState, 0.0)
    )
    seconds_by_state: dict[PowerState, float] = field(
        default_factory=lambda: dict.fromkeys(PowerState, 0.0)
    )

    def add(self, state: PowerState, power_w: float, seconds: float) -> float:
        if seconds < 0 or power_w < 0:
            raise ValueError("power and duration must be non-negative")
        joules = power_w * seconds
        self.by_state[state] += joules
        self.seconds_by_state[state] += seconds
        return joules

    @property
    def total_j(self) -> float:
        return sum(self.by_state.values())


def radio_energy_j(profile: DeviceProfile, nbytes: int, uplink_kbps: float) -> tuple[float, float]:
    """(joules, seconds on air) to send ``nbytes`` at ``uplink_kbps``, tail excluded."""
    seconds = nbytes * 8.0 / (uplink_kbps * 1000.0)
    watts = profile.radio_base_w + profile.radio_w_per_mbps * uplink_kbps / 1000.0
    return watts * seconds, seconds


def task_energy_j(profile: DeviceProfile, full: bool, inferences: int) -> tuple[float, float]:
    """(joules, seconds) of the board while running ``inferences`` detections.

    The whole board's power in that state times the time spent, not the increment
    over idle: the idle share is simply not counted again for those seconds.
    """
    if full:
        seconds = inferences * profile.full_latency_s
        return seconds * profile.full_w, seconds
    seconds = inferences * profile.reduced_latency_s
    return seconds * profile.reduced_w, seconds
