"""EdgeNode: the eight layers composed into one deterministic state machine.

``step(now, inputs)`` is the whole node: it is handed the time, the frames captured
since the last step, its battery reading and its link feedback, and returns the
messages to publish (each with the time it is ready to leave), any video it streams
and how long the processor spent in each mode. It never reads a clock or touches a
socket, so the simulator, the hardware runtime and the tests drive the very same
object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from edgeqi.energy import DeviceProfile
from edgeqi.evidence import EventConfirmer
from edgeqi.network import LinkMonitor
from edgeqi.perception import Perception, WindowObservation
from edgeqi.policy_hook import (
    DecisionPolicy,
    OverridableTransmitter,
    PolicyAction,
    PolicyMemory,
    PolicyObservation,
)
from edgeqi.protocol import (
    AnomalyReport,
    AnomalyType,
    BatchSummary,
    DetectionBatch,
    Heartbeat,
    LinkStats,
    Location,
    Message,
    ModelMode,
    QueueObservation,
    ReportPriority,
)
from edgeqi.scheduling import (
    Constraints,
    Outcome,
    Priority,
    Scheduler,
    SchedulerConfig,
    Task,
    TaskDecision,
)
from edgeqi.streaming import StreamingConfig, TierSelector
from edgeqi.transmission import (
    Action,
    CycleConfirmation,
    CycleMax,
    TransmissionConfig,
    Verdict,
)

ENCODE_S = 0.001
"""Processor time to build, encode and hand one message to the transport."""
EMERGENCY_CLEAR_S = 10.0
"""An emergency vehicle confirmed after this long (5 windows) with no evidence on its
approach is a new one: long enough that a detector missing one or two windows of the same
vehicle does not repeat the alert, short enough that a second vehicle following the first
within a minute is still reported (edgeqi.evidence.EventConfirmer)."""
STALLED_CLEAR_S = 60.0
"""Likewise a stalled vehicle: the tracker flags one in under a third of the windows, so
gaps of several windows are the same vehicle, not a new one."""


class TransmitMode(StrEnum):
    """What a node sends of its observations."""

    ANOMALY = "anomaly"  # Algorithm 2
    ALL = "all"  # every observation (stream-everything baseline)
    PERIODIC = "periodic"  # every ``periodic_s`` seconds


class VideoMode(StrEnum):
    OFF = "off"
    CONTINUOUS = "continuous"  # stream the camera at a fixed tier
    ON_CRITICAL = "on_critical"  # attach a clip to critical reports, at the adaptive tier


POLICY_SHAPES: dict[str, tuple[bool, TransmitMode, VideoMode]] = {
    "edgeqi": (True, TransmitMode.ANOMALY, VideoMode.ON_CRITICAL),
    "stream_all": (False, TransmitMode.ALL, VideoMode.CONTINUOUS),
    "periodic": (False, TransmitMode.PERIODIC, VideoMode.OFF),
    "fifo": (False, TransmitMode.ALL, VideoMode.OFF),
    "edgeqi_no_alg1": (False, TransmitMode.ANOMALY, VideoMode.ON_CRITICAL),
    "edgeqi_no_alg2": (True, TransmitMode.ALL, VideoMode.OFF),
    "learned": (True, TransmitMode.ANOMALY, VideoMode.ON_CRITICAL),
}
"""The policies runs compare, by name: (constraint-aware scheduling, transmit mode, video
mode). The simulator and a field node build the same :class:`NodePolicy` from a name.
``learned`` is EDGE-QI's shape whose per-window decisions a :class:`DecisionPolicy` takes."""


@dataclass(frozen=True, slots=True)
class NodePolicy:
    name: str
    scheduler: SchedulerConfig
    transmission: TransmissionConfig
    transmit: TransmitMode
    video: VideoMode
    fixed_tier_kbps: int = 1500
    periodic_s: float = 30.0
    clip_s: float = 10.0
    camera_fault_after: int = 3
    """Consecutive windows with no usable frame before the node reports its camera broken."""
    emergency_confirm: tuple[int, int] = (2, 3)
    """An emergency vehicle is reported once seen in M of the last N windows (edgeqi.evidence)."""
    stalled_confirm: tuple[int, int] = (3, 5)
    """Likewise a stalled vehicle: a slower event, so more windows of evidence."""


