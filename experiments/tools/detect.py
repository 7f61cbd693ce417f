"""``edgeqi detect SOURCE``: run a detector on an image, a video or a camera.

Writes into ``--out``: annotated frames (``frames/NNNNNN.jpg``, boxes with class,
confidence and track id), the detections table (``detections.parquet`` or ``.csv``: one
row per box with frame index, timestamp, class, confidence, box and track), and
``summary.json`` (frames read, rejected by layer-2 reason, boxes, mean milliseconds per
frame). A camera is an integer index or a stream URL; stop it with ``--limit`` or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgeqi.perception.detector import Detections, ModelError
from edgeqi.perception.frame_checks import FrameValidator
from edgeqi.perception.tracking import IouTracker, Track
from hardware.model_store import load_detector

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def frames_of(source: str, every: int) -> tuple[Iterator[tuple[float, object]], int | None]:
    """``(timestamp s, frame or None)`` pairs and the frame count when known.

    Image files are decoded here, as bytes, so that a truncated or corrupted file reaches
    layer 2 (and is counted) rather than failing the run.
    """
    path = Path(source)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if not path.is_file():
            raise FileNotFoundError(f"no image at {path}")
        return iter([(0.0, path.read_bytes())]), 1
    target: int | str = int(source) if source.isdigit() else source
    if isinstance(target, str) and "://" not in target and not path.is_file():
        raise FileNotFoundError(f"no video at {path}")
    cap = cv2.VideoCapture(target)
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open {source}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None

    def gen() -> Iterator[tuple[float, object]]:
        i = 0
        t0 = time.monotonic()
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    return
                if i % every == 0:
                    live = isinstance(target, int) or "://" in str(target)
                    t = time.monotonic() - t0 if live else i / fps
                    yield t, frame
                i += 1
        finally:
            cap.release()

    return gen(), (None if count is None else (count + every - 1) // every)


def annotate(frame: np.ndarray, dets: Detections, tracks: list[Track]) -> np.ndarray:
    out = frame.copy()
    by_box = {tuple(np.round(tr.box, 2)): tr.id for tr in tracks}
    for i in range(len(dets)):
        x1, y1, x2, y2 = (round(float(v)) for v in dets.boxes[i])
        track = by_box.get(tuple(np.round(dets.boxes[i].astype(np.float64), 2)))
        label = f"{dets.names[i]} {dets.scores[i]:.2f}" + (f" #{track}" if track else "")
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 200, 255), 2)
        cv2.putText(
            out,
            label,
            (x1, max(y1 - 4, 10)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 200, 255),
            1,
            cv2.LINE_AA,
        )
    return out


def run(args: argparse.Namespace, console: Console) -> dict[str, object]:
    det = load_detector(args.model, conf_threshold=args.conf)
    out = Path(args.out)
    (out / "frames").mkdir(parents=True, exist_ok=True)
    frames, total = frames_of(args.source, args.every)
    if args.limit:
        total = min(total or args.limit, args.limit)
    validator = FrameValidator()
    tracker = IouTracker()
    rows: list[tuple[object, ...]] = []
    spent = 0.0
    n = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=args.quiet) as bar:
        task = bar.add_task(f"{det.card.name} on {args.source}", total=total)
        for k, (t, raw) in enumerate(frames):
            if args.limit and k >= args.limit:
                break
            frame: np.ndarray | None = None
            if isinstance(raw, bytes):
                frame, _ = validator.check_encoded(raw)
            elif validator.reason(raw) is None and isinstance(raw, np.ndarray):
                frame = raw
            bar.advance(task)
            if frame is None:
                continue
            t0 = time.perf_counter()
            dets = det.detect(frame)
            spent += time.perf_counter() - t0
            n += 1
            tracks = tracker.update(t, dets)
            ids = {tuple(np.round(tr.box, 2)): tr.id for tr in tracks}
            for i in range(len(dets)):
                box = dets.boxes[i].astype(np.float64)
                rows.append(
                    (
                        k,
                        round(t, 4),
                        dets.names[i],
                        float(dets.scores[i]),
                        *(float(v) for v in box),
                        ids.get(tuple(np.round(box, 2))),
                    )
                )
            if not args.no_frames:
                cv2.imwrite(str(out / "frames" / f"{k:06d}.jpg"), annotate(frame, dets, tracks))
    table = pd.DataFrame(
        rows, columns=["frame", "t_s", "cls", "conf", "x1", "y1", "x2", "y2", "track"]
    )
    table["track"] = table["track"].astype("Int64")
    path = out / f"detections.{args.format}"
    if args.format == "csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    check = validator.verdict()
    summary: dict[str, object] = {
        "source": args.source,
        "model": det.card.name,
        "providers": det.providers,
        "frames_detected": n,
        "frames_rejected": dict(check.rejected),
        "boxes": len(table),
        "ms_per_frame": round(spent / n * 1000.0, 3) if n else None,
        "table": str(path),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    console.print(
        f"{n} frames, {len(table)} boxes, {summary['ms_per_frame']} ms/frame; "
        f"rejected {dict(check.rejected) or 'none'}; results in {out}"
    )
    return summary


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="edgeqi detect", description=__doc__.split("\n")[0])
    p.add_argument("source", help="image or video file, camera index, or stream URL")
    p.add_argument("--model", default="ssdlite-person", help="cached model name or directory")
    p.add_argument("--out", default="outputs/detect", help="output directory")
    p.add_argument("--conf", type=float, default=0.5, help="confidence threshold")
    p.add_argument("--every", type=int, default=1, help="process every N-th frame")
    p.add_argument("--limit", type=int, default=0, help="stop after N frames (0: all)")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    p.add_argument("--no-frames", action="store_true", help="skip the annotated frames")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        run(args, Console())
    except (ModelError, FileNotFoundError) as exc:
        print(f"edgeqi detect: {exc}", file=sys.stderr)
        return 1
    return 0
