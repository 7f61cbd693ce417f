"""Durable queue benchmark: push + ack throughput of the SQLite queue against memory.

    python -m experiments.benchmarks.bench_disk_buffer [--messages 5000] [--payload 200]
        [--window 100] [--out bench_disk_buffer.json]

Each buffer gets the same work as a node's transport gives it: ``push`` one message
at a time, ``take`` up to ``window`` of them and ``ack`` each one (what a PUBACK
does), until all were acknowledged; then the same again after an offline backlog
(every message pushed first, then drained). The in-memory :class:`ForwardBuffer`
runs in the same process as the reference. ``synchronous=FULL`` fsyncs every commit,
so its figure depends on the disk far more than the others'; it gets a tenth of the
messages to keep the run short. The queue files go to ``--dir`` (default: a
temporary directory, i.e. the disk the node would write to if it is the same).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeqi.transport.buffer import Buffer, ForwardBuffer, SendPriority
from hardware.disk_buffer import DiskForwardBuffer

PRIORITIES = (SendPriority.LOW, SendPriority.NORMAL, SendPriority.LOW, SendPriority.HIGH)


def streaming(buf: Buffer, n: int, payload: bytes, window: int) -> tuple[float, float]:
    """Messages per wall second, and CPU microseconds per message (less sensitive to other
    processes on a shared machine), when pushes are sent as the window allows."""
    cpu = time.process_time()
    started = time.perf_counter()
    for seq in range(n):
        buf.push(f"edgeqi/v1/nodes/cam-1/d/{seq}", payload, PRIORITIES[seq % 4], "cam-1", seq)
        if buf.queued >= window or seq == n - 1:
            while len(buf):
                for envelope in buf.take(window):
                    buf.ack(envelope.id)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    assert buf.acked == n and len(buf) == 0
    return n / elapsed, cpu / n * 1e6


def backlog(buf: Buffer, n: int, payload: bytes, window: int) -> dict[str, float]:
    """Push ``n`` while offline, then drain: push rate and drain rate, messages per second."""
    started = time.perf_counter()
    for seq in range(n):
        buf.push(f"edgeqi/v1/nodes/cam-1/d/{seq}", payload, PRIORITIES[seq % 4], "cam-1", seq)
    pushed = time.perf_counter()
    while len(buf):
        for envelope in buf.take(window):
            buf.ack(envelope.id)
    drained = time.perf_counter()
    return {"push_per_s": n / (pushed - started), "drain_per_s": n / (drained - pushed)}


def measure(
    make: Callable[[str], Buffer], n: int, payload: int, window: int
) -> dict[str, float | int]:
    data = bytes(payload)
    result: dict[str, float | int] = {"messages": n}
    result["push_ack_per_s"], result["push_ack_cpu_us"] = streaming(make("a"), n, data, window)
    result.update(backlog(make("b"), n, data, window))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--payload", type=int, default=200)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--out", type=Path, default=Path("bench_disk_buffer.json"))
    args = parser.parse_args(argv)
    n, p, w = args.messages, args.payload, args.window
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()} {platform.python_version()}",
        "payload_bytes": p,
        "window": w,
    }
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        opened: list[DiskForwardBuffer] = []

        def disk(sync: str) -> Callable[[str], Buffer]:
            def make(tag: str) -> Buffer:
                buf = DiskForwardBuffer(
                    Path(tmp) / f"{sync}-{tag}.sqlite", 10 * n, synchronous=sync
                )
                opened.append(buf)
                return buf

            return make

        results["memory"] = measure(lambda _t: ForwardBuffer(10 * n), n, p, w)
        results["disk_normal"] = measure(disk("NORMAL"), n, p, w)
        results["disk_full"] = measure(disk("FULL"), max(1, n // 10), p, w)
        for buf in opened:
            buf.close()
    for name in ("disk_normal", "disk_full"):
        results[name]["vs_memory"] = (
            results[name]["push_ack_per_s"] / results["memory"]["push_ack_per_s"]
        )
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("memory", "disk_normal", "disk_full"):
        r = results[name]
        print(
            f"{name:12s} push+ack {r['push_ack_per_s']:>10,.0f}/s "
            f"({r['push_ack_cpu_us']:,.1f} us CPU each)   backlog push "
            f"{r['push_per_s']:>10,.0f}/s   drain {r['drain_per_s']:>10,.0f}/s"
            f"   (n={r['messages']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
