"""Layer 5 in the field decides what the simulator decides (issue 15: one core for both).

The field driver (:class:`hardware.cluster.CameraCluster`) runs here over an in-memory
broker behind paho's client interface (:mod:`tests.edgeqi.consensus.fake_mqtt`), on a clock
the test moves, so its own code path (MQTT client, inbox, stepping) is what decides.
The first three tests each failed on the two copies this replaced: the field paired
phases by sorted approach names, planned with half the saturation flow and never
excluded a suspected liar from coverage.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as paho_client
import pytest
import yaml

from edgeqi.consensus.agreement import webster_plan
from edgeqi.consensus.cycle import CycleOutcome, CycleParams
from experiments.runs.compose import compose_scenario
from experiments.tools.keys import generate
from experiments.tools.provision import device_section
from hardware.cluster import CameraCluster
from hardware.node_config import load
from sim.consensus_driver import ConsensusLayer
from sim.runner import PolicySimulation
from sim.scoring import node_name
from tests.edgeqi.consensus.fake_mqtt import FakeBroker
from tests.edgeqi.consensus.harness import keys_for

CYCLE_S = 90.0
APPROACHES = ("N", "E", "S", "W")
MEMBERS = tuple(node_name(k) for k in range(4))
SEED = 3


@dataclass
class Clock:
    t: float = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    b = FakeBroker()
    monkeypatch.setattr(paho_client, "Client", b.client)
    return b


Stream = Mapping[int, Mapping[str, Mapping[str, float]]]
"""cycle -> camera -> approach -> vehicles: what each camera would report if assigned."""


@dataclass
class Field:
    """Four field nodes of one intersection over the fake broker, each seeing everything.

    Keys are the ones the simulator derives for its seed, so that with the simulator's
    epoch at zero the two runtimes sign and propose byte-identical reports.
    """

    broker: FakeBroker
    stream: Stream
    params: CycleParams = field(default_factory=CycleParams)
    clock: Clock = field(default_factory=Clock)
    clusters: list[CameraCluster] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.clusters:  # built by the test (from node.yaml files)
            return
        keys = keys_for(MEMBERS, secret=f"edgeqi-sim-{SEED}")
        public = {m: k.public for m, k in keys.items()}
        visible = dict.fromkeys(MEMBERS, APPROACHES)
        for m in MEMBERS:
            self.clusters.append(
                CameraCluster(
                    "i0000",
                    MEMBERS,
                    keys[m],
                    public,
                    visible,
                    self.observer(m),
                    "fake",
                    1883,
                    params=self.params,
                    clock=self.clock,
                )
            )

    def observer(self, m: str) -> Any:
        def observe() -> Mapping[str, float]:
            return self.stream[int(self.clock.t // CYCLE_S)][m]

        return observe

    def run_cycle(self, cycle: int) -> None:
        """Start ``cycle`` on every node and step them until no message is left."""
        self.clock.t = cycle * CYCLE_S
        for _ in range(100):
            for c in self.clusters:
                c.step(0.0)
            if all(c.mqtt._inbox.empty() for c in self.clusters):
                return
        raise AssertionError("the cluster did not settle")

    def close(self) -> None:
        for c in self.clusters:
            c.close()


def steady(queues: Mapping[str, float], liar: str | None = None, factor: float = 1.0) -> Stream:
    """The same queues every cycle for every camera; ``liar`` multiplies its by ``factor``."""

    def of(m: str) -> dict[str, float]:
        return {a: v * (factor if m == liar else 1.0) for a, v in queues.items()}

    return {c: {m: of(m) for m in MEMBERS} for c in range(200)}


def test_field_groups_north_south_against_east_west_as_the_simulated_signal(
    broker: FakeBroker,
) -> None:
    """N and S share a phase, E and W the other (sorted names would pair E with S)."""
    f = Field(broker, steady({"N": 40.0, "E": 4.0, "S": 40.0, "W": 4.0}))
    try:
        f.run_cycle(101)
        plans = {o.plan for c in f.clusters for o in c.outcomes}
        assert len(plans) == 1
        assert plans.pop().split_phase0 == 0.9  # N/S carry ten times E/W: clamped share
    finally:
        f.close()


def test_field_plan_uses_the_simulators_saturation_flow_by_default(broker: FakeBroker) -> None:
    """1800 veh/h/lane on 2 lanes: 1 veh/s, as the simulator's default workload and city."""
    f = Field(broker, steady({"N": 40.0, "E": 20.0, "S": 40.0, "W": 20.0}))
    try:
        f.run_cycle(101)
        plan = f.clusters[0].outcomes[0].plan
        assert plan == webster_plan([40.0, 20.0], 1.0, CYCLE_S, 8.0)
        assert plan.cycle_s == 51.0
    finally:
        f.close()