@dataclass(frozen=True, slots=True)
class NodeConfig:
    node_id: str
    intersection: str
    approaches: tuple[str, ...]
    profile: DeviceProfile
    policy: NodePolicy
    observe_period_s: float
    heartbeat_period_s: float
    frames_per_observation: int
    cycle_s: float
    """Signal cycle of the node's intersection: Algorithm 2 scores each cycle's peak queue."""
    location: Location | None = None
    """Where the camera stands, for the operator's map. Unset, the heartbeat names no place
    and keeps its old size, so runs that do not place nodes count the same bytes."""
    approach: str | None = None
    """The approach the camera watches, sent with ``location`` so the map can draw it."""


class Ack(NamedTuple):
    """Transport feedback: one message delivered (``rtt_ms``), ``nbytes`` in ``transfer_s``."""

    rtt_ms: float
    nbytes: int
    transfer_s: float


@dataclass(slots=True)
class NodeInputs:
    window: object
    """Frames captured since the last step, opaque to the node (handed to perception)."""
    battery_soc: float
    power_w: float = 0.0
    acks: Sequence[Ack] = ()
    sent: int = 0
    lost: int = 0
    video_buffer_s: float | None = None
    """Seconds of video queued in the streamer, where the runtime has a streamer to ask."""
    cpu: float | None = None
    """Board health for the heartbeat, where the runtime has sensors to read (a device):
    CPU load 0-1, memory used in MiB, hottest temperature in Celsius."""
    mem_mb: float | None = None
    temp_c: float | None = None


class Outgoing(NamedTuple):
    """A message ready to leave at ``at``; ``event_at`` is when the node saw what it reports."""

    at: float
    message: Message
    event_at: float


class VideoSegment(NamedTuple):
    at: float
    seconds: float
    tier_kbps: int

    @property
    def nbytes(self) -> int:
        return int(self.tier_kbps * 1000 * self.seconds / 8)


@dataclass(slots=True)
class NodeOutputs:
    messages: list[Outgoing] = field(default_factory=list)
    video: list[VideoSegment] = field(default_factory=list)
    compute_full_s: float = 0.0
    compute_reduced_s: float = 0.0
    decisions: list[TaskDecision] = field(default_factory=list)


@dataclass(slots=True)
class _Send:
    """Payload of a transmission task: the message is built when the task runs (seq then)."""

    kind: str
    event_at: float
    fields: dict[str, Any]


