"""``edgeqi node --config node.yaml``: one unchanged :class:`~edgeqi.node.EdgeNode` on the
real clock.

Every ``observe_period_s`` the runtime hands the node the frames the camera thread
sampled since the last step, the board's power, battery and health, and what the
transport learnt of the link; the node runs layers 2-6 (frame checks, the full or int8
detector as Algorithm 1 decides, Algorithm 2, streaming tiers) and returns messages,
which go to the store-and-forward MQTT transport. Between steps the camera's PBFT
replica is served (:mod:`hardware.cluster`). The process tells systemd when it is
ready, pings the watchdog while frames keep arriving, and on SIGTERM stops taking
frames, flushes its queue for a bounded time and exits (``STOPPING=1``).

``--record FILE`` writes one JSON line per step (frames, mode, compute seconds, power,
each message's seq, kind, topic and bytes): what the end-to-end test and the energy
comparison read.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections import deque
from pathlib import Path
from types import FrameType
from typing import IO, Any

from edgeqi.node import Ack, EdgeNode, NodeInputs, NodeOutputs
from edgeqi.perception import FrameCheck, WindowObservation
from edgeqi.perception.camera import CameraPerception
from edgeqi.perception.detector import ModelError
from edgeqi.protocol import ConsensusMessage, Message, encode, mqtt_publish_overhead, topic_for
from edgeqi.transport.buffer import Envelope
from hardware import assemble
from hardware.cluster import CameraCluster
from hardware.frame_sources import Camera, SourceSpec
from hardware.node_config import ConfigError, NodeRuntimeConfig, load
from hardware.sensors import BoardSensors, power_sensor
from hardware.seqfile import SeqReservation
from hardware.systemd import Notifier
from hardware.uplink import Uplink, open_uplink

log = logging.getLogger("edgeqi.node")

STATUS_EVERY_S = 30.0
FLUSH_TIMEOUT_S = 10.0


class ObservedPerception:
    """The camera's perception, remembering the latest per-approach counts for consensus."""

    def __init__(self, inner: CameraPerception, approaches: tuple[str, ...]) -> None:
        self.inner = inner
        self.approaches = approaches
        self.latest: dict[str, float] = {}
        self.frames_detected = 0
        self._good = 0

    def check(self, window: object) -> FrameCheck:
        verdict = self.inner.check(window)
        self._good = verdict.good
        return verdict

    def observe(self, window: object, reduced: bool, with_detections: bool) -> WindowObservation:
        obs = self.inner.observe(window, reduced, with_detections)
        self.latest = dict(zip(self.approaches, obs.vehicles, strict=True))
        self.frames_detected += self._good
        return obs


