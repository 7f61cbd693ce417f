"""The traffic world as the runner, the cameras and consensus see it, and the choice of model.

Two models satisfy :class:`World`: the native NumPy queue model (:mod:`sim.traffic`) and
Eclipse SUMO through libsumo (:mod:`sim.sumo_world`). Everything above the world (the
synthetic detector, the node core, consensus, scoring) reads only these members, so
switching ``world=sumo`` changes where the vehicles come from and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from sim.scenario_config import CityConfig, ScenarioConfig
from sim.traffic import Episode, TrafficWorld


class World(Protocol):
    """What a traffic model offers: per ``(intersection, approach)`` arrays, read each tick."""

    city: CityConfig
    episodes: list[Episode]
    queue: npt.NDArray[np.int64]
    """Vehicles queued at each stop line (the cameras' ground-truth count)."""
    queue_low: npt.NDArray[np.int64]
    """The shortest ``queue`` since its reader last reset it to ``queue``: the standing
    queue that the last green could not clear."""
    lanes: npt.NDArray[np.int64]
    capacity_veh: npt.NDArray[np.int64]
    """Vehicles a camera's view of each approach holds."""
    start_epoch_s: float
    emergency: npt.NDArray[np.bool_]
    incident: npt.NDArray[np.bool_]
    offset_s: npt.NDArray[np.float64]
    """Signal offset per intersection (the district committee's green wave writes it)."""
    phase_of_approach: npt.NDArray[np.int64]
    """Which of the plan's two phases serves each approach (0: N/S, 1: E/W)."""

    @property
    def joined(self) -> npt.NDArray[np.int64]:
        """Vehicles that have arrived on each approach so far (cumulative)."""

    def advance(self, t: float, dt: float) -> None: ...

    def wait_s(self, t: float) -> npt.NDArray[np.float64]: ...

    def effect_end(self, e: Episode) -> float: ...

    def hour_of_day(self, t: float) -> float: ...

    def set_green_split(self, intersection: int, split_phase0: float) -> None: ...


def build_world(scn: ScenarioConfig, start_epoch_s: float, rng: np.random.Generator) -> World:
    """The world ``scn.world.name`` asks for, seeded by ``rng`` (and ``scn.seed`` for SUMO)."""
    if scn.world.name == "native":
        return TrafficWorld(
            scn.city, scn.workload, scn.intersections, start_epoch_s, scn.duration_s, rng
        )
    from sim.sumo_world import SumoWorld

    return SumoWorld(scn, start_epoch_s, rng)


def traffic_section(
    scn: ScenarioConfig,
    worlds: dict[str, World],
    world_rng: Callable[[], np.random.Generator],
    start_epoch_s: float,
) -> dict[str, Any] | None:
    """Traffic engineers' figures per policy's world, beside a fixed-time SUMO run of the
    same demand and anomalies (``world_rng`` gives the policies' world stream afresh);
    ``None`` for the native world, whose summary stays as it was."""
    if scn.world.name != "sumo":
        return None
    from sim.sumo_world import SumoWorld, fixed_time_figures

    out: dict[str, Any] = {}
    sumo_s = 0.0
    for name, world in worlds.items():
        assert isinstance(world, SumoWorld)
        out[name] = world.finish()
        sumo_s += world.sumo_seconds
    adopting = scn.consensus.enabled and scn.consensus.adopt_plan
    out["fixed_time"] = (
        fixed_time_figures(scn, start_epoch_s, world_rng())
        if adopting
        else next(iter(out.values()))
    )
    out["sumo_wall_seconds"] = round(sumo_s, 3)
    """Wall time inside SUMO's steps for the policies' worlds (the baseline's excluded)."""
    out["signals"] = "consensus plans" if adopting else "fixed time"
    return out
