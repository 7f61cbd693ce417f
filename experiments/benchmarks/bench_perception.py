"""Perception benchmark: detector overhead, int8 against fp32, YOLO post-processing cost.

    .venv/bin/python -m experiments.benchmarks.bench_perception \
        [--frames 100] [--every 3] [--threads 1]

Every comparison is measured in this run, the variants taking turns frame by frame so
that load from elsewhere on a shared machine falls on all of them alike:

1. end-to-end ``detect`` (preprocess + inference + postprocess) against a bare
   ``InferenceSession.run`` on the same session and an already prepared input
   (target: at most 1.2x);
2. int8 against fp32, time per frame (target: int8 at least 1.5x faster) and detection
   agreement, F1 at IoU 0.5 against fp32 on the street video (target: at least 0.95);
3. the YOLO decode + class-aware NMS on an output the size of a 640x640 COCO export
   (``(1, 84, 8400)``), since no YOLO weights ship with any registry package here.

Prints a JSON report; BENCHMARKS.md records the figures and the machine.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from edgeqi.perception.boxes import Agreement, iou_matrix, match
from edgeqi.perception.detector import Detections, SsdDetector, YoloDetector, decode_yolo
from experiments.tools.model_cache import SSD_INT8_NAME, SSD_NAME, machine_name, video_frames
from hardware.model_store import load_detector, media_path


def ms(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000.0
    return {
        "p50": round(float(np.percentile(a, 50)), 3),
        "p90": round(float(np.percentile(a, 90)), 3),
        "mean": round(float(a.mean()), 3),
    }


def overhead(det: SsdDetector | YoloDetector, frames: list[np.ndarray]) -> dict[str, Any]:
    """``detect`` against bare ``session.run`` on the same prepared input, alternating."""
    bare: list[float] = []
    full: list[float] = []
    clock = time.perf_counter
    for f in frames[:3]:
        det.detect(f)
    for f in frames:
        feed = det.preprocess(f).feed
        t0 = clock()
        det.session.run(None, feed)
        t1 = clock()
        det.detect(f)
        t2 = clock()
        bare.append(t1 - t0)
        full.append(t2 - t1)
    b, e = ms(bare), ms(full)
    return {
        "bare_run_ms": b,
        "detect_ms": e,
        "ratio_p50": round(e["p50"] / b["p50"], 3),
        "ratio_mean": round(e["mean"] / b["mean"], 3),
    }


def int8_vs_fp32(
    fp32: SsdDetector | YoloDetector, int8: SsdDetector | YoloDetector, frames: list[np.ndarray]
) -> dict[str, Any]:
    t32: list[float] = []
    t8: list[float] = []
    d32: list[Detections] = []
    d8: list[Detections] = []
    clock = time.perf_counter
    for f in frames[:3]:
        fp32.detect(f)
        int8.detect(f)
    for f in frames:
        t0 = clock()
        a = fp32.detect(f)
        t1 = clock()
        b = int8.detect(f)
        t2 = clock()
        t32.append(t1 - t0)
        t8.append(t2 - t1)
        d32.append(a)
        d8.append(b)
    agree = Agreement(0, 0, 0)
    missed_scores: list[float] = []
    for a, b in zip(d32, d8, strict=True):
        agree = agree + match(a.boxes, a.classes, b.boxes, b.classes, 0.5)
        hit = iou_matrix(a.boxes, b.boxes).max(axis=1) >= 0.5 if len(b) else np.zeros(len(a), bool)
        missed_scores += [float(s) for s in a.scores[~hit]]
    f32, f8 = ms(t32), ms(t8)
    near = fp32.conf_threshold + 0.1
    return {
        "fp32_ms": f32,
        "int8_ms": f8,
        "speedup_p50": round(f32["p50"] / f8["p50"], 3),
        "speedup_mean": round(f32["mean"] / f8["mean"], 3),
        "agreement": {
            "f1": round(agree.f1, 4),
            "precision": round(agree.precision, 4),
            "recall": round(agree.recall, 4),
            "fp32_boxes": agree.matched + agree.only_reference,
            "int8_boxes": agree.matched + agree.only_candidate,
            "fp32_missed_within_0.1_of_threshold": sum(s < near for s in missed_scores),
            "fp32_missed": len(missed_scores),
        },
    }


def yolo_post(repeats: int, seed: int = 0) -> dict[str, Any]:
    """Decode + NMS time on a COCO-sized head output: 20 objects, 20 overlapping anchors each."""
    rng = np.random.default_rng(seed)
    out = np.zeros((84, 8400), np.float32)
    out[0] = rng.uniform(0, 640, 8400)
    out[1] = rng.uniform(0, 640, 8400)
    out[2] = rng.uniform(10, 120, 8400)
    out[3] = rng.uniform(10, 200, 8400)
    out[4:] = rng.uniform(0.0, 0.1, (80, 8400))  # background: no class confident
    centres = rng.uniform(100, 540, (20, 2))
    hot = rng.choice(8400, 400, replace=False)  # 20 objects x 20 overlapping anchors each
    out[0, hot] = np.repeat(centres[:, 0], 20) + rng.normal(0, 3, 400)
    out[1, hot] = np.repeat(centres[:, 1], 20) + rng.normal(0, 3, 400)
    out[2, hot] = np.repeat(rng.uniform(40, 120, 20), 20)
    out[3, hot] = np.repeat(rng.uniform(40, 200, 20), 20)
    out[4 + np.repeat(rng.integers(0, 80, 20), 20), hot] = rng.uniform(0.3, 0.95, 400)
    head = out[None]
    times = []
    kept = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        boxes, _, _ = decode_yolo(head, 80, 0.25, 0.45, 300)
        times.append(time.perf_counter() - t0)
        kept = len(boxes)
    return {"output_shape": [1, 84, 8400], "decode_nms_ms": ms(times), "boxes_kept": kept}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="bench_perception")
    p.add_argument("--frames", type=int, default=100, help="frames for the timing comparisons")
    p.add_argument("--every", type=int, default=3, help="agreement on every N-th video frame")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    p.add_argument("--conf", type=float, default=0.5)
    args = p.parse_args(argv)
    video = media_path("street.mp4")
    all_frames = list(video_frames(video, every=args.every))
    step = max(len(all_frames) // args.frames, 1)
    timing = all_frames[::step][: args.frames]
    kw: dict[str, Any] = {"conf_threshold": args.conf, "threads": args.threads}
    fp32 = load_detector(SSD_NAME, **kw)
    int8 = load_detector(SSD_INT8_NAME, **kw)
    report: dict[str, Any] = {
        "machine": machine_name(),
        "threads": args.threads,
        "providers": fp32.providers,
        "conf_threshold": args.conf,
        "overhead": {
            SSD_NAME: overhead(fp32, timing),
            SSD_INT8_NAME: overhead(int8, timing),
        },
        "int8_vs_fp32_timing": int8_vs_fp32(fp32, int8, timing),
        "int8_vs_fp32_street_video": {
            "frames": len(all_frames),
            **int8_vs_fp32(fp32, int8, all_frames)["agreement"],
        },
    }
    low = {"conf_threshold": 0.3, "threads": args.threads}
    report["int8_vs_fp32_street_video_conf0.3"] = int8_vs_fp32(
        load_detector(SSD_NAME, **low), load_detector(SSD_INT8_NAME, **low), all_frames
    )["agreement"]
    report["yolo_postprocess"] = yolo_post(50)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
