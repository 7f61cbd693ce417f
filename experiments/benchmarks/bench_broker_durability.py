"""What broker durability costs: QoS 1 throughput with and without save-on-every-change.

Mosquitto writes its persistence file at shutdown and every ``autosave_interval``
seconds (30 minutes by default), so a SIGKILL or power loss loses every message it had
acknowledged since. ``autosave_on_changes true`` with ``autosave_interval 1`` (what
``broker_conf_text(durable=True)`` ships) saves after every change instead. This runs
both brokers in the same process, one after the other, on the same payloads:

* ``online``: a persistent-session subscriber is connected (the normal case: the
  backend is up); messages per second from the first PUBLISH to the last PUBACK and
  to the last delivery;
* ``offline``: the subscriber's session is away (backend down), so every message is
  queued in the broker; then the broker is SIGKILLed and restarted, and the script
  counts how many of the acknowledged messages the session still receives.

Usage::

    python -m experiments.benchmarks.bench_broker_durability [--messages N] [--bytes B]

Prints a Markdown table. Needs the mosquitto binary (``scripts/ensure-system-packages.sh``).
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
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from experiments.benchmarks.bench_ingest import publish
from experiments.services import Mosquitto

TOPIC = "edgeqi/v1/nodes/bench-1/log"


class Session:
    """A persistent-session QoS 1 subscriber that counts what it receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received = 0
        self.distinct: set[bytes] = set()
        self.last_at = 0.0
        self._lock = threading.Lock()

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="bench-durable",
            protocol=MQTTProtocolVersion.MQTTv5,
        )

        def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
            with self._lock:
                self.received += 1
                self.distinct.add(bytes(msg.payload))
                self.last_at = time.perf_counter()

        client.on_message = on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        client.connect("127.0.0.1", self.port, clean_start=False, properties=props)
        return client

    def attach(self) -> mqtt.Client:
        client = self._client()
        client.subscribe(TOPIC, qos=1)
        client.loop_start()
        time.sleep(0.3)
        return client

    def wait_for(self, n: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.received < n and time.monotonic() < deadline:
            time.sleep(0.02)


def detach(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def one_broker(durable: bool, items: list[tuple[str, bytes]], workdir: Path) -> dict[str, Any]:
    """Both measurements on one fresh broker."""
    broker = Mosquitto(workdir, durable=durable)
    broker.start()
    try:
        session = Session(broker.port)
        client = session.attach()
        started = time.perf_counter()
        publish_s = publish(broker.port, items)
        session.wait_for(len(items), 120)
        delivered_s = session.last_at - started
        online = session.received
        detach(client)
        session.received = 0
        session.distinct.clear()
        queued_s = publish(broker.port, items)  # the session is away: all queued
        broker.kill()
        broker.start()
        client = session.attach()
        session.wait_for(len(items), 30)
        survived = len(session.distinct)  # redeliveries of one message count once
        detach(client)
    finally:
        broker.stop()
    n = len(items)
    return {
        "durable": durable,
        "online_received": online,
        "puback_msg_s": n / publish_s,
        "delivered_msg_s": n / delivered_s,
        "queued_msg_s": n / queued_s,
        "survived_sigkill": survived,
        "messages": n,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_broker_durability", description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--bytes", type=int, default=200, help="payload size")
    args = parser.parse_args(argv)
    items = [(TOPIC, b"%09d" % i + b"x" * max(0, args.bytes - 9)) for i in range(args.messages)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for durable in (False, True):
            workdir = Path(tmp) / ("durable" if durable else "default")
            workdir.mkdir()
            rows.append(one_broker(durable, items, workdir))
    print(f"{args.messages} QoS 1 messages of {args.bytes} B, one publisher (1000 in flight)\n")
    print("| broker | PUBACK msg/s | delivered msg/s | queued msg/s | kept after SIGKILL |")
    print("|---|---|---|---|---|")
    for r in rows:
        name = "autosave_on_changes, interval 1" if r["durable"] else "default autosave (1800 s)"
        print(
            f"| {name} | {r['puback_msg_s']:,.0f} | {r['delivered_msg_s']:,.0f} | "
            f"{r['queued_msg_s']:,.0f} | {r['survived_sigkill']} of {r['messages']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
