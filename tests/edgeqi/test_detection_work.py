"""Detection work follows the scene, and Algorithm 1's reduced mode cuts its cost.

A window's detection costs the profile's latency per frame plus ``per_object_s`` per
object and frame, budgeted from the previous window's count; reduced mode scales both
by the reduced/full latency ratio and runs at reduced power.
"""

from __future__ import annotations

import dataclasses

from edgeqi.node import EdgeNode
from tests.edgeqi.test_node import PROFILE, Window, make, run

CROWD = dataclasses.replace(PROFILE, per_object_s=0.005)


def per_frame(objects: float) -> float:
    return CROWD.full_latency_s + CROWD.per_object_s * objects


def _detections(node: EdgeNode, vehicles: tuple[float, float], soc: float) -> list[float]:
    """Joules of every detection the node ran after the first (budgeted) window."""
    outs = run(node, [Window(vehicles)] * 20, soc=soc)
    return [
        d.energy_j
        for out in outs[1:]
        for d in out.decisions
        if d.task.name == "detect" and d.outcome.value.startswith("run")
    ]


def test_a_crowded_scene_costs_detection_energy_in_proportion_to_its_objects() -> None:
    empty = _detections(make(profile=CROWD)[0], (0.0, 0.0), soc=0.8)
    crowded = _detections(make(profile=CROWD)[0], (20.0, 20.0), soc=0.8)
    assert len(empty) == len(crowded) == 19
    assert abs(crowded[0] / empty[0] - per_frame(40) / per_frame(0)) < 1e-9
    assert abs(crowded[0] - 4 * per_frame(40) * CROWD.full_w) < 1e-9


def test_reduced_mode_lowers_energy_per_detection() -> None:
    full = _detections(make(profile=CROWD)[0], (20.0, 20.0), soc=0.8)
    reduced = _detections(make(profile=CROWD)[0], (20.0, 20.0), soc=0.1)
    ratio = (CROWD.reduced_latency_s * CROWD.reduced_w) / (CROWD.full_latency_s * CROWD.full_w)
    assert abs(reduced[0] / full[0] - ratio) < 1e-9, "latency and object work both scale"
    assert reduced[0] < 0.5 * full[0]


def test_a_slow_board_misses_critical_deadlines_in_a_crowd_only() -> None:
    slow = dataclasses.replace(PROFILE, full_latency_s=0.2, per_object_s=0.02)
    quiet, _ = make(profile=slow)
    run(quiet, [Window((2.0, 2.0))] * 30)
    assert quiet.scheduler.stats.critical_missed == 0
    busy, _ = make(profile=slow)
    run(busy, [Window((2.0, 2.0))] * 10 + [Window((15.0, 15.0))] * 20)
    s = busy.scheduler.stats
    assert s.critical_missed > 0, "4 x (0.2 + 30 x 0.02) s = 3.2 s of work per 2-s window"
    assert s.missed_by_priority[0] + s.dropped_by_priority[0] == s.critical_missed
    assert busy.scheduler.busy_until < 1_700_000_000.0 + 2.0 * 30 + 4.0, "backlog stays bounded"
