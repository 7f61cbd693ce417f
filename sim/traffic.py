"""The traffic world: every intersection's queues, advanced together in NumPy.

One vectorised step per simulated second updates all ``I x A`` approaches at once
(arrivals, signal phase, saturation-flow discharge, spill-back), because a
per-approach SimPy process would cost hundreds of times more for the same physics
(DESIGN.md: batch the periodic work of many nodes).

Vehicles are integers and conserved: everything that ever arrived has either
departed, is queued at the stop line, or is held upstream by spill-back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from sim.scenario_config import CityConfig, WorkloadConfig

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

APPROACH_NAMES = ("N", "E", "S", "W", "NE", "SE", "SW", "NW")
WARMUP_S = 600.0
"""No episode starts in the first ten minutes: the nodes' baselines need a few signal cycles."""
COOLDOWN_S = 300.0
"""Nor in the last five minutes: an episode needs a few cycles to show before the run ends,
or no policy could be fairly asked to report it."""
PREROLL_S = 900.0
"""The world runs this long before time zero so that the run starts in steady traffic."""
RECOVERY_MARGIN_VEH = 2
"""An approach has recovered when its queue is back within this of its level at onset."""
DEMAND_WEIGHT_RANGE = (0.6, 1.4)
"""Each approach's (the SUMO world: each source edge's) share of the base rate, drawn
uniformly once per run: main roads and side streets, not four equal arms."""


class EpisodeKind(StrEnum):
    INCIDENT = "incident"
    SURGE = "surge"
    EMERGENCY = "emergency"
    CAMERA_FAULT = "camera_fault"


@dataclass(frozen=True, slots=True)
class Episode:
    """A ground-truth anomaly with its place and time; ``node`` is set for camera faults."""

    id: int
    kind: EpisodeKind
    intersection: int
    approach: int
    onset: float
    end: float
    node: int = -1


def diurnal_factor(hour_of_day: FloatArray | float, workload: WorkloadConfig) -> FloatArray:
    """Demand relative to the daily mean level: night trough, daytime plateau, rush peaks."""
    h = np.asarray(hour_of_day, dtype=np.float64)
    day = 0.5 - 0.5 * np.cos(2.0 * np.pi * h / 24.0)  # 0 at midnight, 1 at noon
    level = workload.night_factor + (1.0 - workload.night_factor) * day
    for peak in workload.rush_hours:
        dist = np.minimum(np.abs(h - peak), 24.0 - np.abs(h - peak))
        level = level + workload.rush_peak_factor * np.exp(
            -0.5 * (dist / workload.rush_width_h) ** 2
        )
    return np.asarray(level, dtype=np.float64)


def draw_episodes(
    workload: WorkloadConfig,
    shape: tuple[int, int],
    duration_s: float,
    rng: np.random.Generator,
) -> list[Episode]:
    """The run's ground-truth episodes (Poisson per kind), in onset order: shared by every
    world model, so that the native and the SUMO world face the same anomalies."""
    rates = workload.anomalies
    n_i, n_a = shape
    last_onset = max(WARMUP_S, duration_s - COOLDOWN_S)
    hours = (last_onset - WARMUP_S) / 3600.0
    out: list[Episode] = []
    kinds = (
        (EpisodeKind.INCIDENT, rates.incident_per_hour, rates.incident_duration_s),
        (EpisodeKind.SURGE, rates.surge_per_hour, rates.surge_duration_s),
        (EpisodeKind.EMERGENCY, rates.emergency_per_hour, rates.emergency_duration_s),
    )
    for kind, rate, (d_lo, d_hi) in kinds:
        count = int(rng.poisson(rate * n_i * hours))
        onsets = rng.uniform(WARMUP_S, last_onset, size=count)
        lengths = rng.uniform(d_lo, d_hi, size=count)
        where_i = rng.integers(0, n_i, size=count)
        where_a = rng.integers(0, n_a, size=count)
        for k in range(count):
            out.append(
                Episode(
                    id=0,
                    kind=kind,
                    intersection=int(where_i[k]),
                    approach=int(where_a[k]),
                    onset=float(onsets[k]),
                    end=float(min(duration_s, onsets[k] + lengths[k])),
                )
            )
    out.sort(key=lambda e: (e.onset, e.kind, e.intersection, e.approach))
    return [
        Episode(i, e.kind, e.intersection, e.approach, e.onset, e.end) for i, e in enumerate(out)
    ]


