"""Reduced-mode candidates against fp32, measured in one run: int8 quantization recipes.

    .venv/bin/python -m experiments.benchmarks.bench_reduced \
        [--only NAME,...] [--every 3] [--frames 100]

Each int8 candidate is a :class:`experiments.tools.quantize.Recipe` built from the cached fp32
model into a scratch directory (``--scratch``, default a temporary one; the model cache
is never written), calibrated on street-video frames that are not agreement frames. For
every candidate:

* agreement with fp32 at 300x300: F1 at IoU 0.5, same class, same confidence threshold,
  on every ``--every``-th frame of the street video (frames 0, 3, 6, ... by default);
* time per frame (whole ``detect``, one intra-op thread) against fp32, all candidates
  taking turns frame by frame so that load from elsewhere falls on all alike.

Prints a Markdown table and writes JSON (``--json``); BENCHMARKS.md records the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgeqi.perception.boxes import Agreement, match
from edgeqi.perception.detector import Detections, SsdDetector, YoloDetector, make_detector
from experiments.tools.model_cache import (
    AGREEMENT_EVERY,
    SSD_NAME,
    calibration_frames,
    cv2_resize_rgb,
    machine_name,
    video_frames,
)
from experiments.tools.quantize import CHOSEN, EARLY_BLOCKS, M, Recipe, quantize_int8
from hardware.model_store import media_path, read_card

HEAD_INPUTS = (f"{M}expanded_conv_13/expand/", f"{M}Conv_1/", f"{M}layer_19_2_Conv2d_")
"""Layers whose outputs feed the detection head (19x19 to 1x1 maps: cheap in fp32)."""

RECIPES = [
    Recipe("previous: stem 6", stem=6),
    Recipe("minmax", method="minmax"),
    Recipe("entropy", method="entropy"),
    Recipe("p99.99", percentile=99.99),
    Recipe("reduce_range", reduce_range=True),
    Recipe("head inputs fp32", keep_prefixes=HEAD_INPUTS),
    Recipe("128 frames", frames=128),
    Recipe("stem 2 + blocks 13-16 fp32", stem=2, keep_prefixes=(*HEAD_INPUTS[:2], f"{M}layer_19")),
    Recipe("stem 2", stem=2),
    Recipe("stem 2 + blocks 2-4 fp32", stem=2, keep_prefixes=EARLY_BLOCKS[:3]),
    Recipe("stem 2 + blocks 2-5 fp32", stem=2, keep_prefixes=EARLY_BLOCKS[:4]),
    Recipe("chosen as QOperator", stem=2, keep_prefixes=EARLY_BLOCKS, fmt="qoperator"),
    CHOSEN,
]


def build(recipe: Recipe, fp32: Path, scratch: Path) -> Path:
    out = scratch / f"{hashlib.sha256(repr(recipe).encode()).hexdigest()[:16]}.onnx"
    if not out.is_file():
        frames = calibration_frames(recipe.frames)
        calib = [np.ascontiguousarray(cv2_resize_rgb(f, 300))[None] for f in frames]
        quantize_int8(fp32, out, "image_tensor:0", calib, recipe)
    return out


def detector(model: bytes, size: int, name: str, conf: float) -> SsdDetector | YoloDetector:
    card, _ = read_card(SSD_NAME)
    card = card.model_copy(update={"name": name, "input_size": (size, size)})
    return make_detector(model, card, source=name, conf_threshold=conf, threads=1)


def agreement(ref: list[Detections], got: list[Detections]) -> Agreement:
    total = Agreement(0, 0, 0)
    for r, g in zip(ref, got, strict=True):
        total = total + match(r.boxes, r.classes, g.boxes, g.classes, 0.5)
    return total


def timings(dets: dict[str, Any], frames: list[np.ndarray]) -> dict[str, float]:
    """p50 ms of ``detect`` per candidate, candidates taking turns on each frame."""
    times: dict[str, list[float]] = {k: [] for k in dets}
    for f in frames[:3]:
        for d in dets.values():
            d.detect(f)
    for f in frames:
        for k, d in dets.items():
            t0 = time.perf_counter()
            d.detect(f)
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.percentile(v, 50)) * 1e3 for k, v in times.items()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="bench_reduced")
    p.add_argument("--only", help="candidate names separated by ';' (default: all)")
    p.add_argument("--every", type=int, default=AGREEMENT_EVERY, help="agreement frame step")
    p.add_argument("--frames", type=int, default=100, help="frames for the timing")
    p.add_argument("--conf", type=float, default=0.5)
    p.add_argument("--scratch", type=Path, help="where candidate models are built")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.every % AGREEMENT_EVERY:
        p.error(f"--every must be a multiple of {AGREEMENT_EVERY} (calibration frames between)")
    _, fp32_path = read_card(SSD_NAME)
    fp32_bytes = fp32_path.read_bytes()
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="edgeqi-reduced-"))
    scratch.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(";")) if args.only else None
    models: dict[str, tuple[bytes, int, str]] = {}
    for r in RECIPES:
        if only is None or r.name in only:
            models[r.name] = (build(r, fp32_path, scratch).read_bytes(), 300, r.describe())
    frames = list(video_frames(media_path("street.mp4"), every=args.every))
    ref = detector(fp32_bytes, 300, SSD_NAME, args.conf)
    ref_dets = [ref.detect(f) for f in frames]
    rows: dict[str, Any] = {}
    dets: dict[str, Any] = {"fp32": ref}
    for name, (model, size, what) in models.items():
        d = detector(model, size, name, args.conf)
        a = agreement(ref_dets, [d.detect(f) for f in frames])
        rows[name] = {
            "input": size,
            "what": what,
            "f1": round(a.f1, 4),
            "precision": round(a.precision, 4),
            "recall": round(a.recall, 4),
            "fp32_boxes": a.matched + a.only_reference,
            "boxes": a.matched + a.only_candidate,
        }
        dets[name] = d
    step = max(len(frames) // args.frames, 1)
    ms = timings(dets, frames[::step][: args.frames])
    for name, row in rows.items():
        row["ms_p50"] = round(ms[name], 2)
        row["speedup"] = round(ms["fp32"] / ms[name], 3)
    report = {
        "machine": machine_name(),
        "agreement_frames": len(frames),
        "timing_frames": len(frames[::step][: args.frames]),
        "fp32_ms_p50": round(ms["fp32"], 2),
        "candidates": rows,
    }
    print(f"fp32 at 300: {ms['fp32']:.2f} ms p50 ({report['machine']})")
    print("| candidate | input | F1 | precision | recall | boxes (fp32) | ms p50 | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['input']} | {r['f1']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} "
            f"| {r['boxes']} ({r['fp32_boxes']}) | {r['ms_p50']:.1f} | {r['speedup']:.2f}x |"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
