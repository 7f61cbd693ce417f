"""Sustained ingest through a real Mosquitto into SQLite/PostgreSQL, against raw broker speed.

Both runs use the same encoded DetectionBatch payloads and the same paho-mqtt 2
publisher at QoS 1 on a private broker on a free loopback port:

* reference: a bare paho subscriber (QoS 1, shared subscription) that only counts;
* backend: ``MqttSource`` -> ``Ingestor`` -> database, timed until every message is
  committed, with zero loss checked from the stored ``(node_id, seq)`` ledger.

Usage::

    python -m experiments.benchmarks.bench_ingest [--messages N] [--detections K] [--db both]

Prints a Markdown table. Needs the mosquitto (and, for PostgreSQL, postgresql) binaries;
``scripts/ensure-system-packages.sh`` installs them.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select

from backend.core.db import make_engine, migrate
from backend.core.orm import DetectionRow, MessageRow, Node
from backend.ingest.ingestor import Ingestor
from backend.ingest.mqtt_source import MqttSource
from backend.ingest.store import Store
from edgeqi.protocol import NODE_SUBSCRIPTION, Detection, DetectionBatch, encode, topic_for
from experiments.services import Mosquitto, Postgres


def payloads(messages: int, nodes: int, per_message: int) -> list[tuple[str, bytes]]:
    """Round-robin frames from ``nodes`` cameras, ``per_message`` detections each."""
    out = []
    t0 = time.time()
    for i in range(messages):
        node, seq = f"cam-{i % nodes:03d}", i // nodes
        batch = DetectionBatch(
            node_id=node,
            seq=seq,
            ts=t0 + i * 0.001,
            intersection=f"int-{i % nodes // 4}",
            frame_ts=t0 + i * 0.001,
            detections=[
                Detection(
                    cls=("car", "bus", "person")[k % 3],
                    conf=0.5 + k / 50,
                    box=(10.0 * k, 20.0, 40.0, 30.0),
                    track=k,
                )
                for k in range(per_message)
            ],
        )
        out.append((topic_for(batch), encode(batch)))
    return out


def publish(
    port: int, items: list[tuple[str, bytes]], auth: tuple[str, str] | None = None
) -> float:
    """Publish everything at QoS 1 and wait for every PUBACK; return the seconds taken."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    if auth is not None:
        client.username_pw_set(*auth)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    infos = [client.publish(t, p, qos=1) for t, p in items]
    for info in infos:
        info.wait_for_publish(120)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def raw_broker(
    broker: Mosquitto, items: list[tuple[str, bytes]], auth: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Reference: the same payloads to a subscriber that does nothing but count."""
    done = threading.Event()
    count = 0
    first: list[float] = []

    def on_message(_c: Any, _u: Any, _m: mqtt.MQTTMessage) -> None:
        nonlocal count
        if not first:
            first.append(time.perf_counter())
        count += 1
        if count == len(items):
            done.set()

    sub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=MQTTProtocolVersion.MQTTv5
    )
    sub.on_message = on_message
    if auth is not None:
        sub.username_pw_set(*auth)
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe(f"$share/raw/{NODE_SUBSCRIPTION}", qos=1)
    sub.loop_start()
    time.sleep(0.3)
    started = time.perf_counter()
    publish_s = publish(broker.port, items, auth)
    done.wait(300)
    elapsed = time.perf_counter() - started
    sub.disconnect()
    sub.loop_stop()
    return {"received": count, "seconds": elapsed, "publish_s": publish_s}


def backend_ingest(broker: Mosquitto, url: str, items: list[tuple[str, bytes]]) -> dict[str, Any]:
    """The backend pipeline, timed until every message is committed."""
    migrate(url)
    engine = make_engine(url)
    ingestor = Ingestor(Store(engine), batch_size=1000, flush_interval_s=0.1)
    ingestor.start()
    # A group of its own: a stopped persistent session in a shared group keeps getting
    # its share of messages queued, so an earlier target would take half of this run's.
    run_id = time.monotonic_ns()
    source = MqttSource(broker.url, ingestor, client_id=f"bench-{run_id}", group=f"bench-{run_id}")
    source.start()
    source.wait_connected(10)
    time.sleep(0.3)
    threads = ingestor.metrics.ingest_threads
    cpu0 = threads.seconds()
    started = time.perf_counter()
    publish_s = publish(broker.port, items)
    deadline = time.monotonic() + 600
    while ingestor.stored < len(items) and time.monotonic() < deadline:
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    cpu_s = threads.seconds() - cpu0  # read while the ingest threads are alive
    source.stop()
    ingestor.stop()
    with engine.connect() as conn:
        messages = conn.scalar(select(func.count()).select_from(MessageRow)) or 0
        detections = conn.scalar(select(func.count()).select_from(DetectionRow)) or 0
        lost = conn.scalar(select(func.sum(Node.max_seq - Node.min_seq + 1 - Node.received))) or 0
    engine.dispose()
    return {
        "received": messages,
        "detections": detections,
        "lost": int(lost) + len(items) - int(messages),
        "seconds": elapsed,
        "publish_s": publish_s,
        "cpu_ms_per_message": cpu_s * 1000 / max(int(messages), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--detections", type=int, default=10, help="detections per message")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    items = payloads(args.messages, args.nodes, args.detections)
    mean_bytes = sum(len(p) for _, p in items) / len(items)
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeqi-bench-") as tmp:
        work = Path(tmp)
        (work / "broker").mkdir()
        broker = Mosquitto(work / "broker")
        broker.start()
        pg: Postgres | None = None
        try:
            ref = raw_broker(broker, items)
            rows.append(("raw broker (paho subscriber, count only)", ref))
            targets = []
            if args.db in ("sqlite", "both"):
                targets.append(("backend -> SQLite (WAL)", f"sqlite:///{work / 'bench.db'}"))
            if args.db in ("postgresql", "both"):
                pg = Postgres()
                pg.start()
                targets.append(("backend -> PostgreSQL", pg.create_database("bench")))
            for name, url in targets:
                rows.append((name, backend_ingest(broker, url, items)))
        finally:
            broker.stop()
            if pg is not None:
                pg.stop()
    print(
        f"\n{args.messages} messages from {args.nodes} nodes, {args.detections} detections "
        f"each ({mean_bytes:.0f} B mean payload), QoS 1, loopback Mosquitto\n"
    )
    print(
        "| path | messages received | lost | seconds | messages/s | detections/min | "
        "vs raw broker | ingest CPU ms/message |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    ref_rate = rows[0][1]["received"] / rows[0][1]["seconds"]
    for name, r in rows:
        rate = r["received"] / r["seconds"]
        lost = r.get("lost", len(items) - r["received"])
        print(
            f"| {name} | {r['received']} | {lost} | {r['seconds']:.2f} | {rate:,.0f} | "
            f"{rate * args.detections * 60:,.0f} | {rate / ref_rate:.2f} | "
            + (f"{r['cpu_ms_per_message']:.3f} |" if "cpu_ms_per_message" in r else "- |")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
