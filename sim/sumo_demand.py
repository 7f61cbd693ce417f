"""Demand for the SUMO world: randomTrips.py trip files, one per vehicle class.

The native world's demand is ``base_rate_veh_per_h`` per approach at the daily mean
level, shaped by the diurnal and rush-hour profile. Here every source edge of the
network (its fringe) emits that rate, split by ``world.vehicle_mix``; the profile enters
as one insertion rate per ``demand_slice_s`` (randomTrips splits ``[begin, end]`` into
equal intervals, one per rate), at the level of the slice's middle. Trips start and end
on the fringe (``--fringe-factor max``), so they cross the grid. Like the native world's
approaches, source edges are not equal: each gets a weight drawn from
``DEMAND_WEIGHT_RANGE`` by the run's seed (randomTrips' source weights file), so some
approaches carry more traffic than others and an adaptive signal has something to adapt
to. Seeded, and cached by the digest of everything that shapes them.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from sim import sumo_tools
from sim.scenario_config import ScenarioConfig
from sim.sumo_network import CityNetwork
from sim.traffic import DEMAND_WEIGHT_RANGE, diurnal_factor

BINOMIAL_N = 4
"""randomTrips' ``--binomial``: departures per second ~ Binomial(4, rate/4), not evenly spaced."""


def slice_rates_per_h(
    scn: ScenarioConfig, city: CityNetwork, begin_epoch_s: float, span_s: float
) -> list[float]:
    """Vehicles per hour entering the whole network in each demand slice."""
    step = scn.world.demand_slice_s
    slices = max(1, math.ceil(span_s / step))
    rates = []
    for k in range(slices):
        hour = ((begin_epoch_s + (k + 0.5) * step) % 86400.0) / 3600.0
        level = float(diurnal_factor(hour, scn.workload))
        rates.append(round(scn.workload.base_rate_veh_per_h * city.sources * level, 3))
    return rates


def source_weights(scn: ScenarioConfig, city: CityNetwork) -> dict[str, float]:
    """Each source edge's demand weight, drawn by the run's seed (mean 1)."""
    draws = np.random.default_rng(scn.seed).uniform(*DEMAND_WEIGHT_RANGE, len(city.source_edges))
    return {e: round(float(w), 4) for e, w in zip(city.source_edges, draws, strict=True)}


def _write_source_weights(path: Path, weights: dict[str, float], end: float) -> None:
    """randomTrips' ``PREFIX.src.xml``: an edge's chance of being a trip's origin (written
    whole, then moved into place, as the trip files are)."""
    if path.exists():
        return
    # One element a line: randomTrips reads the file with sumolib's line-wise parse_fast.
    edges = "".join(f'    <edge id="{e}" value="{w}"/>\n' for e, w in weights.items())
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(
        f'<edgedata>\n  <interval begin="0" end="{end}">\n{edges}  </interval>\n</edgedata>\n'
    )
    partial.replace(path)


def trip_files(
    scn: ScenarioConfig, city: CityNetwork, begin_epoch_s: float, span_s: float
) -> list[Path]:
    """One trip file per vehicle class with a positive share, covering ``[0, span_s]``."""
    rates = slice_rates_per_h(scn, city, begin_epoch_s, span_s)
    end = len(rates) * scn.world.demand_slice_s
    weights = source_weights(scn, city)
    mix = {c: s for c, s in sorted(scn.world.vehicle_mix.items()) if s > 0}
    total = sum(mix.values())
    spec = {
        "net": str(city.path.resolve()),
        "rates": rates,
        "end": end,
        "mix": mix,
        "seed": scn.seed,
        "source_weights": weights,
    }
    folder = sumo_tools.cache_dir("demand", spec)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / "weights"
    _write_source_weights(Path(f"{prefix}.src.xml"), weights, end)
    out = []
    for k, (vclass, share) in enumerate(mix.items()):
        path = folder / f"{vclass}.trips.xml"
        out.append(path)
        if path.exists():
            continue
        partial = folder / f".{vclass}.{os.getpid()}.xml"
        per_class = [max(r * share / total, 1e-3) for r in rates]
        sumo_tools.run_checked(
            [
                sys.executable,
                str(sumo_tools.tool("randomTrips.py")),
                "--net-file",
                str(city.path),
                "--output-trip-file",
                str(partial),
                "--begin",
                "0",
                "--end",
                str(end),
                "--insertion-rate",
                *[f"{r:.3f}" for r in per_class],
                "--binomial",
                str(BINOMIAL_N),
                "--fringe-factor",
                "max",
                "--weights-prefix",
                str(prefix),
                "--vehicle-class",
                vclass,
                "--prefix",
                f"{vclass}_",
                "--trip-attributes",
                'departLane="best" departSpeed="max"',
                "--seed",
                str(scn.seed * 16 + k),
            ],
            folder,
        )
        partial.replace(path)
    return out
