"""Object detectors on ONNX Runtime: one interface, two output layouts.

A detector is handed a BGR ``uint8`` frame (as OpenCV decodes it) and returns boxes in
that frame's pixels. Work is split into ``preprocess`` / ``infer`` / ``postprocess`` so
that calibration can time each stage from outside (the core never reads a clock), and
``detect`` simply chains them. The model arrives as bytes plus its card: reading files
is the caller's business, so the same class runs in the simulator, in tests and on a
Jetson.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from edgeqi.perception.boxes import batched_nms
from edgeqi.perception.card import ModelCard
from edgeqi.protocol import Detection

U8Array = npt.NDArray[np.uint8]
F32Array = npt.NDArray[np.float32]

PROVIDER_PREFERENCE = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)


class ModelError(RuntimeError):
    """A model file is missing, unreadable, not ONNX, or not the layout its card claims."""


@dataclass(slots=True, frozen=True)
class Detections:
    """Boxes ``(x1, y1, x2, y2)`` in frame pixels, scores and class ids, best first."""

    boxes: F32Array
    scores: F32Array
    classes: npt.NDArray[np.int64]
    names: tuple[str, ...] = ()
    """Class name per row."""

    def __len__(self) -> int:
        return len(self.scores)

    @staticmethod
    def empty() -> Detections:
        return Detections(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        )

    def to_protocol(self, tracks: Sequence[int | None] | None = None) -> tuple[Detection, ...]:
        """As protocol messages: boxes become ``(x, y, w, h)``."""
        out = []
        for i in range(len(self)):
            x1, y1, x2, y2 = (float(v) for v in self.boxes[i])
            out.append(
                Detection(
                    cls=self.names[i] if self.names else str(int(self.classes[i])),
                    conf=min(max(float(self.scores[i]), 0.0), 1.0),
                    box=(x1, y1, max(x2 - x1, 0.0), max(y2 - y1, 0.0)),
                    track=None if tracks is None else tracks[i],
                )
            )
        return tuple(out)


@dataclass(slots=True, frozen=True)
class Prepared:
    """A frame ready for the network, and how to map boxes back onto the frame."""

    feed: dict[str, Any]
    frame_hw: tuple[int, int]
    scale: float = 1.0
    pad: tuple[float, float] = (0.0, 0.0)


class Detector(Protocol):
    """What calibration, ``edgeqi detect`` and the node's perception call."""

    card: ModelCard
    providers: list[str]

    def preprocess(self, frame: U8Array) -> Prepared: ...

    def infer(self, prepared: Prepared) -> list[Any]: ...

    def postprocess(self, outputs: list[Any], prepared: Prepared) -> Detections: ...

    def detect(self, frame: U8Array) -> Detections: ...


def select_providers(available: Sequence[str], wanted: Sequence[str] | None = None) -> list[str]:
    """Providers to ask for, best first, always ending with the CPU one.

    ``wanted`` restricts the choice (e.g. ``["CPUExecutionProvider"]`` for a fair
    benchmark); names not available here are dropped rather than failing.
    """
    pool = [p for p in (wanted or PROVIDER_PREFERENCE) if p in available]
    ranked = sorted(
        pool,
        key=lambda p: PROVIDER_PREFERENCE.index(p) if p in PROVIDER_PREFERENCE else -1,
    )
    if "CPUExecutionProvider" not in ranked:
        ranked.append("CPUExecutionProvider")
    return ranked


@dataclass(slots=True)
class SessionInfo:
    session: ort.InferenceSession
    providers: list[str]
    fallback: str = ""
    """Why the session runs on fewer providers than asked for (empty if it does not)."""


def open_session(
    model: bytes, source: str, wanted: Sequence[str] | None = None, threads: int = 0
) -> SessionInfo:
    """An ONNX Runtime session on the best providers, falling back to CPU cleanly.

    ``source`` names the file in every error, so a bad model says which one it is.
    """
    if not model:
        raise ModelError(f"model file {source} is empty")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    asked = select_providers(ort.get_available_providers(), wanted)
    try:
        session = ort.InferenceSession(model, opts, providers=asked)
    except Exception as exc:
        if asked == ["CPUExecutionProvider"]:
            raise ModelError(f"model file {source} is not a loadable ONNX model: {exc}") from exc
        try:
            session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        except Exception as exc2:
            raise ModelError(f"model file {source} is not a loadable ONNX model: {exc2}") from exc2
        return SessionInfo(session, ["CPUExecutionProvider"], f"{asked[0]} failed: {exc}")
    got = list(session.get_providers())
    fallback = "" if got == asked else f"asked for {asked}, running on {got}"
    return SessionInfo(session, got, fallback)