class Recorder:
    """JSON lines of what the node did, for tests and the energy comparison."""

    def __init__(self, path: Path | None) -> None:
        self._fh: IO[str] | None = path.open("a") if path is not None else None

    def write(self, row: dict[str, Any]) -> None:
        if self._fh is not None:
            self._fh.write(json.dumps(row, separators=(",", ":")) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def _row(m: Message, topic: str) -> list[Any]:
    """A recorded publish: seq, kind, payload bytes, topic."""
    return [m.seq, m.kind, len(encode(m)), topic]


class NodeRuntime:
    """The node, its camera, sensors, uplink and cluster, and the loop that drives them."""

    def __init__(self, cfg: NodeRuntimeConfig, record: Path | None = None) -> None:
        self.cfg = cfg
        self.stop = threading.Event()
        self.notifier = Notifier()
        self.recorder = Recorder(record)
        profile = cfg.power.device
        full = assemble.detector(cfg.model.full, cfg.model)
        reduced = assemble.detector(cfg.model.reduced, cfg.model) if cfg.model.reduced else None
        self.provider = full.providers[0]
        zones = assemble.zones(cfg)
        node_cfg = assemble.node_config(cfg, profile)
        self.perception = ObservedPerception(
            CameraPerception(full, zones, reduced), node_cfg.approaches
        )
        self.node = EdgeNode(
            node_cfg, self.perception, started_at=time.time(), learned=assemble.learned_policy(cfg)
        )
        self.seqs = SeqReservation(cfg.queue.path.with_name(cfg.queue.path.name + ".seq"))
        self.node.seq = self.seqs.start
        self.camera = Camera(
            SourceSpec(
                cfg.camera.source,
                cfg.camera.fps,
                cfg.camera.width,
                cfg.camera.height,
                loop=cfg.camera.loop,
            ),
            queue_frames=max(8, 2 * node_cfg.frames_per_observation),
        )
        self.sensors = BoardSensors(
            power_sensor(cfg.power.kind.value, dict(cfg.power.options), cfg.power.replay)
        )
        self._acks: deque[tuple[float, Envelope]] = deque()
        self._sent_at: dict[int, float] = {}
        self._connected_at = 0.0
        self._was_connected = False
        self._dropped_seen = 0
        self._handed = 0
        """Messages handed to the transport since the last step (the node's ``sent``)."""
        self.uplink: Uplink = open_uplink(cfg, on_ack=self._on_ack)
        self.cluster = self._cluster() if cfg.consensus and cfg.consensus.enabled else None
        self.steps = 0
        self.last_frame_at = time.monotonic()

    # -- set-up -------------------------------------------------------------------------

    def _cluster(self) -> CameraCluster:
        return CameraCluster.from_config(
            self.cfg,
            self.node.config.approaches,
            lambda: self.perception.latest,
            clock=time.time,
            stamp=self._stamp,
            forward=self._send,
        )

    # -- transport feedback -------------------------------------------------------------

    def _on_ack(self, envelope: Envelope) -> None:
        """Network thread: remember when the broker acknowledged the message."""
        self._acks.append((time.time(), envelope))

    def _link_feedback(self, now: float) -> tuple[list[Ack], int]:
        """Acks since the last step as the node's link input, and messages newly dropped.

        The round trip is counted from the later of the hand-over and the last
        (re)connection: time a message waited out an outage in the queue is not link
        latency. Small publishes say nothing of throughput (their time is all round
        trip), so acks carry no transfer time and the bandwidth estimate is left alone.
        """
        transport = self.uplink.transport
        connected = transport.connected
        if connected and not self._was_connected:
            self._connected_at = now
        self._was_connected = connected
        while len(self._sent_at) > self.cfg.queue.capacity_messages:
            del self._sent_at[next(iter(self._sent_at))]  # dropped from a full queue, never acked
        acks: list[Ack] = []
        while self._acks:
            at, env = self._acks.popleft()
            sent = self._sent_at.pop(env.seq, at)
            rtt_ms = max(0.0, at - max(sent, self._connected_at)) * 1000.0
            nbytes = len(env.payload) + mqtt_publish_overhead(env.topic)
            acks.append(Ack(rtt_ms, nbytes, 0.0))
        dropped = sum(transport.stats().dropped.values())
        lost, self._dropped_seen = dropped - self._dropped_seen, dropped
        return acks, lost

    # -- publishing ---------------------------------------------------------------------

    def _stamp(self, m: ConsensusMessage, topic: str) -> ConsensusMessage:
        """Consensus messages take the node's next seq, so (node_id, seq) stays unique."""
        self.seqs.ensure(self.node.seq)
        stamped = m.model_copy(update={"seq": self.node.next_seq(), "ts": time.time()})
        self.recorder.write({"t": stamped.ts, "msgs": [_row(stamped, topic)]})
        return stamped

    def _send(self, m: Message) -> None:
        """Into the durable queue (the node's messages and its consensus broadcasts)."""
        self._sent_at[m.seq] = time.time()
        self._handed += 1
        if not self.uplink.transport.send(m):
            log.warning("queue full: %s seq %d dropped", m.kind, m.seq)

    def _publish(self, out: NodeOutputs) -> list[list[Any]]:
        rows = []
        for o in out.messages:
            self._send(o.message)
            rows.append(_row(o.message, topic_for(o.message)))
        return rows

    # -- the loop -----------------------------------------------------------------------

    def step(self) -> None:
        now = time.time()
        window = self.camera.take()
        if window.frames:
            self.last_frame_at = time.monotonic()
        board = self.sensors.sample()
        acks, lost = self._link_feedback(now)
        handed, self._handed = self._handed, 0
        h = board.health
        inputs = NodeInputs(
            window=window,
            battery_soc=board.soc,
            power_w=board.power.watts if board.power is not None else 0.0,
            acks=acks,
            sent=handed,
            lost=lost,
            cpu=h.cpu_percent / 100.0,
            mem_mb=h.mem_used_mb,
            temp_c=h.temp_c,
        )
        self.seqs.ensure(self.node.seq)
        t0 = time.perf_counter()
        out = self.node.step(now, inputs)
        busy_s = time.perf_counter() - t0
        rows = self._publish(out)
        self.steps += 1
        self.recorder.write(
            {
                "t": now,
                "frames": len(window.frames),
                "full_s": out.compute_full_s,
                "reduced_s": out.compute_reduced_s,
                "busy_s": round(busy_s, 6),
                "mode": self.node.mode.value,
                "power_w": None if board.power is None else board.power.watts,
                "soc": board.soc,
                "msgs": rows,
            }
        )

    def run(self, duration_s: float | None = None) -> int:
        cfg = self.cfg
        try:
            self.camera.start()
        except OSError as exc:
            log.error("cannot start: %s", exc)
            self.uplink.close()
            if self.cluster is not None:
                self.cluster.close()
            return 2
        self.uplink.transport.start()
        if self.cluster is not None and not self.cluster.wait_ready(5.0):
            log.warning("consensus: broker not reachable yet; cycles start once connected")
        log.info(
            "node %s ready: camera %s, detector on %s, broker %s",
            cfg.node_id,
            cfg.camera.source,
            self.provider,
            cfg.broker.url,
        )
        self.notifier.ready(f"detecting on {self.provider}")
        period = cfg.observe_period_s
        started = time.monotonic()
        next_step = started
        next_status = started + STATUS_EVERY_S
        while not self.stop.is_set():
            if duration_s is not None and time.monotonic() - started >= duration_s:
                break
            if self.camera.ended.is_set():
                log.info("camera source ended")
                break
            self.step()
            next_step += period
            behind = time.monotonic() - next_step
            if behind > period:
                log.warning("step loop %.1f s behind; skipping ahead", behind)
                next_step = time.monotonic()
            self._serve_until(next_step)
            if self._healthy():
                self.notifier.watchdog()
            if time.monotonic() >= next_status:
                next_status += STATUS_EVERY_S
                self._status()
        return self.shutdown()

    def _serve_until(self, deadline: float) -> None:
        """Serve the consensus replica (or just wait) until the next step is due."""
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.cluster is None:
                self.stop.wait(remaining)
                return
            for o in self.cluster.step(timeout=min(0.05, remaining)):
                self.recorder.write(
                    {
                        "t": o.decided_at,
                        "decided": o.cycle,
                        "fused": o.vehicles,
                        "reporters": list(o.reporters),
                        "plan_cycle_s": o.plan.cycle_s,
                        "split": o.plan.split_phase0,
                        "suspects": sorted(o.suspects),
                    }
                )

    def _healthy(self) -> bool:
        """Frames arrive: a hung camera or decoder stops the pings and systemd restarts us."""
        return time.monotonic() - self.last_frame_at < self.cfg.watchdog.stall_s

    def _status(self) -> None:
        s = self.uplink.transport.stats()
        decided = len(self.cluster.outcomes) if self.cluster is not None else 0
        line = (
            f"steps={self.steps} frames={self.perception.frames_detected} "
            f"mode={self.node.mode.value} seq={self.node.seq} delivered={s.delivered} "
            f"queued={s.queued} inflight={s.inflight} dropped={sum(s.dropped.values())} "
            f"connected={self.uplink.transport.connected} decisions={decided}"
        )
        log.info("status %s", line)
        self.notifier.notify(f"STATUS={line}")

    def _flush(self, timeout: float) -> bool:
        """Deliver what is queued while the broker is there, for at most ``timeout``; with
        the broker away there is nothing to wait for (the queue stays on disk)."""
        transport = self.uplink.transport
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and transport.connected:
            if transport.flush(min(0.5, max(0.0, deadline - time.monotonic()))):
                return True
        return len(transport.buffer) == 0

    def shutdown(self) -> int:
        """Stop capturing, flush the queue (bounded), close everything; exit code."""
        self.notifier.stopping()
        log.info("stopping: flushing %d queued messages", len(self.uplink.transport.buffer))
        self.camera.stop()
        if self.cluster is not None:
            self.cluster.close()
        self.seqs.close(self.node.seq)
        flushed = self._flush(FLUSH_TIMEOUT_S)
        stats = self.uplink.transport.stats()
        self.uplink.close()
        self.recorder.write(
            {
                "t": time.time(),
                "end": True,
                "flushed": flushed,
                "seq": self.node.seq,
                "delivered": stats.delivered,
                "queued": stats.queued + stats.inflight,
                "dropped": stats.dropped,
                "disconnects": stats.disconnects,
                "decisions": len(self.cluster.outcomes) if self.cluster is not None else 0,
                "camera": vars(self.camera.stats),
            }
        )
        self.recorder.close()
        if not flushed:
            log.warning("%d messages still queued at exit (kept on disk)", stats.queued)
        self._status()
        return 0


def _logging(level: str) -> None:
    # Under systemd journald stamps each line; elsewhere the time is useful.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not Notifier().enabled:
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level.upper(), format=fmt, stream=sys.stderr)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="edgeqi node",
        description=(
            "Run one field node from its node.yaml: camera, detector, durable queue, MQTT uplink, "
            "power sensor and the intersection's consensus, until stopped (SIGTERM) or --duration."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--config", type=Path, required=True, help="node.yaml")
    parser.add_argument("--record", type=Path, help="append one JSON line per step here")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    args = parser.parse_args(argv)
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"edgeqi node: {exc}", file=sys.stderr)
        return 2
    _logging(cfg.log_level)
    try:
        runtime = NodeRuntime(cfg, args.record)
    except (ModelError, OSError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        return 2

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: shutting down", signal.Signals(signum).name)
        runtime.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return runtime.run(args.duration)
