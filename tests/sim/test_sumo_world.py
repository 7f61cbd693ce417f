"""world=sumo: a generated SUMO grid under the cameras, stepped through libsumo.

Small on purpose: one junction or a 2x2 grid, a few hundred simulated seconds (plus the
world's 900 s preroll), with networks and demand cached in a directory of the session.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from experiments.runs.results import SUMO_WALL_CLOCK_KEY, WALL_CLOCK_KEYS, summarise
from sim import sumo_demand
from sim.camera_quality import CameraQuality
from sim.runner import PolicySimulation, run_scenario
from sim.scenario_config import ConfigError, ScenarioConfig
from sim.sumo_demand import slice_rates_per_h, trip_files
from sim.sumo_network import CityNetwork, generate_grid, load_city
from sim.sumo_world import SumoWorld
from sim.synthetic_camera import CameraViews, DetectorModel, camera_coverage
from sim.traffic import EpisodeKind

Make = Callable[..., ScenarioConfig]
EPOCH_8AM = 8 * 3600.0


@pytest.fixture(scope="module", autouse=True)
def sumo_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        root = tmp_path_factory.mktemp("edgeqi-cache")
        mp.setenv("EDGEQI_CACHE", str(root))
        yield root


def _world(scn: ScenarioConfig, seed: int = 1) -> SumoWorld:
    return SumoWorld(scn, EPOCH_8AM, np.random.default_rng(seed))


def _body(path: Path) -> list[str]:
    """The file without its comments (SUMO's tools stamp the generation time in one)."""
    text = path.read_text()
    while "<!--" in text:
        a = text.index("<!--")
        text = text[:a] + text[text.index("-->", a) + 3 :]
    return [line for line in text.splitlines() if line.strip()]


def test_network_and_demand_are_deterministic_by_seed(
    scenario: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scn = scenario("city=small", "city.intersections=4", "world=sumo", "seed=3")
    nets, trips = [], []
    for run in ("a", "b"):
        monkeypatch.setenv("EDGEQI_CACHE", str(tmp_path / run))  # a cold cache each time
        net = generate_grid(scn)
        nets.append(_body(net))
        city = load_city(scn)
        trips.append([_body(p) for p in trip_files(scn, city, EPOCH_8AM, 1200.0)])
    assert nets[0] == nets[1]
    assert trips[0] == trips[1]
    assert len(city.tls) == 4 and all(len(ap.lanes) == 2 for row in city.approaches for ap in row)
    other = scenario("city=small", "city.intersections=4", "world=sumo", "seed=4")
    assert [_body(p) for p in trip_files(other, load_city(other), EPOCH_8AM, 1200.0)] != trips[0]


def test_vehicles_are_conserved_and_teleports_counted(scenario: Make) -> None:
    # The exit straight ahead of the N approach closed outright: vehicles that cannot enter
    # it for 20 s teleport (jump ahead on their route and go on), which SUMO counts.
    scn = scenario(
        "city=small", "city.intersections=4", "world=sumo", "duration_s=200",
        "world.time_to_teleport_s=20",
    )  # fmt: skip
    world = _world(scn)
    through = world.net.approaches[0][0].through
    assert through is not None
    for lane in range(world.traci.edge.getLaneNumber(through[1])):
        world.traci.lane.setMaxSpeed(f"{through[1]}_{lane}", 0.0)
    for t in range(200):
        world.advance(float(t), 1.0)
        assert world.departed == world.arrived + world.running() + world.in_teleport()
    figures = world.finish()
    assert figures["teleported"] > 0
    ends = figures["arrived"] + figures["running_at_end"] + figures["in_teleport_at_end"]
    assert figures["departed"] == ends
    assert min(figures["throughput_veh"].values()) > 0


def _incident_run(scenario: Make, length_s: float) -> tuple[float, int, int]:
    """Mean camera-measured vehicles on the first incident's approach over the 300 s from
    its onset, and where it was; ``length_s`` is how long the stalled vehicle stays."""
    scn = scenario(
        "city=small", "world=sumo", "duration_s=1200", "seed=2",
        "workload.anomalies.incident_per_hour=12",
        "workload.anomalies.surge_per_hour=0", "workload.anomalies.emergency_per_hour=0",
        f"workload.anomalies.incident_duration_s=[{length_s},{length_s}]",
    )  # fmt: skip
    world = _world(scn, seed=5)
    incident = next(e for e in world.episodes if e.kind is EpisodeKind.INCIDENT)
    coverage = camera_coverage(scn.city, 1)
    node_intersection = np.zeros(len(coverage), dtype=np.int64)
    detector = DetectorModel(scn.workload.detector, np.random.default_rng(9))
    quality = CameraQuality(scn.workload.detector, len(coverage), np.random.default_rng(10))
    watching = [(k, j) for k, row in enumerate(coverage) for j, a in enumerate(row)]
    watching = [(k, j) for k, j in watching if coverage[k][j] == incident.approach]
    seen = []
    for t in range(int(incident.onset) + 300):
        world.advance(float(t), 1.0)
        if t >= incident.onset and t % 2 == 0:
            views = CameraViews.observe(
                world, detector, quality, coverage, node_intersection, float(t)
            )
            seen += [float(views.vehicles_full[k, j]) for k, j in watching]
    world.finish()
    return float(np.mean(seen)), incident.intersection, incident.approach


def test_an_incident_raises_the_cameras_measured_queue(scenario: Make) -> None:
    blocked, i, a = _incident_run(scenario, 300.0)
    control, i2, a2 = _incident_run(scenario, 1.0)  # same draws; the vehicle stops for 1 s
    assert (i, a) == (i2, a2)
    assert blocked > control + 3.0, (blocked, control)


def test_an_agreed_plan_changes_sumos_programme(scenario: Make) -> None:
    scn = scenario("city=small", "world=sumo", "duration_s=300")
    world = _world(scn)
    tls = world.net.tls[0]
    tl = world.traci.trafficlight
    before = [p.duration for p in tl.getAllProgramLogics(tls)[0].phases]
    assert sum(before) == pytest.approx(scn.workload.cycle_s)
    world.set_green_split(0, 0.8)
    world.offset_s[0] = 30.0  # the green wave: cycles start at t = -30 s (mod 90 s)
    for t in range(200):
        world.advance(float(t), 1.0)
    after = [p.duration for p in tl.getAllProgramLogics(tls)[0].phases]
    green = world.programs[0].group
    ns = sum(d for d, g in zip(after, green, strict=True) if g == 0)
    ew = sum(d for d, g in zip(after, green, strict=True) if g == 1)
    assert world.plans_applied == 1
    assert world.offsets_applied == 1
    starts, phase = [], tl.getPhase(tls)
    for t in range(200, 400):
        world.advance(float(t), 1.0)
        if tl.getPhase(tls) == 0 and phase != 0:
            starts.append((t + 1) % scn.workload.cycle_s)
        phase = tl.getPhase(tls)
    assert len(starts) == 2
    # Within two 1-s steps: a cycle start is seen one step late and the plan restarts it.
    assert starts == pytest.approx([60.0, 60.0], abs=2.5)
    assert ns == pytest.approx(4 * ew, rel=0.05)
    assert sum(after) == pytest.approx(scn.workload.cycle_s, abs=0.5)
    world.finish()


def test_a_plan_adopted_every_cycle_keeps_its_split(scenario: Make) -> None:
    # Each plan rescales the junction's own programme: rescaling the one in force compounded
    # (0.3 adopted five times left N-S 0.3^5 of its green, and E-W the rest).
    scn = scenario("city=small", "world=sumo", "duration_s=500")
    world = _world(scn)
    for t in range(500):
        if t % 90 == 1:
            world.set_green_split(0, 0.3)
        world.advance(float(t), 1.0)
    phases = world.traci.trafficlight.getAllProgramLogics(world.net.tls[0])[0].phases
    green = world.programs[0].group
    ns = sum(p.duration for p, g in zip(phases, green, strict=True) if g == 0)
    ew = sum(p.duration for p, g in zip(phases, green, strict=True) if g == 1)
    assert world.plans_applied >= 4
    lost = scn.workload.cycle_s - world.programs[0].green_s  # SUMO's yellows
    assert ns == pytest.approx(0.3 * (scn.workload.cycle_s - lost), abs=0.2)
    assert ew == pytest.approx(0.7 * (scn.workload.cycle_s - lost), abs=0.2)
    world.finish()


def test_consensus_closes_the_loop_and_reports_traffic(scenario: Make) -> None:
    scn = scenario(
        "city=small", "world=sumo", "duration_s=400", "consensus=pbft",
        "policy.compare=[edgeqi]", "seed=3",
    )  # fmt: skip
    first = summarise(run_scenario(scn))
    traffic = first["traffic"]
    assert traffic["signals"] == "consensus plans"
    assert traffic["edgeqi"]["plans_applied"] >= 2
    assert traffic["fixed_time"]["plans_applied"] == 0
    assert traffic["edgeqi"]["delay_s_mean"] != traffic["fixed_time"]["delay_s_mean"]
    assert first["sim"][SUMO_WALL_CLOCK_KEY] > 0
    second = summarise(run_scenario(scn))
    for s in (first, second):
        for key in (*WALL_CLOCK_KEYS, SUMO_WALL_CLOCK_KEY):
            del s["sim"][key]
    assert first == second


def test_world_sumo_without_the_extra_names_it(
    scenario: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "libsumo", None)  # what an environment without it does
    with pytest.raises(ConfigError, match=r"\.\[sumo\]"):
        scenario("city=small", "world=sumo")
    assert scenario("city=small").world.name == "native"


def test_a_user_network_needs_a_light_per_intersection(scenario: Make) -> None:
    one_junction = generate_grid(scenario("city=small", "world=sumo"))
    city = load_city(scenario("city=small", "world=sumo", f"world.net_file={one_junction}"))
    assert city.tls == ("A0",) and city.sources == 4
    too_many = scenario(
        "city=small", "city.intersections=2", "world=sumo", f"world.net_file={one_junction}"
    )
    with pytest.raises(ValueError, match=r"world\.net_file: .* has 1 traffic-light junctions"):
        load_city(too_many)


def test_demand_follows_the_diurnal_profile(scenario: Make) -> None:
    scn = scenario("city=small", "world=sumo", "world.demand_slice_s=3600")
    city = load_city(scn)
    day = slice_rates_per_h(scn, city, 0.0, 24 * 3600.0)  # from midnight, one rate an hour
    assert len(day) == 24
    assert day[8] > 2 * day[3] and day[17] > 2 * day[3]  # rush hours against the night
    base = scn.workload.base_rate_veh_per_h * city.sources
    assert min(day) < base < max(day)


def test_agreed_plans_give_the_busier_phase_the_longer_green(
    scenario: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    # E-W carries twice N-S's traffic. A queue counted at the instant a cycle starts (when
    # SUMO's programme begins N-S green, so N-S has just waited through its red and E-W has
    # just been cleared) gave N-S up to 90 % of the green instead, and the plans lost to
    # fixed time; the cycle's demand (arrivals plus the standing queue) does not.
    def east_west_heavy(scn: ScenarioConfig, city: CityNetwork) -> dict[str, float]:
        return {e: 1.4 if e.startswith(("left", "right")) else 0.7 for e in city.source_edges}

    monkeypatch.setattr(sumo_demand, "source_weights", east_west_heavy)
    splits: list[float] = []
    adopt = SumoWorld.set_green_split

    def recorded(world: SumoWorld, intersection: int, split_phase0: float) -> None:
        splits.append(split_phase0)
        adopt(world, intersection, split_phase0)

    monkeypatch.setattr(SumoWorld, "set_green_split", recorded)
    scn = scenario(
        "city=small", "world=sumo", "duration_s=900", "consensus=pbft",
        "policy.compare=[edgeqi]", "seed=4",
    )  # fmt: skip
    traffic = summarise(run_scenario(scn))["traffic"]
    assert len(splits) >= 8
    assert np.mean(splits) < 0.42 and max(splits) < 0.7, splits  # E-W gets the longer green
    assert traffic["edgeqi"]["delay_s_mean"] <= traffic["fixed_time"]["delay_s_mean"]


def test_real_time_on_sumo_changes_no_result_only_the_pace(scenario: Make) -> None:
    base = ("city=small", "world=sumo", "duration_s=120", "seed=5", "policy.compare=[edgeqi]")
    virtual = PolicySimulation(scenario(*base), "edgeqi", record_queues=False).run()
    fast = scenario(*base, "realtime.mode=real", "realtime.speed=1000", "realtime.start_now=false")
    real = PolicySimulation(fast, "edgeqi", record_queues=False).run()
    assert real.metrics == virtual.metrics
    assert real.messages.equals(virtual.messages)
    assert real.realtime is not None and real.realtime["checks"] == 120
