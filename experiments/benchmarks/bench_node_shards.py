"""CPU per message the simulator's process spends on its nodes' MQTT sessions.

The same messages (one detection batch per node, round after round, as fast as the
broker takes them) through a private Mosquitto, two ways: every session in the
simulator's own process (``sim.hil.HilNodes``, one network thread), and the sessions in
worker processes (``experiments.loadtest.node_shards.ShardedNodes``), where the
simulator only pickles each message into a pipe. Reported: CPU seconds of this process
per message (``time.process_time``: every thread of it), of the workers per message, and
the wall time to deliver everything to one QoS 1 subscriber.

    python -m experiments.benchmarks.bench_node_shards --nodes 100 --rounds 50 --processes 1 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edgeqi.protocol import NODE_SUBSCRIPTION, Detection, DetectionBatch
from experiments.loadtest.cpu_meter import cpu_seconds
from experiments.loadtest.node_shards import ShardedNodes
from experiments.services import Mosquitto
from sim.hil import HilNodes
from sim.realtime import HilConfig


def _messages(nodes: list[str], rounds: int) -> list[DetectionBatch]:
    box = Detection(cls="car", conf=0.9, box=(1.0, 2.0, 3.0, 4.0), track=1)
    return [
        DetectionBatch(
            node_id=n, seq=r, ts=float(r), intersection="i1", frame_ts=float(r), detections=[box]
        )
        for r in range(rounds)
        for n in nodes
    ]


def _in_process(
    cfg: HilConfig, nodes: list[str], messages: list[DetectionBatch]
) -> dict[str, float]:
    hil = HilNodes(cfg, nodes)
    hil.start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for m in messages:
        hil(0, m)
    assert hil.flush(120)
    cpu1, t1 = time.process_time(), time.perf_counter()
    hil.close(flush=False)
    return {
        "simulator_us": (cpu1 - cpu0) / len(messages) * 1e6,
        "workers_us": 0.0,
        "wall_s": t1 - t0,
    }


def _sharded(
    cfg: HilConfig, nodes: list[str], messages: list[DetectionBatch], processes: int, port: int
) -> dict[str, float]:
    shards = ShardedNodes(cfg, nodes, processes, lambda _n: ("127.0.0.1", port))
    shards.start()
    w0 = cpu_seconds(shards.pids, descendants=False)
    cpu0, t0 = time.process_time(), time.perf_counter()
    for m in messages:
        shards(0, m)
    delivered = shards.flush(120)  # the queues' feeder threads pickle until then
    sent, t1 = time.process_time(), time.perf_counter()
    w1 = cpu_seconds(shards.pids, descendants=False)
    shards.close()
    assert delivered and len(shards.sent()) == len(messages)
    n = len(messages)
    return {
        "simulator_us": (sent - cpu0) / n * 1e6,
        "workers_us": (w1 - w0) / n * 1e6,
        "wall_s": t1 - t0,
    }


def _subscriber(port: int) -> mqtt.Client:
    """A count-nothing QoS 1 subscriber: without one the broker answers "no matching
    subscribers" and the transports hold their messages (netio/mqtt_transport.py)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port)
    client.subscribe(NODE_SUBSCRIPTION, qos=1)
    client.loop_start()
    time.sleep(0.5)
    return client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    nodes = [f"n{k:05d}" for k in range(args.nodes)]
    messages = _messages(nodes, args.rounds)
    with tempfile.TemporaryDirectory(prefix="edgeqi-bench-shards-") as tmp:
        broker = Mosquitto(Path(tmp), extra_conf="max_inflight_messages 1000\n")
        broker.start()
        sink = _subscriber(broker.port)
        try:
            cfg = HilConfig(broker_url=f"mqtt://127.0.0.1:{broker.port}")
            rows = [("in the simulator's process", _in_process(cfg, nodes, messages))]
            for p in args.processes:
                rows.append(
                    (f"{p} worker process(es)", _sharded(cfg, nodes, messages, p, broker.port))
                )
        finally:
            sink.loop_stop()
            broker.stop()
    print(f"{len(messages):,} messages from {args.nodes} nodes")
    print("| sessions | simulator CPU µs/message | workers CPU µs/message | wall s |")
    print("|---|---:|---:|---:|")
    for label, r in rows:
        print(f"| {label} | {r['simulator_us']:.1f} | {r['workers_us']:.1f} | {r['wall_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
