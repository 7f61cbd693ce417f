"""Layer 5 at one camera: the signal cycle around its PBFT replica, as a state machine.

What the cameras of an intersection do every signal cycle, written once for every
runtime (DESIGN.md, principle 1): the simulator drives it over its virtual network, a
field node over MQTT, and both do nothing but hand it the time, the camera's queue
report and the messages that arrived, and send what it returns.

1. :meth:`CycleReplica.start`: the runtime's clock says cycle ``k`` has begun; the camera
   signs its report of the queues it watched and broadcasts it.
2. :meth:`CycleReplica.receive`: a peer's report is kept if it is a member's, validly
   signed, well formed and fresh (a cycle that started here at most one cycle ago, or the
   next one, for a sender whose clock runs a little ahead); duplicates and equivocations
   are counted. Every other message goes to the PBFT replica.
3. Once the camera holds its own report and all ``n``, or a quorum once ``collect_s`` has
   passed since its own (:meth:`CycleReplica.tick` fires that deadline), it submits the
   reports, sorted by camera, as the cycle's request; the replicas agree on one set.
4. Every decision the replica executes becomes a :class:`CycleOutcome` derived from the
   agreed reports alone and the suspects of earlier decisions, so every honest camera
   derives the same one: the queues fused per approach, the Webster plan for the signal's
   two phases, the cameras whose reports keep straying from robustly fused values
   (:mod:`.suspicion`: suspected of lying, and from then on left out of the fusion and
   avoided as the watcher of an approach) and which camera watches which approach next
   cycle.

Every rule's parameter is in :class:`CycleParams`, which the simulator builds from its
scenario and a field node reads from its ``node.yaml``; a cluster whose cameras disagree
on one of them would derive different outcomes from the same decision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgeqi.consensus.agreement import (
    Fused,
    SignalPlan,
    assign_coverage,
    cycle_request,
    fuse_reports,
    parse_cycle_request,
    report_queues,
    sign_report,
    webster_plan,
)
from edgeqi.consensus.crypto import Signer, Verifier
from edgeqi.consensus.messages import Phase, signature_ok
from edgeqi.consensus.pbft import ClusterConfig, Decision, Output, Replica
from edgeqi.consensus.suspicion import Suspicion, SuspicionRule
from edgeqi.protocol import ConsensusMessage

KEPT_CYCLES = 3
"""Reports and parsed requests of this many cycles before the current one are kept."""

Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Approaches = Annotated[tuple[str, ...], Field(min_length=1)]
Parsed = list[tuple[str, dict[str, float]]]
"""``(camera, vehicles per approach)`` of a request's reports, sorted by camera."""