class _OnnxDetector(ABC):
    """Shared plumbing: session, card, thresholds and the ``detect`` chain."""

    def __init__(
        self,
        model: bytes,
        card: ModelCard,
        *,
        source: str,
        conf_threshold: float = 0.5,
        iou_threshold: float = 0.45,
        max_detections: int = 300,
        providers: Sequence[str] | None = None,
        threads: int = 0,
    ) -> None:
        self.card = card
        self.source = source
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_detections = max_detections
        info = open_session(model, source, providers, threads)
        self.session = info.session
        self.providers = info.providers
        self.fallback = info.fallback
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def infer(self, prepared: Prepared) -> list[Any]:
        return list(self.session.run(None, prepared.feed))

    def detect(self, frame: U8Array) -> Detections:
        prepared = self.preprocess(frame)
        return self.postprocess(self.infer(prepared), prepared)

    @abstractmethod
    def preprocess(self, frame: U8Array) -> Prepared:
        """Frame to network input, remembering how to map boxes back."""

    @abstractmethod
    def postprocess(self, outputs: list[Any], prepared: Prepared) -> Detections:
        """Network outputs to thresholded boxes in frame pixels."""

    def _names(self, classes: npt.NDArray[np.int64]) -> tuple[str, ...]:
        return tuple(self.card.class_name(int(c)) for c in classes)


class SsdDetector(_OnnxDetector):
    """TensorFlow Object Detection API SSD exports (the graph does its own NMS).

    Input: ``uint8 [1, H, W, 3]`` RGB. Outputs: ``num_detections``, ``detection_boxes``
    (normalised ``ymin, xmin, ymax, xmax``), ``detection_scores``, ``detection_classes``
    (1-based label-map ids).
    """

    def __init__(self, model: bytes, card: ModelCard, **kw: Any) -> None:
        super().__init__(model, card, **kw)
        wanted = ("num_detections", "detection_boxes", "detection_scores", "detection_classes")
        index: dict[str, int] = {}
        for key in wanted:
            hits = [i for i, n in enumerate(self.output_names) if n.split(":")[0] == key]
            if not hits:
                raise ModelError(
                    f"model file {self.source} has no output {key!r} (outputs: "
                    f"{self.output_names}): not a TF Object Detection API SSD export"
                )
            index[key] = hits[0]
        self._index = index

    def preprocess(self, frame: U8Array) -> Prepared:
        h, w = self.card.input_size
        resized = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
        rgb = np.ascontiguousarray(resized[:, :, ::-1])[None]
        return Prepared({self.input_name: rgb}, (frame.shape[0], frame.shape[1]))

    def postprocess(self, outputs: list[Any], prepared: Prepared) -> Detections:
        n = int(np.asarray(outputs[self._index["num_detections"]]).reshape(-1)[0])
        scores = np.asarray(outputs[self._index["detection_scores"]], np.float32)[0, :n]
        boxes = np.asarray(outputs[self._index["detection_boxes"]], np.float32)[0, :n]
        classes = np.asarray(outputs[self._index["detection_classes"]])[0, :n].astype(np.int64)
        keep = np.flatnonzero(scores >= self.conf_threshold)[: self.max_detections]
        fh, fw = prepared.frame_hw
        b = boxes[keep]
        xyxy = np.stack([b[:, 1] * fw, b[:, 0] * fh, b[:, 3] * fw, b[:, 2] * fh], axis=1)
        return Detections(
            xyxy.astype(np.float32), scores[keep], classes[keep], self._names(classes[keep])
        )


@dataclass(slots=True, frozen=True)
class Letterbox:
    """Resize keeping the aspect ratio, then pad to the network size (Ultralytics style)."""

    scale: float
    pad_x: float
    pad_y: float
    new_w: int
    new_h: int

    @staticmethod
    def fit(frame_hw: tuple[int, int], size_hw: tuple[int, int]) -> Letterbox:
        fh, fw = frame_hw
        h, w = size_hw
        scale = min(h / fh, w / fw)
        new_w, new_h = round(fw * scale), round(fh * scale)
        return Letterbox(scale, (w - new_w) / 2.0, (h - new_h) / 2.0, new_w, new_h)


def letterbox(frame: U8Array, size_hw: tuple[int, int]) -> tuple[U8Array, Letterbox]:
    lb = Letterbox.fit((frame.shape[0], frame.shape[1]), size_hw)
    h, w = size_hw
    resized = cv2.resize(frame, (lb.new_w, lb.new_h), interpolation=cv2.INTER_LINEAR)
    out = np.full((h, w, 3), 114, np.uint8)
    top, left = round(lb.pad_y - 0.1), round(lb.pad_x - 0.1)
    out[top : top + lb.new_h, left : left + lb.new_w] = resized
    return out, Letterbox(lb.scale, float(left), float(top), lb.new_w, lb.new_h)