def test_field_excludes_a_suspected_liar_from_the_next_coverage(broker: FakeBroker) -> None:
    """An audit cycle (every camera watches everything) exposes an inflating camera; the
    next cycle's coverage then gives it nothing to watch alone."""
    liar = MEMBERS[3]
    f = Field(broker, steady(dict.fromkeys(APPROACHES, 10.0), liar=liar, factor=4.0))
    try:
        f.run_cycle(100)  # 100 % audit_every == 0: an audit cycle
        outcomes = [c.outcomes[-1] for c in f.clusters]
        assert {o.cycle for o in outcomes} == {100}
        by_member = {c.replica.id: c for c in f.clusters}
        assert by_member[liar].assigned == ()
        watched = sorted(a for c in f.clusters for a in c.assigned)
        assert watched == sorted(APPROACHES)
    finally:
        f.close()


def test_field_catches_a_liar_that_inflates_each_report_a_little_and_drops_it(
    broker: FakeBroker,
) -> None:
    """Inflating 10 vehicles by 30 % strays 3 vehicles, under the old one-shot tolerance of
    6 (which never suspected it); accumulated over two decisions it is caught, and from the
    third cycle on the three honest cameras watch every approach without it."""
    liar = MEMBERS[3]
    params = CycleParams(robust_coverage=True)
    f = Field(broker, steady(dict.fromkeys(APPROACHES, 10.0), liar=liar, factor=1.3), params)
    try:
        f.run_cycle(101)
        assert all(c.outcomes[-1].suspects == frozenset() for c in f.clusters)
        f.run_cycle(102)
        assert all(c.outcomes[-1].suspects == {liar} for c in f.clusters)
        by_member = {c.replica.id: c for c in f.clusters}
        assert by_member[liar].assigned == ()
        assert all(sorted(by_member[m].assigned) == sorted(APPROACHES) for m in MEMBERS[:3])
        f.run_cycle(103)
        o = f.clusters[0].outcomes[-1]
        assert o.vehicles == dict.fromkeys(APPROACHES, 10.0)
        assert o.reporters == MEMBERS and dict(o.reports)[liar] == {}  # watches nothing
    finally:
        f.close()