class TrafficWorld:
    """Queues at ``intersections x approaches`` stop lines under two-phase fixed-time signals."""

    def __init__(
        self,
        city: CityConfig,
        workload: WorkloadConfig,
        intersections: int,
        start_epoch_s: float,
        duration_s: float,
        rng: np.random.Generator,
    ) -> None:
        self.city = city
        self.workload = workload
        self.start_epoch_s = start_epoch_s
        self.rng = rng
        n_i, n_a = intersections, city.approaches
        self.shape = (n_i, n_a)
        self.lanes = np.full(self.shape, city.lanes_per_approach, dtype=np.int64)
        self.capacity_veh = (city.storage_m * self.lanes // city.vehicle_spacing_m).astype(np.int64)
        self.queue: IntArray = np.zeros(self.shape, dtype=np.int64)
        self.queue_low: IntArray = np.zeros(self.shape, dtype=np.int64)
        self.held: IntArray = np.zeros(self.shape, dtype=np.int64)
        self.arrived: IntArray = np.zeros(self.shape, dtype=np.int64)
        self.departed: IntArray = np.zeros(self.shape, dtype=np.int64)
        self._credit: FloatArray = np.zeros(self.shape, dtype=np.float64)
        self.phase_of_approach = np.arange(n_a) % 2
        # A random heterogeneity per approach (main roads vs side streets), fixed for the run.
        self.demand_weight: FloatArray = rng.uniform(*DEMAND_WEIGHT_RANGE, size=self.shape)
        self.offset_s: FloatArray = rng.uniform(0.0, workload.cycle_s, size=n_i)
        effective = workload.cycle_s - workload.lost_time_s
        self.green_split: FloatArray = np.full((n_i, 2), 0.5)
        self._effective_green = effective
        self.arrival_factor: FloatArray = np.ones(self.shape)
        self.capacity_factor: FloatArray = np.ones(self.shape)
        self.emergency: BoolArray = np.zeros(self.shape, dtype=np.bool_)
        self.incident: BoolArray = np.zeros(self.shape, dtype=np.bool_)
        self.episodes: list[Episode] = self._draw_episodes(duration_s)
        self._active: list[Episode] = []
        self._pending = sorted(self.episodes, key=lambda e: e.onset)
        self._pending_idx = 0
        self.recovered_at: dict[int, float] = {}
        """Episode id -> when its approach was back to its onset level with nothing held."""
        self._onset_queue: dict[int, int] = {}
        self._recovering: list[Episode] = []
        for k in range(int(PREROLL_S)):
            self.advance(float(k) - PREROLL_S, 1.0)

    # -- ground truth -----------------------------------------------------------------

    def _draw_episodes(self, duration_s: float) -> list[Episode]:
        return draw_episodes(self.workload, self.shape, duration_s, self.rng)

    def _apply_episodes(self, t: float) -> None:
        """Start and end episodes whose time has come, then rebuild the effect arrays."""
        changed = False
        while (
            self._pending_idx < len(self._pending) and self._pending[self._pending_idx].onset <= t
        ):
            e = self._pending[self._pending_idx]
            self._active.append(e)
            self._onset_queue[e.id] = int(self.queue[e.intersection, e.approach])
            self._pending_idx += 1
            changed = True
        still = [e for e in self._active if e.end > t]
        if len(still) != len(self._active):
            self._recovering += [e for e in self._active if e.end <= t]
            self._active = still
            changed = True
        if self._recovering:
            self._check_recovery(t)
        if not changed:
            return
        self.arrival_factor.fill(1.0)
        self.capacity_factor.fill(1.0)
        self.emergency.fill(False)
        self.incident.fill(False)
        rates = self.workload.anomalies
        for e in self._active:
            where = (e.intersection, e.approach)
            if e.kind is EpisodeKind.INCIDENT:
                self.capacity_factor[where] = rates.incident_capacity_left
                self.incident[where] = True
            elif e.kind is EpisodeKind.SURGE:
                self.arrival_factor[where] = rates.surge_factor
            elif e.kind is EpisodeKind.EMERGENCY:
                self.emergency[where] = True

    def _check_recovery(self, t: float) -> None:
        left = []
        for e in self._recovering:
            where = (e.intersection, e.approach)
            back = self.queue[where] <= self._onset_queue[e.id] + RECOVERY_MARGIN_VEH
            if back and self.held[where] == 0:
                self.recovered_at[e.id] = t
            else:
                left.append(e)
        self._recovering = left

    def effect_end(self, e: Episode) -> float:
        """When the episode's effect ended: its approach's recovery, or the run's end."""
        if e.kind is EpisodeKind.EMERGENCY or e.kind is EpisodeKind.CAMERA_FAULT:
            return e.end
        return max(e.end, self.recovered_at.get(e.id, float("inf")))

    # -- physics ----------------------------------------------------------------------

    def hour_of_day(self, t: float) -> float:
        return ((self.start_epoch_s + t) % 86400.0) / 3600.0

    def arrival_rate_per_s(self, t: float) -> FloatArray:
        """Expected arrivals per second on every approach at time ``t``."""
        base = self.workload.base_rate_veh_per_h / 3600.0
        level = float(diurnal_factor(self.hour_of_day(t), self.workload))
        return base * level * self.demand_weight * self.arrival_factor

    def green_mask(self, t: float) -> BoolArray:
        """Which approaches have green at ``t`` (two phases, lost time split between them)."""
        cycle = self.workload.cycle_s
        lost_half = self.workload.lost_time_s / 2.0
        pos = (t + self.offset_s) % cycle  # (I,)
        g0 = self.green_split[:, 0] * self._effective_green
        g1 = self.green_split[:, 1] * self._effective_green
        phase0 = pos < g0
        start1 = g0 + lost_half
        phase1 = (pos >= start1) & (pos < start1 + g1)
        return np.where(self.phase_of_approach[None, :] == 0, phase0[:, None], phase1[:, None])

    def set_green_split(self, intersection: int, split_phase0: float) -> None:
        """Adopt a new signal plan (e.g. one agreed by consensus); clamped to [0.1, 0.9]."""
        s = min(0.9, max(0.1, split_phase0))
        self.green_split[intersection] = (s, 1.0 - s)

    def advance(self, t: float, dt: float) -> None:
        """Move the world from ``t`` to ``t + dt``: arrivals, discharge, spill-back."""
        self._apply_episodes(t)
        lam = self.arrival_rate_per_s(t) * dt
        new = self.rng.poisson(lam).astype(np.int64)
        self.arrived += new
        # Vehicles held upstream by spill-back get the first chance to enter.
        self.held += new
        room = self.capacity_veh - self.queue
        entering = np.minimum(self.held, room)
        self.held -= entering
        self.queue += entering
        # Saturation-flow discharge during green; unused green is not banked across red.
        green = self.green_mask(t)
        sat = self.workload.saturation_flow_veh_per_h_per_lane / 3600.0
        flow = sat * self.lanes * self.capacity_factor * dt
        self._credit = np.where(green, self._credit + flow, 0.0)
        can_go = np.floor(self._credit).astype(np.int64)
        leaving = np.minimum(self.queue, can_go)
        self.queue -= leaving
        self.departed += leaving
        self._credit -= leaving
        self._credit = np.where(self.queue == 0, np.minimum(self._credit, 1.0), self._credit)
        np.minimum(self.queue_low, self.queue, out=self.queue_low)

    # -- views ------------------------------------------------------------------------

    @property
    def joined(self) -> IntArray:
        """Vehicles that have arrived on each approach so far (the World's name for them)."""
        return self.arrived

    def queue_m(self) -> FloatArray:
        """Queue length in metres (vehicles spread over the approach's lanes)."""
        return self.queue * self.city.vehicle_spacing_m / self.lanes

    def wait_s(self, t: float) -> FloatArray:
        """Mean wait by Little's law: vehicles queued over the current arrival rate."""
        rate = np.maximum(self.arrival_rate_per_s(t), 1e-3)
        return np.asarray(self.queue / rate, dtype=np.float64)

    def in_system(self) -> IntArray:
        """Vehicles in the modelled system (queued + held upstream)."""
        return self.queue + self.held
