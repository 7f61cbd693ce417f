"""The consensus layer in the simulator: Layer 5's state machines over the virtual network.

Every intersection's cameras form one PBFT cluster, and every camera runs the core's
:class:`~edgeqi.consensus.cycle.CycleReplica`, the same one a field node runs: each
signal cycle it signs a queue report for the approaches it was assigned, collects its
peers', proposes a report set and derives the cycle's outcome (fused queues, Webster
plan, suspects, next coverage) from what the cluster decides. This module only measures
(the simulated world's queues, the detector's noise, lying cameras' distortions), carries
messages and timers, and plays the signal controller: it acts on ``f + 1`` matching
decisions (:class:`~edgeqi.consensus.cycle.Tally`), adopting the outcome's plan and
handing every camera its coverage, and scores the outcome against the world's truth.
Every ``committee_every_cycles`` cycles, one delegate per intersection (its camera
0) runs a second PBFT level per district for green-wave offsets.

Messages travel as MQTT publishes through the virtual network (uplink to the
broker, then one downlink per subscriber), so their bytes and air time are
charged to the nodes' energy. Keys derive from the run's seed, and Ed25519 signing
is deterministic, so a run is reproducible byte for byte. Misbehaving nodes
(crash, silence, equivocating primary, inflated or deflated reports, delayed or
replayed messages, invalid signatures) are configured in Hydra, per node.
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeqi.consensus import (
    ClusterConfig,
    Decision,
    KeyPair,
    Output,
    Replica,
    Verifier,
    derive_seed,
)
from edgeqi.consensus.agreement import green_wave_offsets
from edgeqi.consensus.cycle import CycleOutcome, CycleOutput, CycleParams, CycleReplica, Tally
from edgeqi.consensus.messages import Phase, b64, seal, unb64, value_digest
from edgeqi.consensus.pbft import StateMachine
from edgeqi.consensus.safety import Commit, check_logs
from edgeqi.protocol import ConsensusMessage, consensus_topic, encode, mqtt_publish_overhead
from sim.scenario_config import ByzantineNode, ScenarioConfig
from sim.scoring import intersection_name, node_name
from sim.traffic import APPROACH_NAMES
from sim.virtual_network import Network
from sim.world import World

_DELIVER, _TICK, _CUT = 0, 1, 2
_LYING = ("inflate", "deflate", "random", "collude")


@dataclass
class _Group:
    """One PBFT cluster: an intersection's cameras or a district's delegates."""

    name: str
    level: str  # "intersection" | "district"
    nodes: list[int]
    config: ClusterConfig
    tally: Tally
    machines: dict[int, StateMachine[Output]] = field(default_factory=dict)
    """What each member runs: a :class:`CycleReplica` (intersection) or a bare replica."""
    cycles: dict[int, CycleReplica] = field(default_factory=dict)
    replicas: dict[int, Replica] = field(default_factory=dict)
    verifiers: dict[int, Verifier] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    outcomes: list[CycleOutcome] = field(default_factory=list)
    """The cycle outcomes the controller adopted, in order."""
    logs: dict[str, list[Commit]] = field(default_factory=dict)
    """Every member's own committed log, as its replica reported each decision."""

    @property
    def adopted(self) -> set[str]:
        return self.tally.adopted


@dataclass
class ConsensusStats:
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"intersection": [], "district": []}
    )
    decisions: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    deliveries: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    errors: list[float] = field(default_factory=list)
    robust: int = 0
    fused: int = 0
    signatures: int = 0
    checks: int = 0
    suspects: int = 0
    undecided: int = 0
    within_honest: int = 0
    with_honest: int = 0
    """Fused values backed by at least one honest report, and those inside the honest range."""
    plan_errors: list[float] = field(default_factory=list)


def cycle_params(scn: ScenarioConfig, world: World) -> CycleParams:
    """The core's cycle rules from the scenario: the consensus settings of the same name
    (timings, redundancy, audits, suspect tolerance), the workload's signal timing and
    saturation flow, the city's lanes, and the two phases the simulated signal runs."""
    w = scn.workload
    shared = set(CycleParams.model_fields) & set(type(scn.consensus).model_fields)
    shared.discard("suspect_noise_veh")
    phase = world.phase_of_approach
    noise = scn.consensus.suspect_noise_veh
    return CycleParams(
        **scn.consensus.model_dump(include=shared),
        suspect_noise_veh=w.detector.count_noise_sd if noise is None else noise,
        cycle_s=w.cycle_s,
        saturation_flow_veh_per_h_per_lane=w.saturation_flow_veh_per_h_per_lane,
        lanes_per_approach=scn.city.lanes_per_approach,
        lost_time_s=w.lost_time_s,
        phases=tuple(
            tuple(APPROACH_NAMES[a] for a in range(len(phase)) if phase[a] == p) for p in (0, 1)
        ),
    )