def decode_yolo(
    output: npt.NDArray[np.float32],
    num_classes: int,
    conf_threshold: float,
    iou_threshold: float,
    max_detections: int,
) -> tuple[F32Array, F32Array, npt.NDArray[np.int64]]:
    """YOLOv8 / YOLO11 head output to boxes in network pixels, after class-aware NMS.

    ``output`` is ``(1, 4 + classes, anchors)`` (the export's layout) or its transpose:
    per anchor ``cx, cy, w, h`` then one sigmoid score per class, no objectness.
    """
    pred = np.asarray(output, np.float32)
    if pred.ndim == 3:
        pred = pred[0]
    channels = 4 + num_classes
    if pred.ndim == 2 and pred.shape[0] == channels:
        pred = pred.T
    elif pred.ndim != 2 or pred.shape[1] != channels:
        raise ModelError(
            f"YOLO output of shape {np.shape(output)} is not (1, 4 + {num_classes} classes, "
            "anchors) nor its transpose"
        )
    cls_scores = pred[:, 4:]
    classes = cls_scores.argmax(axis=1)
    scores = cls_scores[np.arange(len(pred)), classes]
    keep = scores >= conf_threshold
    pred, scores, classes = pred[keep], scores[keep], classes[keep].astype(np.int64)
    cx, cy, w, h = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kept = batched_nms(boxes, scores, classes, iou_threshold)[:max_detections]
    return boxes[kept].astype(np.float32), scores[kept].astype(np.float32), classes[kept]


class YoloDetector(_OnnxDetector):
    """Ultralytics YOLOv8 / YOLO11 ONNX exports (COCO, VisDrone or any class list).

    A model exported with dynamic axes accepts another ``input_size`` (multiple of 32),
    which is how reduced mode shrinks it.
    """

    def __init__(
        self, model: bytes, card: ModelCard, input_size: tuple[int, int] | None = None, **kw: Any
    ) -> None:
        super().__init__(model, card, **kw)
        self.input_size = input_size or card.input_size
        shape = self.session.get_inputs()[0].shape
        fixed = [d for d in shape[2:] if isinstance(d, int)]
        if len(fixed) == 2 and tuple(fixed) != tuple(self.input_size):
            raise ModelError(
                f"model file {self.source} takes a fixed {fixed[0]}x{fixed[1]} input, "
                f"not {self.input_size[0]}x{self.input_size[1]}"
            )

    def preprocess(self, frame: U8Array) -> Prepared:
        boxed, lb = letterbox(frame, self.input_size)
        x = boxed[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255.0)
        return Prepared(
            {self.input_name: np.ascontiguousarray(x)},
            (frame.shape[0], frame.shape[1]),
            lb.scale,
            (lb.pad_x, lb.pad_y),
        )

    def postprocess(self, outputs: list[Any], prepared: Prepared) -> Detections:
        boxes, scores, classes = decode_yolo(
            outputs[0],
            len(self.card.classes),
            self.conf_threshold,
            self.iou_threshold,
            self.max_detections,
        )
        px, py = prepared.pad
        fh, fw = prepared.frame_hw
        boxes = (boxes - np.array([px, py, px, py], np.float32)) / np.float32(prepared.scale)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, fw)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, fh)
        return Detections(boxes, scores, classes, self._names(classes))


def make_detector(model: bytes, card: ModelCard, **kw: Any) -> SsdDetector | YoloDetector:
    """The detector class for the card's layout."""
    if card.layout == "ssd_tfod":
        kw.pop("input_size", None)
        return SsdDetector(model, card, **kw)
    return YoloDetector(model, card, **kw)


def detections_from_protocol(items: Sequence[Detection]) -> Detections:
    """Protocol detections (``x, y, w, h``) as arrays, e.g. the simulator's synthetic ones."""
    if not items:
        return Detections.empty()
    boxes = np.array(
        [(d.box[0], d.box[1], d.box[0] + d.box[2], d.box[1] + d.box[3]) for d in items]
    )
    names = tuple(d.cls for d in items)
    index = {n: i for i, n in enumerate(dict.fromkeys(names))}
    return Detections(
        boxes.astype(np.float32),
        np.array([d.conf for d in items], np.float32),
        np.array([index[n] for n in names], np.int64),
        names,
    )
