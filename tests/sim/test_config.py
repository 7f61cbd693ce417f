"""A bad scenario is refused before the run starts, with the offending key named."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.runs.compose import compose_raw
from sim.scenario_config import ConfigError, ConsensusConfig, load_scenario


def test_default_composes_to_district() -> None:
    scn = load_scenario(compose_raw([]))
    assert scn.city.name == "district"
    assert scn.node_count == 100
    assert scn.policy.compare[0] == "edgeqi"


def test_nodes_override_rounds_up_to_whole_intersections() -> None:
    scn = load_scenario(compose_raw(["nodes=10"]))
    assert scn.intersections == 3
    assert scn.node_count == 12


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("policy.name=teleport", "policy.name"),
        ("workload.base_rate_veh_per_h=-5", "workload.base_rate_veh_per_h"),
        ("city.cameras_per_intersection=1", "city"),
        ("city.approaches_per_camera=6", "city"),
        ("network.loss=1.5", "network.loss"),
        ("policy.transmission.low_z=9", "policy.transmission"),
        ("energy.initial_soc=[0.9,0.1]", "energy"),
    ],
)
def test_invalid_values_name_their_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(compose_raw([override]))
    assert key in str(info.value)


def test_unknown_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="no_such_key"):
        compose_raw(["no_such_key=1"])


def test_misspelled_key_gets_did_you_mean_not_append_advice() -> None:
    with pytest.raises(ConfigError) as info:
        compose_raw(["workload.base_rate_veh_per_hr=5"])
    text = str(info.value)
    assert "did you mean workload.base_rate_veh_per_h" in text
    assert "+workload" not in text


@pytest.mark.parametrize(
    ("override", "key"),
    [
        (
            "workload.anomalies.incident_duration_s=[90,20]",
            "workload.anomalies.incident_duration_s",
        ),
        ("network.outage_duration_s=[300,30]", "network.outage_duration_s"),
        ("start_time=not-a-date", "start_time"),
        ("realtime.mode=fast", "realtime.mode"),
    ],
)
def test_reversed_ranges_bad_dates_and_enums_name_their_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(compose_raw([override]))
    assert key in str(info.value)


def test_start_time_without_offset_is_utc() -> None:
    naive = load_scenario(compose_raw(["start_time=2026-03-02T07:00:00"]))
    explicit = load_scenario(compose_raw(["start_time=2026-03-02T07:00:00+00:00"]))
    assert naive.start_epoch_s == explicit.start_epoch_s
    tokyo = load_scenario(compose_raw(["start_time=2026-03-02T16:00:00+09:00"]))
    assert tokyo.start_epoch_s == explicit.start_epoch_s


def test_fault_on_missing_node_is_refused() -> None:
    raw = compose_raw(["city=small", "faults=demo"])
    raw["faults"]["schedule"][0]["node"] = 99
    with pytest.raises(ConfigError, match="node 99"):
        load_scenario(raw)


def test_policy_groups_mirror_the_node_core_configs() -> None:
    from dataclasses import fields

    from edgeqi.scheduling import SchedulerConfig
    from edgeqi.transmission import TransmissionConfig
    from sim.scenario_config import SchedulingParams, TransmissionParams

    assert set(SchedulingParams.model_fields) == {f.name for f in fields(SchedulerConfig)} - {
        "constraint_aware"
    }
    assert set(TransmissionParams.model_fields) == {f.name for f in fields(TransmissionConfig)}
    assert TransmissionParams().model_dump() == {
        f.name: getattr(TransmissionConfig(), f.name) for f in fields(TransmissionConfig)
    }


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(1, 16), st.data())
def test_lying_cameras_are_the_last_k_of_every_intersection(
    intersections: int, cameras: int, data: st.DataObject
) -> None:
    k = data.draw(st.integers(0, cameras))
    cfg = ConsensusConfig(byzantine_per_intersection=k, lying_factor=4.0)
    liars = cfg.lying_cameras(intersections, cameras)
    nodes = [b.node for b in liars]
    assert len(nodes) == len(set(nodes)) == k * intersections
    assert all(0 <= n < intersections * cameras for n in nodes)
    for i in range(intersections):
        mine = sorted(n - i * cameras for n in nodes if n // cameras == i)
        assert mine == list(range(cameras - k, cameras))
    # The view-0 primary (camera 0) lies only when every camera does.
    assert any(n % cameras == 0 for n in nodes) == (k == cameras)
    assert all(b.behaviour == "inflate" and b.factor == 4.0 for b in liars)


def test_more_liars_than_cameras_is_refused() -> None:
    with pytest.raises(ConfigError, match="byzantine_per_intersection"):
        load_scenario(
            compose_raw(["city=small", "consensus=pbft", "consensus.byzantine_per_intersection=5"])
        )
