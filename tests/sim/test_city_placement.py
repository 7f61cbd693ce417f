"""A placed city: with ``city.origin`` set, every simulated camera's heartbeat names where
it stands (the operator's map draws from it) and the bytes are counted; unset, nothing
changes, so the results of runs that do not place nodes stay as they were."""

from __future__ import annotations

from collections.abc import Callable

from edgeqi.protocol import Heartbeat, Message
from experiments.loadtest.live_city import city_scenario
from sim.runner import PolicySimulation
from sim.scenario_config import ScenarioConfig

Make = Callable[..., ScenarioConfig]
ORIGIN = "city.origin={lat:48.137,lon:11.575}"


def _heartbeats(scn: ScenarioConfig) -> tuple[PolicySimulation, list[Heartbeat]]:
    sim = PolicySimulation(scn, "stream_all", record_queues=False)
    sent: list[Message] = []
    sim.sink = lambda _k, m: sent.append(m)
    sim.run()
    return sim, [m for m in sent if isinstance(m, Heartbeat)]


def test_placed_cameras_send_their_location_around_their_junction(scenario: Make) -> None:
    scn = scenario("city=small", "nodes=8", "duration_s=120", ORIGIN)
    _, beats = _heartbeats(scn)
    placed = {m.node_id: m for m in beats}
    assert len(placed) == 8
    assert all(m.location is not None and m.approach for m in placed.values())
    by_junction: dict[str, set[tuple[float, float]]] = {}
    for m in placed.values():
        assert m.location is not None
        by_junction.setdefault(m.intersection or "", set()).add((m.location.lat, m.location.lon))
    assert len(by_junction) == 2, "two intersections of four cameras"
    assert all(len(points) == 4 for points in by_junction.values()), "each camera its own point"
    a, b = (sorted(p) for p in by_junction.values())
    assert a != b, "the two junctions stand apart"
    north = next(m for m in placed.values() if m.approach == "N")
    south = next(
        m for m in placed.values() if m.approach == "S" and m.intersection == north.intersection
    )
    assert north.location is not None and south.location is not None
    assert north.location.lat > south.location.lat


def test_unplaced_city_sends_no_location_and_counts_the_same_bytes(scenario: Make) -> None:
    plain, beats = _heartbeats(scenario("city=small", "duration_s=120"))
    assert beats and all(m.location is None and m.approach is None for m in beats)
    placed, _ = _heartbeats(scenario("city=small", "duration_s=120", ORIGIN))
    plain_hb, placed_hb = (
        s.collector.messages_frame().query("kind == 'heartbeat'")["payload_bytes"]
        for s in (plain, placed)
    )
    assert len(plain_hb) == len(placed_hb)
    assert placed_hb.sum() > plain_hb.sum(), "a place costs bytes on the modelled network"


def test_the_live_demo_city_is_placed_on_the_map() -> None:
    scn = city_scenario(8, 60.0, "mqtt://127.0.0.1:1")
    assert scn.city.origin is not None
