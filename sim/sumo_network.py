"""The SUMO road network of a city and which lanes each camera-watched approach is.

Generated: ``netgenerate --grid`` with ``cols x rows >= intersections`` signalised
junctions, every block and every arm into the grid ``storage_m`` long, with the city's
lanes per approach, cached by config digest (so the same city reuses one file). Or a
user ``.net.xml``, whose traffic-light junctions, sorted by id, are the city's
intersections. An approach (N, E, S, W) is the incoming edge whose upstream end lies in
that direction from the junction; its lanes are what the approach's cameras see.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import sumo_tools
from sim.scenario_config import ScenarioConfig

GRID_FILE = "grid.net.xml"


@dataclass(frozen=True, slots=True)
class Approach:
    """One watched approach: its incoming edge and lanes, and a route straight through."""

    edge: str
    lanes: tuple[str, ...]
    through: tuple[str, str] | None
    """Incoming edge and the outgoing edge straight ahead (surge and emergency routes)."""


EMPTY = Approach(edge="", lanes=(), through=None)


@dataclass(frozen=True, slots=True)
class CityNetwork:
    path: Path
    tls: tuple[str, ...]
    """Traffic-light id of each city intersection."""
    approaches: tuple[tuple[Approach, ...], ...]
    """``[intersection][approach]``: N, E, S, W."""
    link_approach: tuple[tuple[int, ...], ...]
    """``[intersection][link index]``: which approach each signal link serves (-1: none)."""
    source_edges: tuple[str, ...]
    """Edges where traffic enters the network (randomTrips' fringe): they size and weight
    the demand."""

    @property
    def sources(self) -> int:
        return max(1, len(self.source_edges))


def grid_shape(intersections: int) -> tuple[int, int]:
    """Columns and rows of the smallest near-square grid holding the intersections."""
    cols = math.ceil(math.sqrt(intersections))
    return cols, math.ceil(intersections / cols)


def generate_grid(scn: ScenarioConfig) -> Path:
    """The city's grid network, built once per distinct city and SUMO version."""
    city = scn.city
    cols, rows = grid_shape(scn.intersections)
    args = [
        "--grid",
        f"--grid.x-number={cols}",
        f"--grid.y-number={rows}",
        f"--grid.length={city.storage_m}",
        f"--grid.attach-length={city.storage_m}",
        f"--default.lanenumber={city.lanes_per_approach}",
        f"--default.speed={scn.world.speed_mps}",
        "--tls.guess=true",
        "--no-turnarounds=true",
        f"--seed={scn.seed}",
    ]
    folder = sumo_tools.cache_dir("grid", {"args": args})
    path = folder / GRID_FILE
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{GRID_FILE}.{os.getpid()}"
    sumo_tools.run_checked(
        [sumo_tools.binary("netgenerate"), *args, "--output-file", str(partial)], folder
    )
    partial.replace(path)  # atomic: concurrent runs of one city never read half a file
    return path


def approach_index(dx: float, dy: float) -> int:
    """0..3 for N, E, S, W: the compass direction of ``(dx, dy)`` from the junction."""
    bearing = math.degrees(math.atan2(dx, dy)) % 360.0  # 0 = north, clockwise
    return round(bearing / 90.0) % 4


def load_city(scn: ScenarioConfig) -> CityNetwork:
    """The network file and the approach lanes of each of the city's intersections."""
    path = Path(scn.world.net_file) if scn.world.net_file else generate_grid(scn)
    if not path.exists():
        raise ValueError(f"world.net_file: {path} does not exist")
    net = sumo_tools.sumolib().net.readNet(str(path))
    lights = sorted(net.getTrafficLights(), key=lambda t: t.getID())
    if len(lights) < scn.intersections:
        raise ValueError(
            f"world.net_file: {path} has {len(lights)} traffic-light junctions, "
            f"the city needs {scn.intersections}"
        )
    tls, approaches, links = [], [], []
    for light in lights[: scn.intersections]:
        per_dir: dict[int, tuple[float, Any]] = {}
        link_edge: dict[int, str] = {}
        for in_lane, _out_lane, index in light.getConnections():
            edge = in_lane.getEdge()
            link_edge[index] = edge.getID()
            here = edge.getToNode().getCoord()
            there = edge.getFromNode().getCoord()
            dx, dy = there[0] - here[0], there[1] - here[1]
            a = approach_index(dx, dy)
            off_axis = abs(math.remainder(math.degrees(math.atan2(dx, dy)), 90.0))
            if a not in per_dir or off_axis < per_dir[a][0]:
                per_dir[a] = (off_axis, edge)
        row = []
        edge_approach: dict[str, int] = {}
        for a in range(4):
            if a not in per_dir:
                row.append(EMPTY)
                continue
            edge = per_dir[a][1]
            edge_approach[edge.getID()] = a
            row.append(_approach(edge))
        tls.append(light.getID())
        approaches.append(tuple(row))
        n_links = max(link_edge, default=-1) + 1
        links.append(tuple(edge_approach.get(link_edge.get(k, ""), -1) for k in range(n_links)))
    sources = sorted(
        str(e.getID()) for e in net.getEdges() if not e.getIncoming() and e.allows("passenger")
    )
    return CityNetwork(path, tuple(tls), tuple(approaches), tuple(links), tuple(sources))


def _approach(edge: Any) -> Approach:
    lanes = tuple(str(lane.getID()) for lane in edge.getLanes())
    through = None
    for out_edge, conns in edge.getOutgoing().items():
        if any(c.getDirection() == "s" for c in conns):
            through = (str(edge.getID()), str(out_edge.getID()))
    return Approach(edge=str(edge.getID()), lanes=lanes, through=through)