class ConsensusLayer:
    """All PBFT groups of a run and the event queue that carries their messages."""

    def __init__(
        self,
        scn: ScenarioConfig,
        world: World,
        network: Network,
        coverage: np.ndarray,
        node_intersection: np.ndarray,
        t0: float,
        powered: Callable[[int, float], bool],
        rng: np.random.Generator,
    ) -> None:
        self.scn = scn
        self.cfg = scn.consensus
        self.world = world
        self.network = network
        self.t0 = t0
        self.powered = powered
        self.rng = rng
        self.n = len(node_intersection)
        self.cameras = scn.city.cameras_per_intersection
        secret = f"edgeqi-sim-{scn.seed}"
        self.keys = [
            KeyPair(node_name(k), derive_seed(secret, node_name(k))) for k in range(self.n)
        ]
        self.signers = [kp.signer() for kp in self.keys]
        self.public = {kp.node_id: kp.public for kp in self.keys}
        self.visible: dict[int, tuple[str, ...]] = {
            k: tuple(APPROACH_NAMES[a] for a in coverage[k]) for k in range(self.n)
        }
        self.assigned: dict[int, tuple[str, ...]] = dict(self.visible)
        """The coverage each camera follows: the controller's latest adopted outcome's."""
        self.params = cycle_params(scn, world)
        self.groups: list[_Group] = []
        self._index = {intersection_name(i): i for i in range(scn.intersections)}
        self.member_of: dict[int, list[int]] = {k: [] for k in range(self.n)}
        for i in range(scn.intersections):
            nodes = [i * self.cameras + c for c in range(self.cameras)]
            self._add_group(intersection_name(i), "intersection", nodes)
        self.n_intersection_groups = len(self.groups)
        per_district = scn.city.intersections_per_district
        if self.cfg.district_committee and scn.intersections > 1:
            for d in range(0, scn.intersections, per_district):
                delegates = [
                    i * self.cameras for i in range(d, min(d + per_district, scn.intersections))
                ]
                if len(delegates) > 1:
                    self._add_group(f"district-{d // per_district:03d}", "district", delegates)
        self.byzantine: dict[int, list[ByzantineNode]] = {}
        for b in [*self.cfg.byzantine, *self.cfg.lying_cameras(scn.intersections, self.cameras)]:
            self.byzantine.setdefault(b.node, []).append(b)
        self.events: list[tuple[float, int, int, int, int, Any]] = []
        self._order = itertools.count()
        self._tick_at: dict[tuple[int, int], float] = {}
        self.truth: dict[tuple[int, int], np.ndarray] = {}
        """The cycle's true demand per approach of each intersection (what cameras count)."""
        self._joined_before = world.joined.copy()
        world.queue_low[...] = world.queue
        self.cycle_start: dict[int, float] = {}
        self._collusion: dict[tuple[int, float, int], float] = {}
        self._old: dict[int, list[tuple[int, ConsensusMessage]]] = {}
        self.stats = ConsensusStats()
        self.pending_air_s = np.zeros(self.n)
        self.pending_cpu_s = np.zeros(self.n)
        self.air_s_total = 0.0
        self.cpu_s_total = 0.0
        self.relay: Callable[[int, ConsensusMessage], None] | None = None
        """Where every message a node puts on the air also goes (hardware-in-the-loop)."""
        for p in self.cfg.partitions:
            until = p.at_s + p.duration_s
            self._push(p.at_s, _CUT, 0, 0, (tuple(p.nodes), until))

    # -- set-up -----------------------------------------------------------------------

    def _add_group(self, name: str, level: str, nodes: list[int]) -> None:
        members = [node_name(k) for k in nodes]  # zero-padded: sorted as the core sorts them
        cfg = self.params.cluster_config(name, members)
        g = _Group(name, level, nodes, cfg, Tally(cfg.f))
        gid = len(self.groups)
        members_public = {m: self.public[m] for m in members}
        visible = {node_name(k): self.visible[k] for k in nodes}
        for k in nodes:
            verifier = Verifier(members_public)
            g.verifiers[k] = verifier
            if level == "district":
                g.replicas[k] = Replica(cfg, self.signers[k], verifier, self._wave_validator(gid))
                g.machines[k] = g.replicas[k]
            else:
                c = CycleReplica(self.params, name, members, self.signers[k], verifier, visible)
                g.cycles[k], g.replicas[k], g.machines[k] = c, c.replica, c
            self.member_of[k].append(gid)
        self.groups.append(g)

    def _wave_validator(self, gid: int) -> Callable[[str, str], bool]:
        def validate(key: str, value: str) -> bool:
            try:
                n = int(key.removeprefix("wave-"))
            except ValueError:
                return False
            return value == self._wave_value(gid, n)

        return validate

    # -- misbehaviour -----------------------------------------------------------------

    def _acting(self, k: int, t: float) -> list[ByzantineNode]:
        out = []
        for b in self.byzantine.get(k, []):
            end = float("inf") if b.duration_s is None else b.at_s + b.duration_s
            if b.at_s <= t < end:
                out.append(b)
        return out

    def _mute(self, k: int, t: float) -> bool:
        if not self.powered(k, t):
            return True
        return any(b.behaviour in ("crash", "silence") for b in self._acting(k, t))

    # -- the cycle ----------------------------------------------------------------------

    def start_cycle(self, cycle: int, t: float) -> None:
        """Every camera measures, signs and publishes its report; district rounds start.

        What a camera reports per approach is the cycle's demand: the vehicles that joined
        the approach since the last cycle started plus the standing queue the last green
        left (the least queue of the cycle), i.e. the vehicles arriving per cycle that
        Webster's plan takes as its input. A queue taken at the instant the cycle starts is
        locked to the signal's phase instead (the approach just served always looks empty,
        the one waiting for green full), and its plan swings from one phase to the other.
        """
        self.cycle_start[cycle] = t
        w = self.world
        demand = (w.joined - self._joined_before + w.queue_low).astype(np.float64)
        for gid in range(self.n_intersection_groups):
            g = self.groups[gid]
            truth = demand[gid]
            self.truth[(gid, cycle)] = truth
            g.started[f"cycle-{cycle}"] = t
            for k in g.nodes:
                queues = None if self._mute(k, t) else self.measure(k, t, truth)
                self._handle(gid, k, g.cycles[k].start(self.t0 + t, cycle, queues), t)
        self._joined_before = w.joined.copy()
        w.queue_low[...] = w.queue  # the next cycle's standing queue starts from the queue now
        every = self.cfg.committee_every_cycles
        if cycle % every == 0:
            for gid in range(self.n_intersection_groups, len(self.groups)):
                g = self.groups[gid]
                n = cycle // every
                g.started[f"wave-{n}"] = t
                value = self._wave_value(gid, n)
                for k in g.nodes:
                    if not self._mute(k, t):
                        self._handle(
                            gid,
                            k,
                            g.replicas[k].request(self.t0 + t, f"wave-{n}", value, broadcast=False),
                            t,
                        )

    def measure(self, k: int, t: float, truth: np.ndarray) -> dict[str, float]:
        """Camera ``k``'s report: the true demand of the cycle (see :meth:`start_cycle`) on
        each approach it is assigned, with the detector's counting noise; a lying camera
        ignores the agreed coverage, reports on everything it sees and distorts every value
        (see ``LyingBehaviour``)."""
        sd = self.scn.workload.detector.count_noise_sd
        lies = [b for b in self._acting(k, t) if b.behaviour in _LYING]
        queues: dict[str, float] = {}
        for name in self.visible[k] if lies else self.assigned[k]:
            a = APPROACH_NAMES.index(name)
            v = max(0.0, float(truth[a]) + float(self.rng.normal(0.0, sd)))
            for b in lies:
                v = self._lie(k, t, a, v, b)
            queues[name] = v
        return queues

    def _lie(self, k: int, t: float, a: int, v: float, b: ByzantineNode) -> float:
        if b.behaviour == "inflate":
            return v * b.factor
        if b.behaviour == "deflate":
            return v / b.factor
        gid = k // self.cameras
        if b.behaviour == "random":
            return float(self.rng.uniform(0.0, float(self.world.capacity_veh[gid, a])))
        # collude: the intersection's colluders report one value, drawn by the first of them
        shared = self._collusion.get((gid, t, a))
        if shared is None:
            shared = v * b.factor
            self._collusion = {key: x for key, x in self._collusion.items() if key[1] == t}
            self._collusion[(gid, t, a)] = shared
        return shared

    def _wave_value(self, gid: int, n: int) -> str:
        g = self.groups[gid]
        names = [intersection_name(k // self.cameras) for k in g.nodes]
        offsets = green_wave_offsets(
            names,
            self.cfg.corridor_spacing_m,
            self.cfg.corridor_speed_mps,
            self.scn.workload.cycle_s,
        )
        return json.dumps({"n": n, "offsets": offsets}, separators=(",", ":"))

    # -- the event queue -----------------------------------------------------------------

    def _push(self, t: float, kind: int, gid: int, k: int, payload: Any) -> None:
        heapq.heappush(self.events, (t, next(self._order), kind, gid, k, payload))

    def next_event(self) -> float | None:
        return self.events[0][0] if self.events else None

    def run_until(self, t_end: float) -> None:
        """Process every event up to ``t_end`` (sim seconds)."""
        while self.events and self.events[0][0] <= t_end:
            t, _, kind, gid, k, payload = heapq.heappop(self.events)
            g = self.groups[gid]
            if kind == _TICK:
                if self._tick_at.get((gid, k)) != t:
                    continue
                del self._tick_at[(gid, k)]
                if not self._mute(k, t):
                    self._handle(gid, k, g.machines[k].tick(self.t0 + t), t)
                else:  # a crashed or silent node's timers wait until it is back
                    later = t + self.cfg.request_timeout_s
                    self._tick_at[(gid, k)] = later
                    self._push(later, _TICK, gid, k, None)
            elif kind == _CUT:
                nodes, until = payload
                for node in nodes:
                    self.network.cut(node, until)
            else:
                self._deliver(gid, k, payload, t)

    def _deliver(self, gid: int, k: int, m: ConsensusMessage, t: float) -> None:
        if not self.powered(k, t) or any(b.behaviour == "crash" for b in self._acting(k, t)):
            return
        g = self.groups[gid]
        self.stats.deliveries[g.level] += 1
        self.pending_cpu_s[k] += self.cfg.verify_ms / 1000.0
        before = g.verifiers[k].checks
        out = g.machines[k].receive(self.t0 + t, m)
        self.stats.checks += g.verifiers[k].checks - before
        self._handle(gid, k, out, t)

    def _schedule_tick(self, gid: int, k: int) -> None:
        d = self.groups[gid].machines[k].next_deadline
        if d is None:
            return
        at = max(d - self.t0, 0.0)
        if self._tick_at.get((gid, k)) == at:
            return
        self._tick_at[(gid, k)] = at
        self._push(at, _TICK, gid, k, None)

    def _handle(self, gid: int, k: int, out: Output, t: float) -> None:
        g = self.groups[gid]
        for to, m in out.messages:
            self._count_sign(k)
            dest = None if to is None else g.nodes[g.config.members.index(to)]
            self._publish(gid, k, m, t, dest)
        outcomes = {o.decision: o for o in out.outcomes} if isinstance(out, CycleOutput) else {}
        log = g.logs.setdefault(node_name(k), [])
        for d in out.decisions:
            log.append((d.number, d.key, d.digest))
            self._decided(gid, d, outcomes.get(d), t)
        self._schedule_tick(gid, k)

    def _count_sign(self, k: int) -> None:
        self.stats.signatures += 1
        self.pending_cpu_s[k] += self.cfg.sign_ms / 1000.0

    # -- publishing ---------------------------------------------------------------------

    def _publish(self, gid: int, k: int, m: ConsensusMessage, t: float, to: int | None) -> None:
        g = self.groups[gid]
        acting = self._acting(k, t)
        if self._mute(k, t):
            return
        sends: list[tuple[ConsensusMessage, list[int], float]] = []
        targets = [j for j in g.nodes if j != k] if to is None else [to]
        delay = sum(b.delay_s for b in acting if b.behaviour == "delay")
        behaviours = {b.behaviour for b in acting}
        if "bad_signature" in behaviours:
            sig = bytearray(unb64(m.signature) or b"")
            if sig:
                sig[0] ^= 0xFF
            m = m.model_copy(update={"signature": b64(bytes(sig))})
        if "equivocate" in behaviours and m.phase == Phase.PRE_PREPARE and len(targets) > 1:
            half = len(targets) // 2
            sends.append((m, targets[:half], delay))
            sends.append((self._equivocal(k, m), targets[half:], delay))
        else:
            sends.append((m, targets, delay))
        if "replay" in behaviours:
            old = self._old.setdefault(k, [])
            if len(old) >= 8:
                _, stale = old[len(old) % 8]
                sends.append((stale, targets, delay))
            old.append((gid, m))
            del old[:-64]
        for msg, dests, lag in sends:
            self._wire(gid, k, msg, t + lag, dests)

    def _equivocal(self, k: int, m: ConsensusMessage) -> ConsensusMessage:
        """The same slot, a different valid value: the report set in reverse order."""
        body = json.loads(m.body)
        try:
            reports = json.loads(body["value"])
            value = json.dumps(list(reversed(reports)), separators=(",", ":"))
        except (ValueError, TypeError):
            value = body["value"] + " "
        new_body = json.dumps({"key": body["key"], "value": value}, separators=(",", ":"))
        self._count_sign(k)
        return seal(
            self.signers[k],
            cluster=m.cluster,
            phase=m.phase,
            view=m.view,
            number=m.number,
            digest=value_digest(body["key"], value),
            body=new_body,
            seq=m.seq,
            ts=m.ts,
        )

    def _wire(self, gid: int, k: int, m: ConsensusMessage, t: float, dests: list[int]) -> None:
        g = self.groups[gid]
        if self.relay is not None:
            self.relay(k, m)
        payload = len(encode(m))
        size = payload + mqtt_publish_overhead(consensus_topic(m.cluster, m.node_id, m.phase))
        d = self.network.send(k, t, size)
        self.stats.messages[g.level] += 1
        self.stats.bytes[g.level] += d.wire_bytes
        self.pending_air_s[k] += d.air_s
        self.air_s_total += d.air_s
        if d.arrival is None:
            return
        for j in dests:
            at = self.network.downlink_s(j, d.arrival)
            self._push(at, _DELIVER, gid, j, m)

    # -- decisions ----------------------------------------------------------------------

    def _decided(self, gid: int, d: Decision, outcome: CycleOutcome | None, t: float) -> None:
        """The signal controller hears of one member's decision (and what it derived)."""
        g = self.groups[gid]
        if not g.tally.vote(d):
            return
        start = g.started.get(d.key)
        if start is not None:
            self.stats.latencies[g.level].append(t - start)
        self.stats.decisions[g.level] += 1
        if g.level == "district":
            self._adopt_wave(gid, d.value)
        elif outcome is not None:
            self._adopt_cycle(gid, outcome)

    def _adopt_wave(self, gid: int, value: str) -> None:
        offsets = json.loads(value)["offsets"]
        for name, off in offsets.items():
            self.world.offset_s[self._index[name]] = float(off)

    def _adopt_cycle(self, gid: int, o: CycleOutcome) -> None:
        """Score the outcome against the world, adopt its plan, hand out its coverage."""
        g = self.groups[gid]
        g.outcomes.append(o)
        truth = self.truth.get((gid, o.cycle))
        if truth is not None:
            true_queue = {name: float(truth[APPROACH_NAMES.index(name)]) for name in o.fused}
            for name, fz in o.fused.items():
                self.stats.errors.append(abs(fz.vehicles - true_queue[name]))
                self.stats.fused += 1
                self.stats.robust += int(fz.robust)
            self._score_against_honest(g, o)
        self.stats.suspects += len(o.suspects)
        if truth is not None:
            true_plan = self.params.plan(true_queue)
            self.stats.plan_errors.append(abs(o.plan.split_phase0 - true_plan.split_phase0))
        if self.cfg.adopt_plan:
            self.world.set_green_split(gid, o.plan.split_phase0)
        for j in g.nodes:
            self.assigned[j] = o.coverage[node_name(j)]

    def _score_against_honest(self, g: _Group, o: CycleOutcome) -> None:
        """Count fused values inside the range of the honest reports the decision rested on.

        Honest means not lying in its reports (any ``LyingBehaviour``) at the cycle's start;
        an approach only liars reported on has no honest range, so its fused value is not
        inside it (and is counted apart as well).
        """
        start = self.cycle_start.get(o.cycle, 0.0)
        liars = {
            node_name(k)
            for k in g.nodes
            if any(b.behaviour in _LYING for b in self._acting(k, start))
        }
        for name, fz in o.fused.items():
            honest = [q[name] for cam, q in o.reports if cam not in liars and name in q]
            if not honest:
                continue  # counted in the denominator (fused) as a value outside the range
            self.stats.with_honest += 1
            # Reports are rounded to 0.01 vehicle on the wire; the trimmed mean of them can
            # differ from a bound by float rounding only.
            inside = min(honest) - 1e-9 <= fz.vehicles <= max(honest) + 1e-9
            self.stats.within_honest += int(inside)

    def _configured(self, behaviours: tuple[str, ...] | None = None) -> set[str]:
        """Cameras given a misbehaviour (of ``behaviours``; None: any) at any time of the run."""
        return {
            node_name(k)
            for k, bs in self.byzantine.items()
            if any(behaviours is None or b.behaviour in behaviours for b in bs)
        }

    def geometry(self) -> dict[str, Any]:
        """Whether an intersection's geometry lets the trimmed mean resist ``f`` liars."""
        seen = Counter(a for k in range(self.cameras) for a in self.visible[k])
        least = min(seen.get(a, 0) for a in APPROACH_NAMES[: self.scn.city.approaches])
        f = (self.cameras - 1) // 3
        watchers = self.params.watchers(f)
        return {
            "f": f,
            "min_observers_per_approach": least,
            "watchers_per_approach": min(watchers, least),
            "robust_geometry": least >= 2 * f + 1,
            "robust_every_cycle": min(watchers, least) >= 2 * f + 1,
        }

    def suspicion(self) -> dict[str, Any]:
        """How fast lying cameras were excluded and how often honest ones were suspected,
        from the outcomes the controllers adopted."""
        liars = self._configured(_LYING)
        faulty = self._configured()
        delays: list[int] = []
        caught = honest = honest_excluded = honest_decisions = honest_suspected = 0
        for g in self.groups[: self.n_intersection_groups]:
            if not g.outcomes:
                continue
            first = g.outcomes[0].cycle
            members = [node_name(k) for k in g.nodes]
            for cam in members:
                if cam in liars:
                    at = next((o.cycle for o in g.outcomes if cam in o.excluded), None)
                    if at is not None:
                        caught += 1
                        delays.append(at - first + 1)
                elif cam not in faulty:
                    honest += 1
                    honest_excluded += int(cam in g.outcomes[-1].excluded)
                    honest_decisions += len(g.outcomes)
                    honest_suspected += sum(cam in o.suspects for o in g.outcomes)
        n_liars = sum(
            node_name(k) in liars
            for g in self.groups[: self.n_intersection_groups]
            for k in g.nodes
        )
        return {
            "liars": n_liars,
            "liars_excluded": caught,
            "decisions_to_exclude_max": max(delays) if delays else None,
            "decisions_to_exclude_mean": round(float(np.mean(delays)), 3) if delays else None,
            "honest_cameras": honest,
            "honest_excluded": honest_excluded,
            "false_suspect_rate": round(honest_suspected / honest_decisions, 6)
            if honest_decisions
            else None,
        }

    def safety(self) -> dict[str, Any]:
        """PBFT safety from every honest replica's own committed log, per group: the
        divergent commits must be 0 wherever at most ``f`` members misbehave."""
        faulty = self._configured()
        totals = Counter[str]()
        for g in self.groups:
            members = [node_name(k) for k in g.nodes]
            honest = [m for m in members if m not in faulty]
            check = check_logs({m: g.logs.get(m, []) for m in members}, honest)
            within = len(members) - len(honest) <= g.config.f
            totals["groups"] += 1
            totals["groups_within_f"] += int(within)
            totals["replicas_checked"] += check.replicas
            totals["commits_checked"] += check.commits
            totals["rounds_checked"] += check.rounds
            totals["rounds_compared"] += check.compared
            totals["divergent_commits"] += check.divergent
            totals["divergent_commits_within_f"] += check.divergent if within else 0
        return {**totals, "safe": totals["divergent_commits_within_f"] == 0}

    def compute_scale(self) -> np.ndarray:
        """Share of its detection work each camera still does under the agreed coverage."""
        return np.array(
            [len(self.assigned[k]) / max(1, len(self.visible[k])) for k in range(self.n)]
        )

    def take_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """Air and CPU seconds spent on consensus since the last call."""
        air, cpu = self.pending_air_s.copy(), self.pending_cpu_s.copy()
        self.cpu_s_total += float(cpu.sum())
        self.pending_air_s.fill(0.0)
        self.pending_cpu_s.fill(0.0)
        return air, cpu

    def metrics(
        self, cycles: int, radio_air_w: float, cpu_w: float, saved_j: float, alone_j: float
    ) -> dict[str, Any]:
        s = self.stats
        rejected: Counter[str] = Counter()
        view_changes = 0
        skipped = 0
        for g in self.groups:
            for c in g.cycles.values():
                rejected.update(c.rejected)
            for r in g.replicas.values():
                rejected.update(r.rejected)
                view_changes += r.view_changes
                skipped += r.skipped

        def pct(xs: list[float], q: float) -> float | None:
            return round(float(np.percentile(xs, q)) * 1000.0, 3) if xs else None

        levels: dict[str, Any] = {}
        for level in ("intersection", "district"):
            dec = s.decisions[level]
            levels[level] = {
                "decisions": dec,
                "decision_latency_ms_p50": pct(s.latencies[level], 50),
                "decision_latency_ms_p99": pct(s.latencies[level], 99),
                "messages_per_decision": round(s.messages[level] / dec, 3) if dec else None,
                "deliveries_per_decision": round(s.deliveries[level] / dec, 3) if dec else None,
                "bytes_per_decision": round(s.bytes[level] / dec, 1) if dec else None,
            }
        n = self.cameras
        expected = {
            "cluster_size": n,
            "publishes_per_decision": 3 * n + n / self.cfg.checkpoint_interval,
            "point_to_point_per_decision": (n - 1) * (3 * n)
            + n * (n - 1) / self.cfg.checkpoint_interval,
        }
        consensus_j = self.air_s_total * radio_air_w + self.cpu_s_total * cpu_w
        rounds = len(self.cycle_start) * self.n_intersection_groups
        return {
            **levels,
            "expected_pbft": {k: round(v, 3) for k, v in expected.items()},
            "rounds": rounds,
            "undecided_rounds": rounds - s.decisions["intersection"],
            "decision_error_veh_mean": round(float(np.mean(s.errors)), 4) if s.errors else None,
            "decision_error_veh_p99": round(float(np.percentile(s.errors, 99)), 4)
            if s.errors
            else None,
            "robust_fusion_share": round(s.robust / s.fused, 4) if s.fused else None,
            "within_honest_range_share": round(s.within_honest / s.fused, 4) if s.fused else None,
            "fused_without_honest_share": round(1.0 - s.with_honest / s.fused, 4)
            if s.fused
            else None,
            "plan_split_error_mean": round(float(np.mean(s.plan_errors)), 5)
            if s.plan_errors
            else None,
            "geometry": self.geometry(),
            "suspicion": self.suspicion(),
            "safety": self.safety(),
            "settings": {
                "cluster_size": n,
                "byzantine_per_intersection": self.cfg.byzantine_per_intersection,
                "lying_behaviour": self.cfg.lying_behaviour,
                "lying_factor": self.cfg.lying_factor,
                "redundancy": self.cfg.redundancy,
                "robust_coverage": self.cfg.robust_coverage,
                "audit_every": self.cfg.audit_every,
            },
            "view_changes": view_changes,
            "checkpoint_adoptions_skipped": skipped,
            "rejected": dict(sorted(rejected.items())),
            "suspected_reports": s.suspects,
            "signatures": s.signatures,
            "signature_checks": s.checks,
            "consensus_energy_j": round(consensus_j, 3),
            "coverage_energy_saved_j": round(saved_j, 3),
            "detection_energy_alone_j": round(alone_j, 3),
            "coverage_saving_fraction": round(saved_j / alone_j, 6) if alone_j > 0 else None,
            "net_saving_j": round(saved_j - consensus_j, 3),
        }
