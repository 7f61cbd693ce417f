"""One simulated world advanced one observation window at a time, for the environments.

It is the runner's own :class:`~sim.runner.PolicySimulation` (the same world, cameras,
network, energy, faults and unchanged ``EdgeNode`` objects), with its SimPy processes run
window by window instead of to the end. Between two windows the agents' nodes are asked
for :meth:`~edgeqi.node.EdgeNode.policy_observation` and handed their next
:class:`~edgeqi.policy_hook.PolicyAction`: exactly what a node with a learned policy does
by itself at the end of each step, so a policy trained here runs the same in ``edgeqi
run policy=learned`` and on a field node.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import simpy
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from edgeqi.policy_hook import PolicyAction, PolicyObservation
from edgeqi.protocol import Message
from sim.collector import Collector
from sim.envs.reward import ReportJudge, WindowScore
from sim.runner import PolicySimulation
from sim.scenario_config import ScenarioConfig, load_scenario
from sim.scoring import node_name

BASE_OVERRIDES: tuple[str, ...] = ("duration_s=3600", "policy.compare=[edgeqi]")
"""An hour of the urban workload (anomalies several times an hour), one policy."""

_EPS_S = 1e-6


def compose_scenario(city: str, overrides: Sequence[str]) -> ScenarioConfig:
    """The scenario ``edgeqi run`` would build from ``overrides`` (Hydra composition of
    ``scenarios/``, validated), after ``city=CITY`` and :data:`BASE_OVERRIDES`."""
    first = [f"city={city}", *BASE_OVERRIDES]
    with initialize_config_module(config_module="scenarios", version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*first, *overrides])
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    scn = load_scenario({str(k): v for k, v in raw.items()})
    if scn.policy.name not in ("edgeqi", "learned"):
        raise ValueError(
            f"policy.name={scn.policy.name}: agents take EDGE-QI's decisions, so the other "
            "nodes run edgeqi (Algorithms 1 and 2) or learned (policy.model)"
        )
    return scn


class TallyCollector(Collector):
    """The run's collector, also counting each node's wire bytes and new reports."""

    def __init__(self, start_epoch_s: float, nodes: int) -> None:
        super().__init__(start_epoch_s)
        self.node_bytes = [0] * nodes

    def record(
        self,
        node: int,
        message: Message,
        sent_at: float,
        arrival: float | None,
        event_at: float,
        payload_bytes: int,
        wire_bytes: int,
        attempts: int,
        buffered: bool,
    ) -> None:
        super().record(
            node, message, sent_at, arrival, event_at, payload_bytes, wire_bytes, attempts, buffered
        )
        self.node_bytes[node] += wire_bytes


class WorldStepper:
    """A scenario's world, stepped a window at a time, with ``agents`` deciding."""

    def __init__(self, scn: ScenarioConfig, agents: Sequence[int]) -> None:
        self.scn = scn
        self.sim = PolicySimulation(scn, scn.policy.name, record_queues=False)
        n = self.sim.n
        bad = [k for k in agents if not 0 <= k < n]
        if bad:
            raise ValueError(f"agents {bad} outside the scenario's {n} nodes")
        self.agents = tuple(agents)
        self.collector = TallyCollector(self.sim.t0, n)
        self.sim.collector = self.collector
        self.env = simpy.Environment()
        self.sim.start(self.env)
        self.period = scn.workload.observe_period_s
        self.windows = int((scn.duration_s + 1e-9) // self.period)
        self.window = 0
        self.judge = ReportJudge(self.sim.episodes)
        self._reports_seen = 0
        self._energy_seen = self._node_joules()
        self._clips_seen = 0
        self._run_to(0)

    @property
    def done(self) -> bool:
        return self.window >= self.windows

    def _run_to(self, window: int) -> None:
        self.env.run(until=window * self.period + _EPS_S)
        self.window = window + 1

    def _node_joules(self) -> np.ndarray:
        return np.asarray(self.sim.energy.joules.sum(axis=1))

    def observation(self, k: int) -> PolicyObservation:
        """What node ``k`` knows after its last step (its own measurements only)."""
        return self.sim.state.nodes[k].policy_observation(self.sim.t0 + self.env.now)

    def step(self, actions: dict[int, PolicyAction]) -> dict[int, WindowScore]:
        """Hand each agent its decisions for the next window, run it, score it."""
        nodes = self.sim.state.nodes
        before = list(self.collector.node_bytes)
        for k in self.agents:
            nodes[k].next_action = actions[k]
        self._run_to(self.window)
        scores = {k: WindowScore() for k in self.agents}
        energy = self._node_joules()
        bytes_now = self.collector.node_bytes
        for k in self.agents:
            scores[k].bytes = bytes_now[k] - before[k]
            scores[k].energy_j = float(energy[k] - self._energy_seen[k])
        self._energy_seen = energy
        clips = self.collector.clips
        for k, _t, nbytes in clips[self._clips_seen :]:
            if k in scores:
                scores[k].bytes += nbytes
        self._clips_seen = len(clips)
        reports = self.collector.reports
        fresh = [r for r in reports[self._reports_seen :] if r.node in scores]
        self._reports_seen = len(reports)
        world = self.sim.world
        effect_end = {e.id: world.effect_end(e) for e in self.sim.episodes}
        self.judge.judge(fresh, effect_end, scores)
        return scores

    def episodes_in_view(self, k: int) -> int:
        """Ground-truth episodes node ``k``'s camera could report (its intersection and
        approaches, or its own camera fault), begun so far."""
        sim = self.sim
        inter = int(sim.node_intersection[k])
        seen = set(sim.coverage[k].tolist())
        now = self.env.now
        return sum(
            1
            for e in sim.episodes
            if e.onset <= now
            and (
                e.node == k
                if e.node >= 0
                else e.intersection == inter and (e.approach in seen or e.kind == "emergency")
            )
        )

    def name(self, k: int) -> str:
        return node_name(k)