class CycleParams(BaseModel):
    """The rules every camera of a cluster shares, with the simulator's values as defaults.

    The defaults are those of ``scenarios/consensus/pbft.yaml``, the simulator's workloads
    (1800 veh/h/lane, 90 s cycle, 8 s lost time) and cities (two lanes per approach,
    approaches N, E, S, W with N/S and E/W the two signal phases), so that a field node
    left at its defaults decides what the simulated one decides.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cycle_s: Positive = 90.0
    """The signal cycle; a report is stale one cycle after its cycle started here."""
    collect_s: Positive = 0.5
    """After its own report a camera waits this long for all ``n`` before proposing a quorum."""
    request_timeout_s: Positive = 2.0
    """PBFT: a request not executed by then starts a view change (doubling per change)."""
    checkpoint_interval: Annotated[int, Field(gt=0)] = 2
    window: Annotated[int, Field(gt=0)] = 4
    redundancy: Annotated[int, Field(gt=0)] = 1
    """Cameras that watch each approach outside audit cycles."""
    robust_coverage: bool = False
    """Every approach watched by at least ``2f + 1`` cameras every cycle (where enough see
    it), so that every fused value is a trimmed mean ``f`` liars cannot move outside the
    honest range; ``redundancy`` then counts only above ``2f + 1``."""
    audit_every: Annotated[int, Field(ge=0)] = 5
    """Every n-th cycle every camera watches everything it sees (0: never), which is when
    enough reports cover an approach for a lying camera to stand out."""
    suspect_noise_veh: Positive = 0.5
    """An honest camera's counting noise (standard deviation, vehicles): the simulator's
    detector's by default (:mod:`.suspicion`)."""
    suspect_noise_share: NonNegative = 0.1
    """Further counting noise per vehicle of queue (standard deviation)."""
    suspect_allowance: NonNegative = 1.0
    """Standardised deviation that never accumulates towards suspicion."""
    suspect_threshold: Positive = 8.0
    """Accumulated standardised deviation at which a camera becomes a suspect."""
    saturation_flow_veh_per_h_per_lane: Positive = 1800.0
    lanes_per_approach: Annotated[int, Field(gt=0)] = 2
    lost_time_s: NonNegative = 8.0
    phases: tuple[Approaches, Approaches] = (("N", "S"), ("E", "W"))
    """The approaches that get green together, phase 0 then phase 1 (the plan's split is
    phase 0's share)."""

    @model_validator(mode="after")
    def _consistent(self) -> CycleParams:
        if self.window < self.checkpoint_interval:
            raise ValueError("window must be at least checkpoint_interval")
        if self.lost_time_s >= self.cycle_s:
            raise ValueError("lost_time_s must be shorter than cycle_s")
        named = [a for phase in self.phases for a in phase]
        if len(set(named)) != len(named):
            raise ValueError("phases: an approach belongs to one phase only")
        return self

    @property
    def suspicion_rule(self) -> SuspicionRule:
        return SuspicionRule(
            self.suspect_noise_veh,
            self.suspect_noise_share,
            self.suspect_allowance,
            self.suspect_threshold,
        )

    def watchers(self, f: int) -> int:
        """Cameras per approach outside audit cycles in a cluster tolerating ``f``."""
        return max(self.redundancy, 2 * f + 1) if self.robust_coverage else self.redundancy

    @property
    def saturation_veh_per_s(self) -> float:
        """Discharge rate of one approach (all its lanes) on green."""
        return self.saturation_flow_veh_per_h_per_lane * self.lanes_per_approach / 3600.0

    def plan(self, queues: Mapping[str, float]) -> SignalPlan:
        """Webster's plan from each phase's critical (longest) queue; an approach in neither
        phase is not one this signal serves and does not count."""
        by_phase = [0.0, 0.0]
        for i, approaches in enumerate(self.phases):
            for a in approaches:
                if a in queues:
                    by_phase[i] = max(by_phase[i], queues[a])
        return webster_plan(by_phase, self.saturation_veh_per_s, self.cycle_s, self.lost_time_s)

    def cluster_config(self, cluster: str, members: Sequence[str]) -> ClusterConfig:
        """The PBFT group of ``members`` (in the order given) under these timings."""
        return ClusterConfig(
            cluster,
            tuple(members),
            request_timeout_s=self.request_timeout_s,
            checkpoint_interval=self.checkpoint_interval,
            window=self.window,
        )


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """What one camera derived from one decision of its cluster."""

    cycle: int
    decision: Decision
    decided_at: float
    reports: tuple[tuple[str, dict[str, float]], ...]
    """``(camera, vehicles per approach)`` of the agreed reports, sorted by camera."""
    fused: dict[str, Fused]
    plan: SignalPlan
    suspects: frozenset[str]
    """Cameras of this decision's reports whose accumulated deviation from robustly fused
    queues is over the threshold."""
    excluded: frozenset[str]
    """Every camera suspected so far: left out of later fusions (unless no one else
    reported an approach) and avoided as an approach's watcher."""
    coverage: dict[str, tuple[str, ...]]
    """Camera -> the approaches it watches next cycle."""

    @property
    def reporters(self) -> tuple[str, ...]:
        return tuple(cam for cam, _ in self.reports)

    @property
    def vehicles(self) -> dict[str, float]:
        return {a: fz.vehicles for a, fz in self.fused.items()}


@dataclass(slots=True)
class CycleOutput(Output):
    """The replica's messages and decisions, and the outcomes derived from the decisions."""

    outcomes: list[CycleOutcome] = field(default_factory=list)


@dataclass(slots=True)
class _Cycle:
    started_at: float | None = None
    """``None``: a peer's report arrived before the cycle started here."""
    collect_at: float | None = None
    """When a quorum suffices (set by this camera's own report)."""
    collected: bool = False
    """``collect_at`` has passed (:meth:`CycleReplica.tick` fired it)."""
    reports: dict[str, ConsensusMessage] = field(default_factory=dict)
    requested: bool = False
    proposed: tuple[str, Parsed] | None = None
    """The request this camera submitted, and its reports."""


