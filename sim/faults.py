"""Faults: camera faults, node crashes, battery deaths and link outages.

All of them are drawn up front from the seed (random ones as Poisson processes over
the run, scripted ones from the scenario), so every policy of a run meets exactly the
same faults at exactly the same times. Camera faults are ground-truth episodes: a
node should notice that its own camera went bad and say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario_config import ScenarioConfig
from sim.synthetic_camera import FAULT_REASONS
from sim.traffic import COOLDOWN_S, WARMUP_S, Episode, EpisodeKind


@dataclass(frozen=True, slots=True)
class FaultEvent:
    at: float
    kind: str  # "crash" | "link_outage" | "camera_fault" | "battery_death" | "partition"
    node: int
    duration_s: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FaultPlan:
    events: list[FaultEvent]
    camera_episodes: list[Episode]


def _poisson_events(
    rng: np.random.Generator,
    rate_per_node_hour: float,
    nodes: int,
    duration_s: float,
    span: tuple[float, float],
    kind: str,
) -> list[FaultEvent]:
    last = max(WARMUP_S, duration_s - COOLDOWN_S)
    hours = (last - WARMUP_S) / 3600.0
    count = int(rng.poisson(rate_per_node_hour * nodes * hours))
    at = rng.uniform(WARMUP_S, last, size=count)
    who = rng.integers(0, nodes, size=count)
    length = rng.uniform(span[0], span[1], size=count)
    reasons = rng.integers(0, len(FAULT_REASONS), size=count)
    return [
        FaultEvent(
            float(at[k]), kind, int(who[k]), float(length[k]), FAULT_REASONS[int(reasons[k])]
        )
        for k in range(count)
    ]


def _merge_camera_faults(events: list[FaultEvent]) -> list[FaultEvent]:
    """One fault per broken spell of a camera: a camera that is already broken cannot
    break again, so a fault starting inside another on the same node extends it (the node
    reports its camera once per spell, and scoring must not expect a second report)."""
    out: list[FaultEvent] = []
    open_at: dict[int, int] = {}  # node -> index in ``out`` of its latest camera fault
    for e in events:
        k = open_at.get(e.node)
        if e.kind == "camera_fault" and k is not None and e.at < out[k].at + out[k].duration_s:
            first = out[k]
            end = max(first.at + first.duration_s, e.at + e.duration_s)
            out[k] = FaultEvent(first.at, first.kind, first.node, end - first.at, first.reason)
            continue
        if e.kind == "camera_fault":
            open_at[e.node] = len(out)
        out.append(e)
    return out


def plan_faults(
    scn: ScenarioConfig, node_intersection: np.ndarray, first_id: int, rng: np.random.Generator
) -> FaultPlan:
    """Every fault of the run; camera-fault episodes are numbered from ``first_id``."""
    nodes, duration = scn.node_count, scn.duration_s
    anomalies = scn.workload.anomalies
    events = _poisson_events(
        rng,
        anomalies.camera_fault_per_node_hour,
        nodes,
        duration,
        anomalies.camera_fault_duration_s,
        "camera_fault",
    )
    events += _poisson_events(
        rng,
        scn.network.outage_per_node_hour,
        nodes,
        duration,
        scn.network.outage_duration_s,
        "link_outage",
    )
    restart = scn.faults.crash_restart_s or duration
    events += _poisson_events(
        rng, scn.faults.crash_per_node_hour, nodes, duration, (restart, restart), "crash"
    )
    for f in scn.faults.schedule:
        events.append(FaultEvent(f.at_s, f.kind, f.node, f.duration_s, FAULT_REASONS[0]))
    events.sort(key=lambda e: (e.at, e.kind, e.node))
    events = _merge_camera_faults(events)
    camera = [
        Episode(
            id=first_id + k,
            kind=EpisodeKind.CAMERA_FAULT,
            intersection=int(node_intersection[e.node]),
            approach=0,
            onset=e.at,
            end=min(duration, e.at + e.duration_s),
            node=e.node,
        )
        for k, e in enumerate(ev for ev in events if ev.kind == "camera_fault")
    ]
    return FaultPlan(events, camera)
