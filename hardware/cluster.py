"""Layer 5 on a device: this camera's part in its intersection's PBFT cluster, over MQTT.

The same cycle as the simulator's (``sim/consensus.py``), driven by the wall clock:
cycle ``k`` starts at ``k * cycle_s`` seconds of Unix time on every camera (their
clocks are NTP-synchronised, so no extra message is needed to agree on the numbering).
At its start each camera signs a queue report for the approaches it was assigned and
publishes it; once it holds ``2f + 1`` valid reports (all ``n``, or ``collect_s`` after
its own) it submits them as the cycle's request, and the real
:class:`~edgeqi.consensus.Replica` agrees on one set with the others. From a decision
every camera derives the same fused queues, Webster plan and next coverage
(:mod:`edgeqi.consensus.agreement`). Parameters come from the simulator's
``scenarios/consensus/pbft.yaml`` so both runtimes use the same ones.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import scenarios
from edgeqi.consensus import ClusterConfig, KeyPair, Replica, Verifier
from edgeqi.consensus.agreement import (
    SignalPlan,
    assign_coverage,
    cycle_request,
    fuse_reports,
    parse_cycle_request,
    report_queues,
    sign_report,
    webster_plan,
)
from edgeqi.consensus.messages import signature_ok
from edgeqi.protocol import ConsensusMessage
from netio.mqtt_consensus import Forward, MqttReplica, Stamp

log = logging.getLogger(__name__)

Observe = Callable[[], Mapping[str, float]]
"""The camera's latest queue per approach it watches (vehicles)."""


@dataclass(frozen=True, slots=True)
class PbftParams:
    """The simulator's PBFT settings (``scenarios/consensus/pbft.yaml``)."""

    request_timeout_s: float
    collect_s: float
    checkpoint_interval: int
    window: int
    redundancy: int
    audit_every: int

    @staticmethod
    def load(path: Path | None = None) -> PbftParams:
        src = path or Path(scenarios.__file__).parent / "consensus" / "pbft.yaml"
        raw = yaml.safe_load(src.read_text())
        return PbftParams(
            request_timeout_s=float(raw["request_timeout_s"]),
            collect_s=float(raw["collect_s"]),
            checkpoint_interval=int(raw["checkpoint_interval"]),
            window=int(raw["window"]),
            redundancy=int(raw["redundancy"]),
            audit_every=int(raw["audit_every"]),
        )


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """What this camera's replica decided for one cycle."""

    cycle: int
    decided_at: float
    fused: dict[str, float]
    robust: bool
    plan: SignalPlan
    coverage: tuple[str, ...]
    """The approaches this camera watches next cycle."""
    reporters: tuple[str, ...]


@dataclass
class _Cycle:
    started_at: float
    reports: dict[str, ConsensusMessage] = field(default_factory=dict)
    requested: bool = False