def test_field_plans_with_the_saturation_flow_of_its_node_yaml(
    broker: FakeBroker, tmp_path: Path
) -> None:
    """The consensus section of ``node.yaml`` sets the rules; unset ones are the simulator's."""
    generate(tmp_path / "keys", list(MEMBERS))
    clock = Clock()
    stream = steady({"N": 40.0, "E": 20.0, "S": 40.0, "W": 20.0})
    clusters = []
    for m in MEMBERS:
        node_yaml = {
            "node_id": m,
            "intersection": "i0000",
            "camera": {"source": 0},
            "model": {"full": "ssdlite-person"},
            "broker": {"url": "mqtt://127.0.0.1:1883"},
            "queue": {"path": "queue.db"},
            "power": {"device": device_section("jetson_nano_10w")},
            "cycle_s": CYCLE_S,
            "consensus": {
                "key_file": f"keys/{m}.key",
                "directory_file": "keys/directory.json",
                "peers": list(MEMBERS),
                "saturation_flow_veh_per_h_per_lane": 900.0,
            },
        }
        path = tmp_path / f"{m}.yaml"
        path.write_text(yaml.safe_dump(node_yaml))
        cfg = load(path)
        assert cfg.consensus is not None
        assert cfg.consensus.lanes_per_approach == 2 and cfg.consensus.audit_every == 5

        def observe(m: str = m) -> Mapping[str, float]:
            return stream[int(clock.t // CYCLE_S)][m]

        clusters.append(CameraCluster.from_config(cfg, APPROACHES, observe, clock=clock))
    f = Field(broker, stream, clock=clock, clusters=clusters)
    try:
        f.run_cycle(101)
        plans = {o.plan for c in f.clusters for o in c.outcomes}
        assert plans == {webster_plan([40.0, 20.0], 0.5, CYCLE_S, 8.0)}  # 900 x 2 / 3600
    finally:
        f.close()


def recorded_stream(cycles: int, lie: float = 4.0) -> Stream:
    """Per cycle, per camera, per approach: a queue (a busy N/S, a lighter E/W) with each
    camera's counting noise; camera 3 multiplies its counts by ``lie`` from cycle 4 on."""
    rng = np.random.default_rng(20260302)
    stream: dict[int, dict[str, dict[str, float]]] = {}
    for c in range(cycles + 2):
        base = {"N": 30.0, "S": 24.0, "E": 9.0, "W": 12.0}
        truth = {a: max(0.0, v + rng.normal(0.0, 6.0)) for a, v in base.items()}
        stream[c] = {}
        for k, m in enumerate(MEMBERS):
            times = lie if k == 3 and c >= 4 else 1.0
            stream[c][m] = {a: max(0.0, v + rng.normal(0.0, 0.5)) * times for a, v in truth.items()}
    return stream


def decide_in_both(
    broker: FakeBroker,
    monkeypatch: pytest.MonkeyPatch,
    stream: Stream,
    cycles: int,
    overrides: tuple[str, ...] = (),
    params: CycleParams | None = None,
) -> dict[int, CycleOutcome]:
    """The stream through the simulator and through four field nodes; asserts that every
    field node derived the simulator's outcome cycle for cycle and returns those."""

    def measure(self: ConsensusLayer, k: int, t: float, truth: np.ndarray) -> dict[str, float]:
        return {a: stream[int(t // CYCLE_S)][node_name(k)][a] for a in self.assigned[k]}

    monkeypatch.setattr(ConsensusLayer, "measure", measure)
    scn = compose_scenario(
        [
            "progress=false",
            "city=small",
            "city.approaches_per_camera=4",
            "consensus=pbft",
            "network=wifi",
            "network.outage_per_node_hour=0",
            "policy.compare=[edgeqi]",
            f"seed={SEED}",
            f"duration_s={cycles * CYCLE_S + 30}",
            # Epoch zero: the field clock below is the simulator's, report timestamps too.
            "start_time='1970-01-01T00:00:00+00:00'",
            *overrides,
        ]
    )
    sim = PolicySimulation(scn, "edgeqi", record_queues=False)
    sim.run()
    assert sim.consensus is not None
    assert sim.consensus.params == (params or CycleParams())  # a node.yaml's defaults
    simulated = {o.cycle: o for o in sim.consensus.groups[0].outcomes}
    assert sorted(simulated) == list(range(1, cycles + 1))

    f = Field(broker, stream, params=params or CycleParams())
    try:
        for c in range(1, cycles + 1):
            f.run_cycle(c)

        def seen(o: CycleOutcome) -> CycleOutcome:
            return dataclasses.replace(o, decided_at=0.0)  # each runtime's own clock

        expected = [seen(simulated[c]) for c in range(1, cycles + 1)]
        for cluster in f.clusters:
            assert [seen(o) for o in cluster.outcomes] == expected
    finally:
        f.close()
    return simulated


def test_simulator_and_field_decide_the_same_cycle_for_cycle(
    broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One recorded report stream through both drivers: the same decisions (values,
    digests, sequence numbers), fused queues, plans, suspects and coverage every cycle."""
    simulated = decide_in_both(broker, monkeypatch, recorded_stream(13), 13)
    # The stream did exercise every rule: the liar is suspected in the audit cycles and
    # is given nothing to watch alone in the cycles after (each outcome's coverage is for
    # the next cycle; cycle 10 is an audit again); plans follow the queues.
    liar = MEMBERS[3]
    assert all(liar in simulated[c].suspects for c in (5, 10))
    liar_idle = [c for c, o in simulated.items() if o.coverage[liar] == ()]
    assert liar_idle == [5, 6, 7, 8, 10, 11, 12, 13]
    assert len({o.plan for o in simulated.values()}) > 5


def test_both_runtimes_accumulate_suspicion_alike_under_robust_coverage(
    broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three cameras on every approach every cycle, and a liar that inflates by only 20 %
    from cycle 4: both runtimes accumulate its deviation alike, suspect it in the same
    cycle, then fuse without it."""
    simulated = decide_in_both(
        broker,
        monkeypatch,
        recorded_stream(10, lie=1.2),
        10,
        ("consensus.robust_coverage=true",),
        CycleParams(robust_coverage=True),
    )
    liar = MEMBERS[3]
    caught = [c for c, o in simulated.items() if liar in o.excluded]
    assert caught and 4 < caught[0] <= 8 and caught == list(range(caught[0], 11))
    assert all(o.excluded <= {liar} for o in simulated.values())
    assert all(o.fused[a].robust for o in simulated.values() for a in o.fused)
    after = [c for c in simulated if c >= caught[0] and (c + 1) % 5]  # cycle 10: an audit
    assert after and all(simulated[c].coverage[liar] == () for c in after)


def _imported(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join({{m.split('.')[0] for m in sys.modules}}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stdout.split())


def test_the_field_cluster_reads_nothing_of_the_simulator() -> None:
    assert not _imported("hardware.cluster") & {"scenarios", "sim"}


def test_the_cycle_machine_is_pure_core() -> None:
    loaded = _imported("edgeqi.consensus.cycle")
    assert not loaded & {"sim", "hardware", "backend", "experiments", "scenarios", "paho"}