class EdgeNode:
    """One camera node: perception, Algorithm 1, Algorithm 2, streaming, energy and link."""

    def __init__(
        self,
        config: NodeConfig,
        perception: Perception,
        started_at: float,
        learned: DecisionPolicy | None = None,
    ) -> None:
        self.config = config
        self.perception = perception
        policy = config.policy
        self.scheduler = Scheduler(policy.scheduler)
        self.transmitter = OverridableTransmitter(policy.transmission)
        self.learned = learned
        """Asked at the end of every step for the next window's decisions (edgeqi.policy_hook)."""
        self.next_action: PolicyAction | None = None
        """The decisions the next step applies; ``None``: Algorithms 1 and 2 decide."""
        self.memory = PolicyMemory()
        self._soc = 1.0
        self._prefer_reduced = False
        self._clip = True
        self.cycles = CycleMax(config.cycle_s)
        self.tiers = TierSelector(StreamingConfig())
        self.link = LinkMonitor()
        self.seq = 0
        self.started_at = started_at
        self.mode = ModelMode.FULL
        self.frames_rejected = 0
        self._bad_windows = 0
        self._camera_fault_reported = False
        lanes = len(config.approaches)
        emergency, stalled = policy.emergency_confirm, policy.stalled_confirm
        self._confirm: dict[AnomalyType, EventConfirmer] = {
            AnomalyType.EMERGENCY_VEHICLE: EventConfirmer(lanes, *emergency, EMERGENCY_CLEAR_S),
            AnomalyType.STALLED_VEHICLE: EventConfirmer(lanes, *stalled, STALLED_CLEAR_S),
        }
        self._queue_evidence = CycleConfirmation(policy.transmission)
        """Which of Algorithm 2's anomalous cycles are confirmed, to be reported."""
        self._objects = 0.0
        """Objects per frame in the last window detected: what the next one is budgeted for."""
        self._alerting = [False] * len(config.approaches)
        """Per approach: a critical alert (with its clip) was sent and the anomaly goes on."""
        self._next_heartbeat = started_at + config.heartbeat_period_s
        self._next_periodic = started_at
        self._batch_pending = False
        self._dropped_reported = 0
        self._deferred_reported = 0
        self._keys = tuple(f"{config.intersection}/{a}" for a in config.approaches)

    # -- public -----------------------------------------------------------------------

    def step(self, now: float, inputs: NodeInputs) -> NodeOutputs:
        out = NodeOutputs()
        cfg = self.config
        action = self.next_action
        self.transmitter.override = None if action is None else action.transmit
        self._prefer_reduced = action is not None and action.reduced
        self._clip = action is None or action.clip
        self._soc = inputs.battery_soc
        if inputs.sent or inputs.acks or inputs.lost:  # most windows send nothing
            self._feed_link(now, inputs)
        quality = self.link.quality()
        constraints = Constraints(
            battery_soc=inputs.battery_soc,
            latency_ms=quality.rtt_ms / 2.0,
            bandwidth_kbps=quality.bandwidth_kbps,
        )
        self._submit_perception(now, inputs)
        if now >= self._next_heartbeat:
            self._next_heartbeat += cfg.heartbeat_period_s
            # Normally routine; on a low battery it is the only sign of life the backend gets
            # while Algorithm 1 holds back all non-critical work, so it goes as critical.
            starving = inputs.battery_soc < cfg.policy.scheduler.battery_threshold
            prio = Priority.CRITICAL if starving else Priority.NORMAL
            self._submit_send(now, prio, "heartbeat", now, {})
        if not self._batch_pending and self.transmitter.batch_due(now):
            self._batch_pending = True
            self._submit_send(now, Priority.LOW, "batch", now, {})
        # A detection creates reports, which the scheduler then places in the same step;
        # reports create nothing further, so this settles in two or three rounds.
        decisions = self.scheduler.step(now, constraints)
        while decisions:
            for d in decisions:
                out.decisions.append(d)
                self._apply(d, inputs, out)
            decisions = self.scheduler.step(now, constraints)
        if self.config.policy.video is VideoMode.CONTINUOUS:
            tier = self.config.policy.fixed_tier_kbps
            out.video.append(VideoSegment(now, cfg.observe_period_s, tier))
        self.tiers.update(now, quality.bandwidth_kbps, quality.loss, inputs.video_buffer_s)
        if self.learned is not None:
            self.next_action = self.learned(self.policy_observation(now))
        return out

    def policy_observation(self, now: float) -> PolicyObservation:
        """What this node knows after its step at ``now``: a learned policy's input."""
        peak_z: float | None = None
        progress = 0.0
        for key in self._keys:
            running = self.cycles.running(key)
            if running is None:
                continue
            start, peak = running
            progress = max(progress, min(1.0, (now - start) / self.cycles.window_s))
            z = self.transmitter.baseline.score(key, peak, now)[0]
            peak_z = z if peak_z is None else max(peak_z, z)
        q = self.link.quality()
        return self.memory.observation(
            0.0 if peak_z is None else peak_z,
            progress,
            self._soc,
            q.rtt_ms,
            q.bandwidth_kbps,
            q.loss,
            now,
        )

    def next_seq(self) -> int:
        seq = self.seq
        self.seq += 1
        return seq

    # -- inputs -----------------------------------------------------------------------

    def _feed_link(self, now: float, inputs: NodeInputs) -> None:
        if inputs.sent:
            self.link.on_sent(now, inputs.sent)
        for ack in inputs.acks:
            self.link.on_ack(now, ack.rtt_ms, ack.nbytes, ack.transfer_s)
        if inputs.lost:
            self.link.on_loss(now, inputs.lost)

    def _submit_perception(self, now: float, inputs: NodeInputs) -> None:
        """Layer 2 then a Layer 3 task; a camera whose frames are all bad is reported once."""
        cfg = self.config
        check = self.perception.check(inputs.window)
        if check.rejected:  # a clean window (the usual one) rejects nothing
            self.frames_rejected += check.total_rejected
        if check.good == 0:
            self._bad_windows += 1
            if (
                self._bad_windows >= cfg.policy.camera_fault_after
                and not self._camera_fault_reported
            ):
                self._camera_fault_reported = True
                reason = max(check.rejected, key=lambda r: check.rejected[r], default="no_frames")
                self._submit_send(
                    now,
                    Priority.CRITICAL,
                    "anomaly",
                    now,
                    {
                        "approach": "*",
                        "anomaly": AnomalyType.CAMERA_FAULT,
                        "priority": ReportPriority.CRITICAL,
                        "value": float(check.total_rejected),
                        "baseline": 0.0,
                        "score": 0.0,
                        "significance": float(self._bad_windows),
                        "reason": reason,
                    },
                )
            return
        self._bad_windows = 0
        self._camera_fault_reported = False
        frames = check.good
        prof = cfg.profile
        # Budgeted by the last window's crowd: the next one is seldom very different.
        full_s = prof.detection_s(frames, self._objects, reduced=False)
        reduced_s = prof.detection_s(frames, self._objects, reduced=True)
        self.scheduler.submit(
            Task(
                name="detect",
                priority=Priority.CRITICAL,
                created_at=now,
                deadline=now + cfg.observe_period_s,
                duration_s=full_s,
                energy_j=full_s * prof.full_w,
                reduced_duration_s=reduced_s,
                reduced_energy_j=reduced_s * prof.reduced_w,
                payload=inputs.window,
                supersedable=True,
                prefer_reduced=self._prefer_reduced,
            )
        )

    def _submit_send(
        self, now: float, priority: Priority, kind: str, event_at: float, fields: dict[str, Any]
    ) -> None:
        prof = self.config.profile
        self.scheduler.submit(
            Task(
                name=kind,
                priority=priority,
                created_at=now,
                deadline=now + self._send_deadline(priority),
                duration_s=ENCODE_S,
                energy_j=ENCODE_S * prof.full_w,
                needs_network=True,
                payload=_Send(kind, event_at, fields),
            )
        )

    def _send_deadline(self, priority: Priority) -> float:
        if priority is Priority.CRITICAL:
            return 1.0
        if priority is Priority.HIGH:
            return 5.0
        if priority is Priority.NORMAL:
            return self.config.heartbeat_period_s
        return self.config.policy.transmission.batch_period_s

    # -- decisions --------------------------------------------------------------------

    def _apply(self, d: TaskDecision, inputs: NodeInputs, out: NodeOutputs) -> None:
        task, outcome = d.task, d.outcome
        name = task.name
        if name == "batch" and outcome in (Outcome.RUN, Outcome.DROPPED):
            self._batch_pending = False
        reduced = outcome is Outcome.RUN_REDUCED
        if not reduced and outcome is not Outcome.RUN:
            return
        seconds = d.finish - d.start
        if reduced:
            out.compute_reduced_s += seconds
        else:
            out.compute_full_s += seconds
        if name == "detect":
            self.mode = ModelMode.REDUCED if reduced else ModelMode.FULL
            self._after_detection(d, reduced, out)
        elif isinstance(d.task.payload, _Send):
            message = self._build(d.task.payload, d.finish, inputs)
            if message is not None:
                out.messages.append(Outgoing(d.finish, message, d.task.payload.event_at))

    def _after_detection(self, d: TaskDecision, reduced: bool, out: NodeOutputs) -> None:
        """Algorithm 2 (or the baseline's rule) on what the detector saw."""
        policy = self.config.policy
        t_obs = d.finish
        want_detections = policy.transmit is not TransmitMode.ANOMALY
        obs = self.perception.observe(d.task.payload, reduced, want_detections)
        self._objects = sum(obs.vehicles)
        self.memory.on_window(obs.vehicles)
        # Nearly every window confirms nothing: the reports are built only when one does.
        confirm = self._confirm
        emergency = confirm[AnomalyType.EMERGENCY_VEHICLE].update_all(obs.emergency, t_obs)
        if emergency:
            self._event_reports(AnomalyType.EMERGENCY_VEHICLE, emergency, t_obs)
        stalled = confirm[AnomalyType.STALLED_VEHICLE].update_all(obs.stalled, t_obs)
        if stalled:
            self._event_reports(AnomalyType.STALLED_VEHICLE, stalled, t_obs)
        if policy.transmit is TransmitMode.ANOMALY:
            closed: list[tuple[float, float, float]] = []
            for i, key in enumerate(self._keys):
                peak = self.cycles.push(key, obs.vehicles[i], t_obs)
                if peak is None:
                    continue
                value = peak
                record: dict[str, float | str] = {
                    "t": round(t_obs, 3),
                    "a": self.config.approaches[i],
                    "v": value,
                }
                verdict = self.transmitter.observe(key, value, t_obs, record)
                closed.append((value, verdict.z, verdict.significance))
                anomalous = verdict.action in (Action.TRANSMIT_NOW, Action.TRANSMIT)
                # A learned policy's choice stands in for Algorithm 2's whole decision, its
                # confirmation included (edgeqi.policy_hook); the evidence is counted anyway.
                confirmed = (
                    self._queue_evidence.confirms(key, verdict)
                    or self.transmitter.override is not None
                )
                if not anomalous:
                    self._alerting[i] = False
                elif not confirmed:
                    # One unusual cycle is ordinary variation more often than an incident
                    # (edgeqi.evidence): kept in the next batch summary, not alerted on.
                    self.transmitter.defer(key, value, t_obs, record)
                else:
                    self._queue_report(i, verdict, value, t_obs, out)
            self.memory.on_cycle(closed)
            return
        if policy.transmit is TransmitMode.PERIODIC:
            # On the window clock, not the detector's finishing time, which varies with the
            # crowd: the samples stay ``periodic_s`` apart instead of drifting a window late.
            window_at = d.task.created_at
            if window_at < self._next_periodic:
                return
            self._next_periodic = window_at + policy.periodic_s
        self._submit_observations(obs, t_obs)

    def _queue_report(
        self, i: int, verdict: Verdict, value: float, t_obs: float, out: NodeOutputs
    ) -> None:
        """A confirmed queue anomaly on approach ``i``. Its first critical cycle raises the
        alert, with a clip; later cycles of the same anomaly are updates, without one."""
        policy = self.config.policy
        critical = verdict.action is Action.TRANSMIT_NOW and not self._alerting[i]
        if verdict.action is Action.TRANSMIT_NOW:
            self._alerting[i] = True
        anomaly = (
            AnomalyType.QUEUE_SPIKE
            if verdict.z >= policy.transmission.medium_z
            else AnomalyType.QUEUE_SHIFT
        )
        self._submit_send(
            t_obs,
            Priority.CRITICAL if critical else Priority.HIGH,
            "anomaly",
            t_obs,
            {
                "approach": self.config.approaches[i],
                "anomaly": anomaly,
                "priority": ReportPriority.CRITICAL if critical else ReportPriority.HIGH,
                "value": value,
                "baseline": verdict.baseline,
                "score": verdict.z,
                "significance": verdict.significance,
            },
        )
        if critical and policy.video is VideoMode.ON_CRITICAL and self._clip:
            out.video.append(VideoSegment(t_obs, policy.clip_s, self.tiers.tier_kbps))

    def _submit_observations(self, obs: WindowObservation, t_obs: float) -> None:
        for i, approach in enumerate(self.config.approaches):
            self._submit_send(
                t_obs,
                Priority.NORMAL,
                "queue",
                t_obs,
                {
                    "approach": approach,
                    "vehicles": obs.vehicles[i],
                    "length_m": obs.queue_m[i],
                    "wait_s": obs.wait_s[i],
                },
            )
        self._submit_send(
            t_obs, Priority.NORMAL, "detections", t_obs, {"detections": list(obs.detections)}
        )

    def _event_reports(self, anomaly: AnomalyType, approaches: list[int], t_obs: float) -> None:
        """Perception events (an emergency vehicle, a stalled vehicle) are critical in every
        policy: reported on the window that confirms them (M of the last N windows)."""
        for i in approaches:
            self._submit_send(
                t_obs,
                Priority.CRITICAL,
                "anomaly",
                t_obs,
                {
                    "approach": self.config.approaches[i],
                    "anomaly": anomaly,
                    "priority": ReportPriority.CRITICAL,
                    "value": 1.0,
                    "baseline": 0.0,
                    "score": 0.0,
                    "significance": 0.0,
                },
            )

    def _build(self, send: _Send, at: float, inputs: NodeInputs) -> Message | None:
        cfg = self.config
        f = send.fields
        if send.kind == "anomaly":
            return AnomalyReport(
                node_id=cfg.node_id,
                seq=self.next_seq(),
                ts=at,
                intersection=cfg.intersection,
                approach=str(f["approach"]),
                anomaly=AnomalyType(str(f["anomaly"])),
                priority=ReportPriority(str(f["priority"])),
                observed_at=send.event_at,
                value=float(f["value"]),
                baseline=float(f["baseline"]),
                score=float(f["score"]),
                significance=max(0.0, float(f["significance"])),
            )
        if send.kind == "queue":
            return QueueObservation(
                node_id=cfg.node_id,
                seq=self.next_seq(),
                ts=at,
                intersection=cfg.intersection,
                approach=str(f["approach"]),
                vehicles=float(f["vehicles"]),
                length_m=float(f["length_m"]),
                wait_s=float(f["wait_s"]),
            )
        if send.kind == "detections":
            return DetectionBatch(
                node_id=cfg.node_id,
                seq=self.next_seq(),
                ts=at,
                intersection=cfg.intersection,
                frame_ts=send.event_at,
                detections=f["detections"],
            )
        if send.kind == "batch":
            payload = self.transmitter.flush(at)
            if payload is None:
                return None
            return BatchSummary(
                node_id=cfg.node_id,
                seq=self.next_seq(),
                ts=at,
                window_start=payload.window_start,
                window_end=payload.window_end,
                count=payload.count,
                codec="zlib+json",
                data=payload.data,
                mean_vehicles=max(0.0, payload.mean_value),
                max_vehicles=max(0.0, payload.max_value),
            )
        return self._heartbeat(at, inputs)

    def _heartbeat(self, at: float, inputs: NodeInputs) -> Heartbeat:
        q = self.link.quality()
        stats = self.scheduler.stats
        dropped = stats.dropped - self._dropped_reported
        self._dropped_reported = stats.dropped
        deferred_total = stats.deferred_energy + stats.deferred_network
        deferred = deferred_total - self._deferred_reported
        self._deferred_reported = deferred_total
        return Heartbeat(
            node_id=self.config.node_id,
            seq=self.next_seq(),
            ts=at,
            battery_soc=min(1.0, max(0.0, inputs.battery_soc)),
            power_w=max(0.0, inputs.power_w),
            mode=self.mode,
            tier_kbps=self.tiers.tier_kbps,
            link=LinkStats(rtt_ms=q.rtt_ms, bandwidth_kbps=q.bandwidth_kbps, loss=q.loss),
            discarded=self.transmitter.take_discarded(),
            deferred=deferred,
            dropped=dropped,
            frames_rejected=self.frames_rejected,
            uptime_s=max(0.0, at - self.started_at),
            cpu=None if inputs.cpu is None else min(1.0, max(0.0, inputs.cpu)),
            mem_mb=None if inputs.mem_mb is None else max(0.0, inputs.mem_mb),
            temp_c=inputs.temp_c,
            location=self.config.location,
            intersection=None if self.config.location is None else self.config.intersection,
            approach=None if self.config.location is None else self.config.approach,
        )
