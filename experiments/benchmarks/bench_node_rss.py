"""Resident memory of the field node runtime (``edgeqi node``) with the int8 model loaded.

The node runs as its own process, exactly as systemd starts it, on the street video
(looping, 4 frames/s), with both detectors loaded (fp32 for full mode, int8 for
Algorithm 1's reduced mode), the PBFT replica, the durable queue and a recorded
``tegrastats`` sensor, against a private Mosquitto. Its RSS (``psutil``) is sampled
every ``--interval`` seconds from start: peak, and steady state (median of the second
half). The reference, measured in the same run: a bare Python process that imports
ONNX Runtime and opens the same int8 model in an ``InferenceSession`` (and runs it).

    python -m experiments.benchmarks.bench_node_rss --seconds 40
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import psutil

from experiments.benchmarks.node_harness import NodeProcess, NodeSpec
from hardware.model_store import read_card

MIB = 2**20
TARGET_MIB = 300.0

_REFERENCE = """
import sys, time, numpy as np, onnxruntime as ort
opts = ort.SessionOptions(); opts.intra_op_num_threads = 1
s = ort.InferenceSession(open(sys.argv[1], 'rb').read(), opts, providers=['CPUExecutionProvider'])
x = np.zeros((1, 300, 300, 3), np.uint8)
for _ in range(20):
    s.run(None, {s.get_inputs()[0].name: x})
print('ready', flush=True)
time.sleep(60)
"""


def sample(pid: int, seconds: float, interval: float) -> list[float]:
    proc = psutil.Process(pid)
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            out.append(proc.memory_info().rss / MIB)
        except psutil.NoSuchProcess:
            break
        time.sleep(interval)
    return out


def reference(seconds: float, interval: float) -> list[float]:
    """RSS of python + onnxruntime + the int8 session, after it has run inference."""
    _, model = read_card("ssdlite-person-int8")
    proc = subprocess.Popen(
        [sys.executable, "-c", _REFERENCE, str(model)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        return sample(proc.pid, seconds, interval)
    finally:
        proc.kill()
        proc.wait()


def summary(name: str, rss: list[float]) -> tuple[str, float, float, int]:
    steady = statistics.median(rss[len(rss) // 2 :]) if rss else float("nan")
    return name, max(rss, default=float("nan")), steady, len(rss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    rows = [summary("reference: python + onnxruntime + int8 session", reference(8, args.interval))]
    with NodeProcess(NodeSpec()) as node:
        ready = node.ready_after_s or 0.0
        rss = sample(node.pid, args.seconds, args.interval)
        code = node.stop()
        steps = sum(1 for line in node.record.read_text().splitlines() if '"frames"' in line)
    rows.append(summary("edgeqi node (fp32 + int8 loaded, camera, MQTT, PBFT)", rss))
    print(f"node ready after {ready:.1f} s, sampled {args.seconds:.0f} s, {steps} steps")
    print(f"node exit code {code}")
    print(f"{'process':<56} {'peak MiB':>9} {'steady MiB':>11} {'samples':>8}")
    for name, peak, steady, n in rows:
        print(f"{name:<56} {peak:>9.1f} {steady:>11.1f} {n:>8}")
    peak = rows[1][1]
    verdict = "under" if peak < TARGET_MIB else "OVER"
    print(f"node peak {peak:.1f} MiB: {verdict} the {TARGET_MIB:.0f} MiB target")
    return 0 if peak < TARGET_MIB and code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