class CycleReplica:
    """One camera's part in its intersection's agreement; see the module docstring.

    ``visible`` maps every member to the approaches its camera can see (what coverage
    may give it). Members are taken in sorted order, so cameras that list them
    differently still agree on the primary of each view.
    """

    def __init__(
        self,
        params: CycleParams,
        cluster: str,
        members: Sequence[str],
        signer: Signer,
        verifier: Verifier,
        visible: Mapping[str, Sequence[str]],
    ) -> None:
        self.params = params
        self.cfg = params.cluster_config(cluster, sorted(members))
        self.replica = Replica(self.cfg, signer, verifier, self._valid)
        self.id = signer.node_id
        self._signer = signer
        self._verifier = verifier
        self.visible = {m: tuple(visible.get(m, ())) for m in self.cfg.members}
        self.assigned: tuple[str, ...] = self.visible[self.id]
        """The approaches this camera's report covers next (from its latest outcome)."""
        self.excluded: frozenset[str] = frozenset()
        self.suspicion = Suspicion(params.suspicion_rule)
        self.rejected: Counter[str] = Counter()
        """Peer reports refused, by reason (the replica counts its own messages)."""
        self.current = -1
        """The latest cycle started here."""
        self._cycles: dict[int, _Cycle] = {}
        self._parsed: dict[int, dict[str, Parsed | None]] = {}
        self._report_seq = 0

    # -- inputs -----------------------------------------------------------------------

    def start(self, now: float, cycle: int, queues: Mapping[str, float] | None) -> CycleOutput:
        """Cycle ``cycle`` begins here: sign and broadcast this camera's report of ``queues``
        (vehicles per approach watched). ``None``: it has nothing to report this cycle (then
        it proposes nothing either, but still takes its peers' reports)."""
        c = self._cycles.setdefault(cycle, _Cycle())
        if c.started_at is not None:
            raise ValueError(f"cycle {cycle} already started")
        c.started_at = now
        self.current = max(self.current, cycle)
        for old in [k for k in self._cycles if k < cycle - KEPT_CYCLES]:
            del self._cycles[old]
        for old in [k for k in self._parsed if k < cycle - KEPT_CYCLES]:
            del self._parsed[old]
        out = CycleOutput()
        if queues is None:
            return out
        self._report_seq += 1
        m = sign_report(self._signer, self.cfg.cluster, cycle, queues, self._report_seq, now)
        c.reports[self.id] = m
        c.collect_at = now + self.params.collect_s
        out.messages.append((None, m))
        self._maybe_request(cycle, c, now, out)
        return out

    def receive(self, now: float, m: ConsensusMessage) -> CycleOutput:
        """A message from the network: a peer's report, or anything for the replica."""
        out = CycleOutput()
        if m.phase != Phase.REPORT:
            self._absorb(self.replica.receive(now, m), now, out)
        elif m.node_id != self.id:  # our own report comes back from a broker: we have it
            reason = self._take_report(now, m)
            if reason is not None:
                self.rejected[reason] += 1
            else:
                self._maybe_request(m.number, self._cycles[m.number], now, out)
        return out

    def tick(self, now: float) -> CycleOutput:
        """Fire what is due: collect deadlines, then the replica's timers."""
        out = CycleOutput()
        for number, c in list(self._cycles.items()):
            if c.collect_at is not None and not c.collected and now >= c.collect_at:
                c.collected = True
                self._maybe_request(number, c, now, out)
        self._absorb(self.replica.tick(now), now, out)
        return out

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has something to do (``None``: nothing pending)."""
        times = [
            c.collect_at
            for c in self._cycles.values()
            if c.collect_at is not None and not c.collected and not c.requested
        ]
        if (d := self.replica.next_deadline) is not None:
            times.append(d)
        return min(times) if times else None

    # -- reports and requests -----------------------------------------------------------

    def _take_report(self, now: float, m: ConsensusMessage) -> str | None:
        """Keep a peer's report, or say why not."""
        if m.cluster != self.cfg.cluster:
            return "wrong_cluster"
        if m.node_id not in self.cfg.members:
            return "unknown_sender"
        if not signature_ok(self._verifier, m) or report_queues(m) is None:
            return "bad_signature"
        c = self._cycles.get(m.number)
        if c is None or c.started_at is None:
            if m.number != self.current + 1:
                return "stale_seq"
            c = self._cycles.setdefault(m.number, _Cycle())
        elif now - c.started_at > self.params.cycle_s:
            return "stale_seq"
        have = c.reports.get(m.node_id)
        if have is not None:
            return "duplicate" if have == m else "equivocation"
        c.reports[m.node_id] = m
        return None

    def _maybe_request(self, cycle: int, c: _Cycle, now: float, out: CycleOutput) -> None:
        if c.requested or self.id not in c.reports or len(c.reports) < self.cfg.quorum:
            return
        if len(c.reports) < self.cfg.n and c.collect_at is not None and now < c.collect_at:
            return
        c.requested = True
        chosen = [c.reports[m] for m in sorted(c.reports)]
        value = cycle_request(chosen)
        # Each report was checked on arrival (our own we signed): should this request be
        # decided, deriving the outcome needs no second round of signature checks.
        parsed = [(m.node_id, q) for m in chosen if (q := report_queues(m)) is not None]
        if len(parsed) == len(chosen):
            c.proposed = (value, parsed)
        self._absorb(self.replica.request(now, f"cycle-{cycle}", value, broadcast=False), now, out)

    def _valid(self, key: str, value: str) -> bool:
        return self._parse(key, value) is not None

    def _parse(self, key: str, value: str) -> Parsed | None:
        """A request's reports, checked once per value (each check verifies every report)."""
        cycle = _cycle_of(key)
        if cycle is None:
            return None
        cache = self._parsed.setdefault(cycle, {})
        if value not in cache:
            c = self.cfg
            cache[value] = parse_cycle_request(
                value, c.cluster, cycle, c.quorum, self._verifier, c.members
            )
        return cache[value]

    # -- decisions ------------------------------------------------------------------------

    def _absorb(self, replica_out: Output, now: float, out: CycleOutput) -> None:
        out.messages.extend(replica_out.messages)
        for d in replica_out.decisions:
            out.decisions.append(d)
            outcome = self._outcome(d, now)
            if outcome is not None:
                out.outcomes.append(outcome)

    def _fuse(self, reports: Parsed) -> dict[str, Fused]:
        """Fuse over the cameras not suspected so far; an approach only suspects reported
        on is fused over their reports (there is nothing else to go on)."""
        f = self.cfg.f
        trusted = fuse_reports([q for cam, q in reports if cam not in self.excluded], f)
        every = fuse_reports([q for _, q in reports], f)
        return {a: trusted.get(a, fz) for a, fz in every.items()}

    def _outcome(self, d: Decision, now: float) -> CycleOutcome | None:
        cycle = _cycle_of(d.key)
        if cycle is None:
            return None
        c = self._cycles.get(cycle)
        if c is not None and c.proposed is not None and c.proposed[0] == d.value:
            reports = c.proposed[1]
        else:
            reports = self._parse(d.key, d.value) or []
        if not reports:
            return None
        p = self.params
        # What a camera cannot see it cannot report: such values are dropped, so a liar
        # cannot weigh in on an approach it cannot see.
        seen = [(cam, {a: v for a, v in q.items() if a in self.visible[cam]}) for cam, q in reports]
        fused = self._fuse(seen)
        suspects = self.suspicion.observe(seen, fused)
        room = self.cfg.f - len(self.excluded)
        self.excluded |= self.suspicion.worst(suspects - self.excluded, room)
        coverage = assign_coverage(
            self.visible,
            cycle + 1,
            excluded=self.excluded,
            redundancy=p.watchers(self.cfg.f),
            audit_every=p.audit_every,
        )
        self.assigned = coverage[self.id]
        return CycleOutcome(
            cycle=cycle,
            decision=d,
            decided_at=now,
            reports=tuple(reports),
            fused=fused,
            plan=p.plan({a: fz.vehicles for a, fz in fused.items()}),
            suspects=suspects,
            excluded=self.excluded,
            coverage=coverage,
        )


def _cycle_of(key: str) -> int | None:
    """The cycle a request's key (``cycle-K``) is for."""
    try:
        return int(key.removeprefix("cycle-"))
    except ValueError:
        return None


class Tally:
    """A signal controller's rule for its cameras' decisions: act on one once ``f + 1``
    cameras decided the same value for its key, so at least one honest camera did."""

    def __init__(self, f: int) -> None:
        self.f = f
        self.votes: dict[str, Counter[str]] = {}
        self.adopted: set[str] = set()

    def vote(self, d: Decision) -> bool:
        """Count one camera's decision; true once per key, when it is to be acted on."""
        votes = self.votes.setdefault(d.key, Counter())
        votes[d.digest] += 1
        if d.key in self.adopted or votes[d.digest] < self.f + 1:
            return False
        self.adopted.add(d.key)
        return True
