"""Where a detector's time goes: ONNX Runtime's own profiler, kernel time by graph part.

For each cached model (default: the fp32 and int8 SSD), one intra-op thread, ``--frames``
street-video frames after ``--warmup``, the kernel time per frame summed by the first
component of each node's name (``FeatureExtractor``, ``BoxPredictor_0``, the TF Object
Detection API's ``Preprocessor`` / ``Postprocessor`` and the loops tf2onnx made of them).
It answers what a whole-detector timing cannot: which part int8 speeds up and which part
(the fp32 glue) it leaves alone.

Usage: ``python -m experiments.benchmarks.profile_detector [--models A B] [--frames 40] [--top 8]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort

from experiments.tools.model_cache import SSD_NAME, cv2_resize_rgb, sample_frames
from hardware.model_store import read_card


def profile(name: str, frames: list[np.ndarray], warmup: int) -> tuple[float, dict[str, float]]:
    """Kernel milliseconds per frame, in all and by top-level node name."""
    card, onnx_file = read_card(name)
    size = card.input_size[0]
    feeds = [np.ascontiguousarray(cv2_resize_rgb(f, size))[None] for f in frames]
    with tempfile.TemporaryDirectory(prefix="edgeqi-ortprof-") as tmp:
        so = ort.SessionOptions()
        so.enable_profiling = True
        so.intra_op_num_threads = 1
        so.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(onnx_file), so, providers=["CPUExecutionProvider"])
        inp = session.get_inputs()[0].name
        for f in feeds[:warmup] + feeds:
            session.run(None, {inp: f})
        events = json.loads(Path(session.end_profiling()).read_text())
    runs = warmup + len(feeds)
    parts: dict[str, float] = defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            parts[e["name"].removesuffix("_kernel_time").split("/")[0]] += e["dur"] / 1000 / runs
    return sum(parts.values()), dict(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[SSD_NAME, f"{SSD_NAME}-int8"])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args(argv)
    frames = sample_frames(args.frames)
    for name in args.models:
        total, parts = profile(name, frames, args.warmup)
        print(f"\n{name}: {total:.2f} ms of kernel time per frame")
        print("| part | ms per frame | share |\n|---|---:|---:|")
        for part, ms in sorted(parts.items(), key=lambda kv: -kv[1])[: args.top]:
            print(f"| {part} | {ms:.2f} | {ms / total:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
