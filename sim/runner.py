"""Runs a scenario: one SimPy world per policy, every node an unchanged EdgeNode.

Three SimPy processes share the environment: the traffic world (one vectorised
step per simulated second), the node ticker (every node's ``step`` once per
observation period, with the detector draws for all nodes made in one go) and the
fault injector. Each policy of ``policy.compare`` runs on an identical world: the
traffic, the detector noise and the faults come from their own seeded streams.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import resource
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from edgeqi.node import (
    Ack,
    EdgeNode,
    NodeConfig,
    NodeInputs,
    NodeOutputs,
    Outgoing,
    VideoMode,
)
from edgeqi.protocol import (
    ConsensusMessage,
    Message,
    encode,
    mqtt_publish_overhead,
    node_topic,
)
from sim import realtime
from sim.camera_quality import CameraQuality
from sim.city_layout import camera_location, intersection_location
from sim.collector import Collector
from sim.consensus_driver import ConsensusLayer
from sim.faults import FaultEvent, plan_faults
from sim.fleet_energy import EnergyModel
from sim.oracle import OracleReporter, epoch_at_onset, oracle_report
from sim.policies import learned_policy, node_policy
from sim.scenario_config import PolicyName, ScenarioConfig
from sim.scoring import intersection_name, node_name, policy_metrics
from sim.synthetic_camera import (
    CameraViews,
    DetectorModel,
    SimWindow,
    SyntheticPerception,
    camera_coverage,
)
from sim.traffic import APPROACH_NAMES, Episode
from sim.virtual_network import Network
from sim.weather import Sky
from sim.world import World, build_world, traffic_section

WORLD_DT_S = 1.0
QUEUE_SAMPLE_S = 10.0
NODE_SAMPLE_S = 60.0
Progress = Callable[[float], None]

# Independent random streams, so that changing one part of the model leaves the others' draws alone.
_STREAM_WORLD, _STREAM_DETECTOR, _STREAM_NETWORK, _STREAM_ENERGY, _STREAM_FAULTS = range(5)
_STREAM_CONSENSUS = 5
_STREAM_WEATHER = 6
_STREAM_CAMERA_QUALITY = 7


@dataclass
class PolicyRun:
    name: str
    metrics: dict[str, object]
    messages: pd.DataFrame
    reports: pd.DataFrame
    episodes: pd.DataFrame
    timeseries: pd.DataFrame
    wall_seconds: float
    realtime: dict[str, object] | None = None
    """Real-time runs only: the lag report and, over a broker, the nodes' transport totals."""


@dataclass
class ScenarioRun:
    config: ScenarioConfig
    policies: dict[str, PolicyRun]
    queues: pd.DataFrame
    wall_seconds: float = 0.0
    traffic: dict[str, Any] | None = None
    """world=sumo only: delay, stops, throughput, teleports per policy and fixed time."""
    peak_rss_mib: float = 0.0
    """The process's resident-memory high-water mark when the run ended (imports included)."""


def start_epoch(scn: ScenarioConfig) -> float:
    return scn.start_epoch_s


def _rng(scn: ScenarioConfig, stream: int) -> np.random.Generator:
    return np.random.default_rng([scn.seed, stream])


@dataclass
class _State:
    """Mutable per-run bookkeeping the processes share."""

    nodes: list[EdgeNode]
    crashed_until: np.ndarray
    camera_fault_until: np.ndarray
    camera_fault_reason: list[str]
    pending_acks: list[list[Ack]]
    pending_sent: list[int]
    pending_lost: list[int]
    air_s: np.ndarray
    compute_full_s: np.ndarray
    compute_reduced_s: np.ndarray
    was_powered: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    critical_total: int = 0
    critical_missed: int = 0
    node_series: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class ViewTape:
    """The world one policy ran and what every camera saw at each of its ticks, for the
    run's other policies to replay instead of re-simulating the same traffic and drawing
    the same detector noise again (about 10 kB a tick for 100 nodes)."""

    world: World | None = None
    ticks: list[CameraViews] = field(default_factory=list)


