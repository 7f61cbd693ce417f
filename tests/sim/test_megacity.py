"""The megacity preset is the metro city's geometry ten times over: 10,000 cameras."""

from __future__ import annotations

from experiments.runs.compose import compose_raw
from sim.scenario_config import load_scenario


def test_megacity_is_ten_thousand_cameras_in_a_hundred_districts() -> None:
    scn = load_scenario(compose_raw(["city=megacity"]))
    metro = load_scenario(compose_raw(["city=metro"]))
    assert scn.node_count == 10_000
    assert scn.intersections == 2_500
    assert scn.intersections // scn.city.intersections_per_district == 100
    same_geometry = ("cameras_per_intersection", "approaches", "lanes_per_approach")
    for key in (*same_geometry, "approaches_per_camera", "intersections_per_district"):
        assert getattr(scn.city, key) == getattr(metro.city, key), key