class CameraCluster:
    """Reports, requests and decisions of one camera; call :meth:`step` often."""

    def __init__(
        self,
        cluster: str,
        members: Sequence[str],
        keys: KeyPair,
        public_keys: Mapping[str, bytes],
        visible: Mapping[str, Sequence[str]],
        observe: Observe,
        host: str,
        port: int,
        cycle_s: float,
        *,
        params: PbftParams | None = None,
        clock: Callable[[], float],
        username: str | None = None,
        password: str | None = None,
        stamp: Stamp | None = None,
        tls_context: ssl.SSLContext | None = None,
        reconnect_s: tuple[int, int] = (1, 30),
        forward: Forward | None = None,
        saturation_veh_per_s: float = 1800.0 / 3600.0,
        lost_time_s: float = 8.0,
    ) -> None:
        """``visible`` maps every member to the approaches its camera can see."""
        self.params = params or PbftParams.load()
        members = tuple(sorted(members))
        missing = [m for m in members if m not in public_keys]
        if missing:
            raise ValueError(f"cluster {cluster}: no public key for {', '.join(missing)}")
        if keys.node_id not in members:
            raise ValueError(f"{keys.node_id} is not a member of cluster {cluster}")
        p = self.params
        self.config = ClusterConfig(
            cluster,
            members,
            request_timeout_s=p.request_timeout_s,
            checkpoint_interval=p.checkpoint_interval,
            window=p.window,
        )
        self.id = keys.node_id
        self.signer = keys.signer()
        self.verifier = Verifier({m: public_keys[m] for m in members})
        self.visible = {m: tuple(visible.get(m, ())) for m in members}
        self.assigned = self.visible[self.id]
        self.observe = observe
        self.cycle_s = cycle_s
        self.clock = clock
        self.saturation = saturation_veh_per_s
        self.lost_time_s = lost_time_s
        self.cycles: dict[int, _Cycle] = {}
        self.current = -1
        self.outcomes: list[CycleOutcome] = []
        self.rejected_reports = 0
        self._report_seq = 0
        replica = Replica(self.config, self.signer, self.verifier, self._validate)
        self.mqtt = MqttReplica(
            replica,
            host,
            port,
            clock=clock,
            username=username,
            password=password,
            on_report=self._on_report,
            stamp=stamp,
            tls_context=tls_context,
            reconnect_min_s=reconnect_s[0],
            reconnect_max_s=reconnect_s[1],
            forward=forward,
        )

    @property
    def replica(self) -> Replica:
        return self.mqtt.replica

    def wait_ready(self, timeout: float) -> bool:
        return self.mqtt.wait_ready(timeout)

    # -- the cycle ----------------------------------------------------------------------

    def step(self, timeout: float = 0.0) -> list[CycleOutcome]:
        """Start a cycle when its time has come, handle arrivals and timers, decide."""
        now = self.clock()
        cycle = int(now // self.cycle_s)
        if cycle > self.current:
            self._start(cycle, now)
        self.mqtt.step(timeout)
        now = self.clock()
        for k, c in list(self.cycles.items()):
            self._maybe_request(k, c, now)
        decisions, self.mqtt.decisions = self.mqtt.decisions, []
        new = [o for d in decisions if (o := self._outcome(d.key, d.value, now)) is not None]
        self.outcomes.extend(new)
        return new

    def _start(self, cycle: int, now: float) -> None:
        self.current = cycle
        for old in [k for k in self.cycles if k < cycle - 3]:
            del self.cycles[old]
        latest = self.observe()
        queues = {a: float(latest.get(a, 0.0)) for a in self.assigned}
        self._report_seq += 1
        report = sign_report(self.signer, self.config.cluster, cycle, queues, self._report_seq, now)
        report = self.mqtt.send(report)
        self.cycles.setdefault(cycle, _Cycle(now)).reports[self.id] = report

    def _on_report(self, m: ConsensusMessage) -> None:
        """A peer's report (network thread is not involved: called from :meth:`step`)."""
        if (
            m.node_id not in self.config.members
            or not signature_ok(self.verifier, m)
            or report_queues(m) is None
            or not self.current - 1 <= m.number <= self.current + 1
        ):
            self.rejected_reports += 1
            return
        c = self.cycles.setdefault(m.number, _Cycle(self.clock()))
        c.reports.setdefault(m.node_id, m)

    def _maybe_request(self, cycle: int, c: _Cycle, now: float) -> None:
        n, quorum = self.config.n, self.config.quorum
        if c.requested or self.id not in c.reports or len(c.reports) < quorum:
            return
        if len(c.reports) < n and now < c.started_at + self.params.collect_s:
            return
        c.requested = True
        value = cycle_request([c.reports[m] for m in sorted(c.reports)])
        self.mqtt.publish(self.replica.request(now, f"cycle-{cycle}", value, broadcast=False))

    # -- decisions ------------------------------------------------------------------------

    def _validate(self, key: str, value: str) -> bool:
        return self._parse(key, value) is not None

    def _parse(self, key: str, value: str) -> list[tuple[str, dict[str, float]]] | None:
        try:
            cycle = int(key.removeprefix("cycle-"))
        except ValueError:
            return None
        c = self.config
        return parse_cycle_request(value, c.cluster, cycle, c.quorum, self.verifier, c.members)

    def _outcome(self, key: str, value: str, now: float) -> CycleOutcome | None:
        parsed = self._parse(key, value)
        if not parsed:
            return None
        cycle = int(key.removeprefix("cycle-"))
        fused = fuse_reports([q for _, q in parsed], self.config.f)
        approaches = sorted(fused)
        # Approaches alternate between the two signal phases, as in the simulated city.
        by_phase = [0.0, 0.0]
        for i, a in enumerate(approaches):
            by_phase[i % 2] = max(by_phase[i % 2], fused[a].vehicles)
        plan = webster_plan(by_phase, self.saturation, self.cycle_s, self.lost_time_s)
        cover = assign_coverage(
            self.visible,
            cycle + 1,
            redundancy=self.params.redundancy,
            audit_every=self.params.audit_every,
        )
        self.assigned = cover[self.id]
        outcome = CycleOutcome(
            cycle=cycle,
            decided_at=now,
            fused={a: round(fz.vehicles, 3) for a, fz in fused.items()},
            robust=all(fz.robust for fz in fused.values()),
            plan=plan,
            coverage=self.assigned,
            reporters=tuple(cam for cam, _ in parsed),
        )
        log.info(
            "consensus cycle %d decided: queues %s, plan cycle %.1f s split %.2f, next watch %s",
            cycle,
            outcome.fused,
            plan.cycle_s,
            plan.split_phase0,
            ",".join(self.assigned) or "-",
        )
        return outcome

    def close(self) -> None:
        self.mqtt.close()