@dataclass(slots=True)
class _TickAccounts:
    """What each node's radio and processor did in one tick, summed in plain Python."""

    air_s: list[float]
    compute_full_s: list[float]
    compute_reduced_s: list[float]
    video_s: list[float]
    """Seconds of video encoded: the board stays awake for them."""

    @classmethod
    def zeros(cls, n: int) -> _TickAccounts:
        return cls([0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n)


class PolicySimulation:
    """One policy on one world: build, run, measure."""

    # Wires one run's parts (world, cameras, nodes, network, energy, consensus, collectors,
    # the real-time sink) in the order they depend on each other: one statement a part.
    def __init__(  # noqa: PLR0915
        self,
        scn: ScenarioConfig,
        policy: PolicyName,
        record_queues: bool,
        tape: ViewTape | None = None,
    ) -> None:
        self.scn = scn
        self.policy_name = policy
        self.t0 = start_epoch(scn)
        n_i = scn.intersections
        city = scn.city
        self.tape = tape
        self.replaying = tape is not None and tape.world is not None
        """Another policy already ran this world: replay what its cameras saw."""
        self._tick_count = 0
        if tape is not None and tape.world is not None:
            self.world = tape.world
        else:
            self.world = build_world(scn, self.t0, _rng(scn, _STREAM_WORLD))
        if tape is not None:
            assert scn.consensus.enabled is False, "consensus acts on the world: nothing to share"
            tape.world = self.world
        self.coverage = camera_coverage(city, n_i)
        n = len(self.coverage)
        self.n = n
        self.node_intersection = np.arange(n) // city.cameras_per_intersection
        district = self.node_intersection // city.intersections_per_district
        self.network = Network(scn.network, district, _rng(scn, _STREAM_NETWORK))
        self.sky = Sky(scn.weather, self.t0, scn.duration_s, _rng(scn, _STREAM_WEATHER))
        self.energy = EnergyModel(
            scn.energy,
            n,
            scn.network.uplink_kbps,
            self.t0,
            _rng(scn, _STREAM_ENERGY),
            self.sky,
        )
        self.faults = plan_faults(
            scn, self.node_intersection, len(self.world.episodes), _rng(scn, _STREAM_FAULTS)
        )
        self.episodes: list[Episode] = self.world.episodes + self.faults.camera_episodes
        self.detector = DetectorModel(scn.workload.detector, _rng(scn, _STREAM_DETECTOR))
        self.camera_quality = CameraQuality(
            scn.workload.detector, n, _rng(scn, _STREAM_CAMERA_QUALITY), self.sky
        )
        self.perception = SyntheticPerception()
        self.policy = node_policy(policy, scn.policy)
        self.learned = learned_policy(scn.policy) if policy == "learned" else None
        """policy=learned: the model every node asks for its next window's decisions."""
        self.oracle = (
            OracleReporter.for_world(self.episodes, self.coverage, self.node_intersection)
            if policy == "oracle"
            else None
        )
        """The ground-truth reference (sim/oracle.py): its nodes are stepped for their
        detection work only; what they would send is dropped."""
        self.collector = Collector(self.t0)
        self.record_queues = record_queues
        self.queue_rows: list[tuple[float, str, str, int, float]] = []
        self._overhead: dict[tuple[int, str], int] = {}
        self.sink: Callable[[int, Message], None] | None = None
        """Where every sent message also goes (hardware-in-the-loop: the node's transport),
        at the simulated moment it is sent (its ``ts``), not at the tick that planned it."""
        self._env: simpy.Environment | None = None
        self._held: dict[int, tuple[int, Message]] = {}
        self._waiting: dict[int, int] = {}
        self._due: dict[int, float] = {}
        self._held_order = itertools.count()
        self.hil_stats: dict[str, int] | None = None
        self.lag = realtime.LagReport()
        self.state = _State(
            nodes=[self._new_node(k, started_at=self.t0) for k in range(n)],
            crashed_until=np.zeros(n),
            camera_fault_until=np.zeros(n),
            camera_fault_reason=[""] * n,
            pending_acks=[[] for _ in range(n)],
            pending_sent=[0] * n,
            pending_lost=[0] * n,
            air_s=np.zeros(n),
            compute_full_s=np.zeros(n),
            compute_reduced_s=np.zeros(n),
            was_powered=np.ones(n, dtype=bool),
        )
        self.consensus: ConsensusLayer | None = None
        self.coverage_saved_j = 0.0
        self.detection_alone_j = 0.0
        if scn.consensus.enabled:
            self.consensus = ConsensusLayer(
                scn,
                self.world,
                self.network,
                self.coverage,
                self.node_intersection,
                self.t0,
                self._powered_at,
                _rng(scn, _STREAM_CONSENSUS),
            )
            self.consensus.relay = self._relay_consensus

    def _relay_consensus(self, k: int, m: ConsensusMessage) -> None:
        """Over a broker, consensus traffic leaves through the node's transport as well,
        renumbered in the node's own sequence: the backend keeps one ledger per node."""
        if self.sink is not None:
            self._to_sink(k, m.model_copy(update={"seq": self.state.nodes[k].next_seq()}))

    def _powered_at(self, k: int, t: float) -> bool:
        return bool(self.state.crashed_until[k] <= t and not self.energy.depleted[k])

    def _new_node(self, k: int, started_at: float, seq: int = 0) -> EdgeNode:
        scn = self.scn
        approaches = tuple(APPROACH_NAMES[a] for a in self.coverage[k])
        junction = int(self.node_intersection[k])
        origin = scn.city.origin
        location = (
            None
            if origin is None
            else camera_location(
                intersection_location(junction, scn.intersections, origin, scn.city.block_m),
                approaches[0],
            )
        )
        config = NodeConfig(
            node_id=node_name(k),
            intersection=intersection_name(junction),
            approaches=approaches,
            profile=self.energy.profile,
            policy=self.policy,
            observe_period_s=scn.workload.observe_period_s,
            heartbeat_period_s=scn.workload.heartbeat_period_s,
            frames_per_observation=scn.workload.detector.frames_per_observation,
            cycle_s=scn.workload.cycle_s,
            location=location,
            approach=None if location is None else approaches[0],
        )
        node = EdgeNode(config, self.perception, started_at=started_at, learned=self.learned)
        node.seq = seq
        return node

    # -- processes --------------------------------------------------------------------

    def _world_process(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        world = self.world
        next_sample = 0.0
        while True:
            world.advance(env.now, WORLD_DT_S)
            if self.record_queues and env.now >= next_sample:
                next_sample += QUEUE_SAMPLE_S
                self._sample_queues(env.now + WORLD_DT_S)
            yield env.timeout(WORLD_DT_S)

    def _sample_queues(self, t: float) -> None:
        q = self.world.queue
        for i in range(q.shape[0]):
            for a in range(q.shape[1]):
                self.queue_rows.append(
                    (t, intersection_name(i), APPROACH_NAMES[a], int(q[i, a]), float(q[i, a]))
                )

    def _node_process(
        self, env: simpy.Environment, progress: Progress | None
    ) -> Generator[simpy.Event, None, None]:
        period = self.scn.workload.observe_period_s
        next_sample = 0.0
        while env.now + period <= self.scn.duration_s + 1e-9:
            self._tick(env.now, period)
            if env.now >= next_sample:
                next_sample += NODE_SAMPLE_S
                self._sample_nodes(env.now)
            if progress is not None:
                progress(env.now + period)
            yield env.timeout(period)

    def _consensus_process(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        """Start a consensus round every signal cycle and carry its messages in between."""
        layer = self.consensus
        assert layer is not None
        cycle_s = self.scn.workload.cycle_s
        cycle = 1
        next_cycle = cycle_s
        end = self.scn.duration_s
        while True:
            pending = layer.next_event()
            t_next = next_cycle if pending is None else min(pending, next_cycle)
            if t_next >= end:
                return
            if t_next > env.now:
                yield env.timeout(t_next - env.now)
            if env.now >= next_cycle:
                layer.start_cycle(cycle, env.now)
                cycle += 1
                next_cycle = cycle * cycle_s
            layer.run_until(env.now)

    def _fault_process(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        for event in self.faults.events:
            if event.at > env.now:
                yield env.timeout(event.at - env.now)
            self._inject(env.now, event)

    def _inject(self, now: float, e: FaultEvent) -> None:
        st = self.state
        if e.kind == "crash":
            st.crashed_until[e.node] = now + e.duration_s
        elif e.kind == "link_outage":
            self.network.cut(e.node, now + e.duration_s)
        elif e.kind == "partition":
            district = self.network.district_of_node[e.node]
            for k in np.flatnonzero(self.network.district_of_node == district):
                self.network.cut(int(k), now + e.duration_s)
        elif e.kind == "camera_fault":
            st.camera_fault_until[e.node] = now + e.duration_s
            st.camera_fault_reason[e.node] = e.reason
        elif e.kind == "battery_death":
            self.energy.kill(e.node)

    # -- the node tick ----------------------------------------------------------------

    def _views(self, now: float) -> CameraViews:
        """What every camera sees this tick: from the world, or from the tape on replay."""
        if self.replaying:
            assert self.tape is not None
            views = self.tape.ticks[self._tick_count]
        else:
            views = CameraViews.observe(
                self.world,
                self.detector,
                self.camera_quality,
                self.coverage,
                self.node_intersection,
                now,
            )
            if self.tape is not None:
                self.tape.ticks.append(views)
        self._tick_count += 1
        return views

    def _tick(self, now: float, period: float) -> None:
        st = self.state
        views = self._views(now)
        # Turned into lists once for every node, so that a node's window costs no NumPy call.
        full_l = views.vehicles_full.tolist()
        reduced_l = views.vehicles_reduced.tolist()
        qm_full = views.queue_m_full.tolist()
        qm_reduced = views.queue_m_reduced.tolist()
        em_full_l, em_red_l = views.emergency_full.tolist(), views.emergency_reduced.tolist()
        st_full_l, st_red_l = views.stalled_full.tolist(), views.stalled_reduced.tolist()
        wait = views.wait_s.tolist()
        frames = self.scn.workload.detector.frames_per_observation
        # Per-node scalars as Python lists: indexing a NumPy array per node and message
        # costs more than the arithmetic it feeds.
        soc = self.energy.soc.tolist()
        power = self.energy.power_w.tolist()
        faulty = (st.camera_fault_until > now).tolist()
        powered = (st.crashed_until <= now) & ~self.energy.depleted
        epoch_now = self.t0 + now
        self._restart(epoch_now, powered & ~st.was_powered)
        st.was_powered = powered
        acc = _TickAccounts.zeros(self.n)
        nodes, acks, sent, lost = st.nodes, st.pending_acks, st.pending_sent, st.pending_lost
        if self.oracle is not None:
            self._oracle_tick(now + period, acc)
        for k, on in enumerate(powered.tolist()):
            if not on:
                continue
            window = SimWindow(
                frames,
                st.camera_fault_reason[k] if faulty[k] else None,
                full_l[k],
                reduced_l[k],
                qm_full[k],
                qm_reduced[k],
                em_full_l[k],
                em_red_l[k],
                st_full_l[k],
                st_red_l[k],
                wait[k],
            )
            node_sent = sent[k]
            if node_sent:  # acks and losses come only of messages sent
                inputs = NodeInputs(window, soc[k], power[k], acks[k], node_sent, lost[k])
                acks[k] = []
                sent[k] = 0
                lost[k] = 0
            else:  # never hand the node the list that the next send will fill
                inputs = NodeInputs(window, soc[k], power[k])
            out = nodes[k].step(epoch_now, inputs)
            if self.oracle is not None:
                # The oracle's cameras still look, at EDGE-QI's cost, but say nothing.
                acc.compute_full_s[k] += out.compute_full_s
                acc.compute_reduced_s[k] += out.compute_reduced_s
            elif out.messages or out.video or out.compute_full_s or out.compute_reduced_s:
                self._carry(k, out, acc)
        st.air_s = np.array(acc.air_s)
        st.compute_full_s = np.array(acc.compute_full_s)
        st.compute_reduced_s = np.array(acc.compute_reduced_s)
        if self.consensus is not None:
            self._consensus_costs()
        # The step at ``now`` decides the node's activity over the coming period.
        self.energy.account(
            now,
            now + period,
            powered,
            st.compute_full_s,
            st.compute_reduced_s,
            st.air_s,
            np.array(acc.video_s),
        )

    def _oracle_tick(self, until: float, acc: _TickAccounts) -> None:
        """The oracle's reports of the episodes beginning before ``until``, sent at onset."""
        assert self.oracle is not None
        for k, e in self.oracle.due(until):
            at = epoch_at_onset(self.t0, e.onset)
            report = oracle_report(
                e,
                node_name(k),
                self.state.nodes[k].next_seq(),
                intersection_name(e.intersection),
                at,
            )
            self._carry(k, NodeOutputs(messages=[Outgoing(at, report, at)]), acc)

    def _consensus_costs(self) -> None:
        """Detection work the agreed coverage removes; radio and CPU that consensus adds."""
        assert self.consensus is not None
        st = self.state
        p = self.energy.profile
        scale = self.consensus.compute_scale()
        full_j = st.compute_full_s * (p.full_w - p.idle_w)
        reduced_j = st.compute_reduced_s * (p.reduced_w - p.idle_w)
        self.detection_alone_j += float((full_j + reduced_j).sum())
        self.coverage_saved_j += float(((1.0 - scale) * (full_j + reduced_j)).sum())
        st.compute_full_s *= scale
        st.compute_reduced_s *= scale
        air, cpu = self.consensus.take_costs()
        st.compute_reduced_s += cpu
        st.air_s += air

    def _to_sink(self, k: int, message: Message, at: float | None = None) -> None:
        """Hand ``message`` to the sink at simulated time ``at`` (``None``: now). A step
        plans the coming period, and its messages carry the time their encoding finishes
        (after detection): in real time they wait for it, and a node's later messages
        wait behind them, so each node's sequence leaves in order; a time already past
        goes at once (a backfill replays the past at full speed)."""
        env = self._env
        assert self.sink is not None
        waiting = self._waiting.get(k, 0)
        if env is None or ((at is None or at <= env.now) and not waiting):
            self.sink(k, message)
            return
        due = max(env.now if at is None else at, self._due.get(k, env.now))
        self._due[k] = due
        self._waiting[k] = waiting + 1
        key = next(self._held_order)
        self._held[key] = (k, message)
        env.timeout(due - env.now).callbacks.append(lambda _e: self._release(key))

    def _release(self, key: int) -> None:
        held = self._held.pop(key, None)
        if held is None:
            return
        self._waiting[held[0]] -= 1
        if self.sink is not None:
            self.sink(*held)

    def _carry(self, k: int, out: NodeOutputs, acc: _TickAccounts) -> None:
        """Hand a node's outputs to the network and the collector."""
        st = self.state
        acc.compute_full_s[k] += out.compute_full_s
        acc.compute_reduced_s[k] += out.compute_reduced_s
        t0 = self.t0
        air_end = self.energy.last_air_end
        for o in out.messages:
            message = o.message
            if self.sink is not None:
                self._to_sink(k, message, o.at - t0)
            payload = encode(message)
            key = (k, message.kind)
            overhead = self._overhead.get(key)
            if overhead is None:
                overhead = self._overhead[key] = mqtt_publish_overhead(
                    node_topic(node_name(k), message.kind)
                )
            size = len(payload) + overhead
            at = o.at - t0
            d = self.network.send(k, at, size)  # the network runs on sim time
            st.pending_sent[k] += 1
            if d.arrival is None:
                st.pending_lost[k] += 1
            else:
                st.pending_acks[k].append(Ack(d.rtt_ms, size, d.air_s))
            acc.air_s[k] += d.air_s
            air_end[k] = max(air_end[k], at + d.air_s)
            self.collector.record(
                k,
                message,
                o.at,
                None if d.arrival is None else d.arrival + t0,
                o.event_at,
                len(payload),
                d.wire_bytes,
                d.attempts,
                d.buffered,
            )
        for v in out.video:
            if self.network.is_down(k, v.at - t0):
                continue
            air = self.network.stream(k, v.at - t0, v.seconds, v.tier_kbps)
            self.collector.video_bytes += v.nbytes
            if self.policy.video is VideoMode.ON_CRITICAL:
                self.collector.clips.append((k, v.at - t0, v.nbytes))
            acc.air_s[k] += air
            acc.video_s[k] += v.seconds
            air_end[k] = max(air_end[k], v.at - t0 + air)

    def _restart(self, epoch_now: float, booting: np.ndarray) -> None:
        """A node back from a crash or a dead battery boots with a fresh state (seq persisted)."""
        st = self.state
        for k in np.flatnonzero(booting):
            old = st.nodes[k]
            self._retire(old)
            st.nodes[k] = self._new_node(int(k), started_at=epoch_now, seq=old.seq)

    def _retire(self, node: EdgeNode) -> None:
        s = node.scheduler.stats
        self.state.critical_total += s.critical_total
        self.state.critical_missed += s.critical_missed

    def _sample_nodes(self, now: float) -> None:
        e = self.energy
        st = self.state
        self.state.node_series.append(
            {
                "t": now,
                "energy_j": float(e.joules.sum()),
                "bytes": self.collector.wire_bytes + self.collector.video_bytes,
                "mean_soc": float(e.soc.mean()),
                "alive": int(((st.crashed_until <= now) & ~e.depleted).sum()),
            }
        )

    # -- run --------------------------------------------------------------------------

    def start(self, env: simpy.Environment, progress: Progress | None = None) -> None:
        """Register the run's processes on ``env``: :meth:`run` then runs it to the end,
        the Gymnasium environments (:mod:`sim.envs`) one observation window at a time."""
        if not self.replaying:  # a replayed world has already run to the end
            env.process(self._world_process(env))
        env.process(self._node_process(env, progress))
        env.process(self._fault_process(env))
        if self.consensus is not None:
            env.process(self._consensus_process(env))

    def run(self, progress: Progress | None = None) -> PolicyRun:
        started = time.perf_counter()
        rt = self.scn.realtime
        env = realtime.environment(rt)
        self.start(env, progress)
        with self._hil():
            if rt.mode == "real":
                behind = rt.backfill_s
                if behind > 0 and rt.start_now:
                    # Anchored at the wall clock minus the backfill: set-up time is late too.
                    behind = max(behind, time.time() - self.t0)
                env.process(realtime.watch_lag(env, rt, self.lag, behind_s=behind))
                realtime.sync(env, behind)
            self._env = env
            try:
                env.run(until=self.scn.duration_s + 1e-6)
            finally:
                for key in sorted(self._held):  # due past the end of the run
                    self._release(key)
                self._env = None
        for node in self.state.nodes:
            self._retire(node)
        if self.policy.transmit.value != "anomaly":
            self.collector.score_uploads(self.policy.transmission, self.scn.workload.cycle_s)
        wall = time.perf_counter() - started
        messages = self.collector.messages_frame()
        reports = self.collector.reports_frame()
        node_hours = self.n * self.scn.duration_s / 3600.0
        metrics, episodes, reports = policy_metrics(
            episodes=self.episodes,
            effect_end={e.id: self.world.effect_end(e) for e in self.episodes},
            reports=reports,
            messages=messages,
            video_bytes=self.collector.video_bytes,
            clips=self.collector.clips,
            intersections=self.scn.intersections,
            energy_j=self.energy.total_j,
            energy_by_state=self.energy.by_state_j(),
            critical_total=self.state.critical_total,
            critical_missed=self.state.critical_missed,
            node_hours=node_hours,
            extra={
                "nodes_depleted_at_end": int(self.energy.depleted.sum()),
                "harvested_j": round(float(self.energy.harvested_j.sum()), 3),
                "network_lost_messages": self.network.lost_messages,
                "buffer_overflows": self.network.buffer_overflows,
            },
            tolerance_s=self.scn.scoring.tolerance_s,
        )
        if self.consensus is not None:
            p = self.energy.profile
            metrics["consensus"] = self.consensus.metrics(
                cycles=int(self.scn.duration_s // self.scn.workload.cycle_s),
                radio_air_w=self.energy.radio_air_w,
                cpu_w=p.reduced_w - p.idle_w,
                saved_j=self.coverage_saved_j,
                alone_j=self.detection_alone_j,
            )
        rt_report: dict[str, object] | None = None
        if rt.mode == "real":
            rt_report = {"speed": rt.speed, **self.lag.summary()}
            if self.hil_stats is not None:
                rt_report["transport"] = self.hil_stats
        return PolicyRun(
            name=self.policy_name,
            metrics=metrics,
            messages=messages,
            reports=reports,
            episodes=episodes,
            timeseries=pd.DataFrame(self.state.node_series),
            wall_seconds=wall,
            realtime=rt_report,
        )

    def _hil(self) -> contextlib.AbstractContextManager[object]:
        """Over a configured broker, each node's messages also leave through its transport."""
        if self.sink is not None or self.scn.realtime.hil.broker_url is None:
            return contextlib.nullcontext()
        from sim.hil import attached

        return attached(self)


GC_GEN0_THRESHOLD = 10_000
"""Allocations between young-generation collections while a scenario runs (CPython: 700).

A run allocates millions of short-lived, acyclic objects (tasks, messages, rows) while
keeping millions alive (the collector's rows), so at the default the cyclic collector ran
about 4,900 times in a 15-minute paper run and took 7.5 % of its CPU; at 10,000 it takes
about 1 % and every result is unchanged (nothing in a run depends on when memory is freed).
"""


@contextlib.contextmanager
def _batch_gc() -> Generator[None, None, None]:
    """Collect young garbage less often for the duration of a run, then restore."""
    before = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run_scenario(
    scn: ScenarioConfig, progress: Callable[[str, float], None] | None = None
) -> ScenarioRun:
    """Run every policy of ``scn.policy.compare`` (or ``scn.policy.name``) on one world."""
    with _batch_gc():
        return _run_policies(scn, progress)


def _run_policies(
    scn: ScenarioConfig, progress: Callable[[str, float], None] | None
) -> ScenarioRun:
    started = time.perf_counter()
    names = list(dict.fromkeys(scn.policy.compare or [scn.policy.name]))
    runs: dict[str, PolicyRun] = {}
    worlds: dict[str, World] = {}
    queues = pd.DataFrame()
    # Without consensus no policy acts on the traffic: the first policy records what the
    # cameras see and the others replay it (same world, same detector draws).
    tape = ViewTape() if len(names) > 1 and not scn.consensus.enabled else None
    for i, name in enumerate(names):
        sim = PolicySimulation(scn, name, record_queues=i == 0, tape=tape)
        report = None if progress is None else functools.partial(progress, name)
        runs[name] = sim.run(report)
        worlds[name] = sim.world
        if i == 0:
            queues = pd.DataFrame(
                sim.queue_rows, columns=["t", "intersection", "approach", "vehicles", "queue"]
            ).drop(columns=["queue"])
    traffic = traffic_section(scn, worlds, lambda: _rng(scn, _STREAM_WORLD), start_epoch(scn))
    return ScenarioRun(scn, runs, queues, time.perf_counter() - started, traffic, peak_rss_mib())


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
