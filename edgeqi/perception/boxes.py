"""Box arithmetic shared by decoders, the tracker and the agreement metrics.

All boxes here are ``(x1, y1, x2, y2)`` in pixels, float, one per row. Pure NumPy, so the
same code scores a detector against TensorFlow, int8 against fp32, and drives the tracker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32] | npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def iou_matrix(a: FloatArray, b: FloatArray) -> npt.NDArray[np.float64]:
    """IoU of every box in ``a`` with every box in ``b``: shape ``(len(a), len(b))``."""
    a64 = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b64 = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(a64[:, None, 0], b64[None, :, 0])
    y1 = np.maximum(a64[:, None, 1], b64[None, :, 1])
    x2 = np.minimum(a64[:, None, 2], b64[None, :, 2])
    y2 = np.minimum(a64[:, None, 3], b64[None, :, 3])
    inter = np.clip(x2 - x1, 0.0, None) * np.clip(y2 - y1, 0.0, None)
    area_a = (a64[:, 2] - a64[:, 0]).clip(0.0) * (a64[:, 3] - a64[:, 1]).clip(0.0)
    area_b = (b64[:, 2] - b64[:, 0]).clip(0.0) * (b64[:, 3] - b64[:, 1]).clip(0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    out: npt.NDArray[np.float64] = np.where(union > 0.0, inter / np.maximum(union, 1e-12), 0.0)
    return out


def nms(boxes: FloatArray, scores: FloatArray, iou_threshold: float) -> IntArray:
    """Greedy non-maximum suppression; indices of the kept boxes, best score first."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    b = np.asarray(boxes, dtype=np.float64)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        overlap = iou_matrix(b[i : i + 1], b[rest])[0]
        order = rest[overlap <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    boxes: FloatArray, scores: FloatArray, classes: IntArray, iou_threshold: float
) -> IntArray:
    """Class-aware NMS: boxes of different classes never suppress each other.

    Each class is shifted to its own region of the plane (offset larger than any
    coordinate), so one NMS pass does all classes at once.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    b = np.asarray(boxes, dtype=np.float64)
    offset = float(np.abs(b).max()) + 1.0
    shifted = b + (np.asarray(classes, dtype=np.float64) * offset)[:, None]
    return nms(shifted, scores, iou_threshold)


@dataclass(slots=True, frozen=True)
class Agreement:
    """How two detectors' boxes agree on the same frames (matched one-to-one at an IoU)."""

    matched: int
    only_reference: int
    only_candidate: int

    @property
    def precision(self) -> float:
        n = self.matched + self.only_candidate
        return self.matched / n if n else 1.0

    @property
    def recall(self) -> float:
        n = self.matched + self.only_reference
        return self.matched / n if n else 1.0

    @property
    def f1(self) -> float:
        n = 2 * self.matched + self.only_reference + self.only_candidate
        return 2 * self.matched / n if n else 1.0

    def __add__(self, other: Agreement) -> Agreement:
        return Agreement(
            self.matched + other.matched,
            self.only_reference + other.only_reference,
            self.only_candidate + other.only_candidate,
        )


def match(
    ref_boxes: FloatArray,
    ref_classes: IntArray,
    cand_boxes: FloatArray,
    cand_classes: IntArray,
    iou_threshold: float = 0.5,
) -> Agreement:
    """Greedy one-to-one matching, highest IoU first, same class only."""
    if len(ref_boxes) == 0 or len(cand_boxes) == 0:
        return Agreement(0, len(ref_boxes), len(cand_boxes))
    iou = iou_matrix(ref_boxes, cand_boxes)
    same = np.asarray(ref_classes)[:, None] == np.asarray(cand_classes)[None, :]
    iou = np.where(same, iou, 0.0)
    matched = 0
    used_r: set[int] = set()
    used_c: set[int] = set()
    for flat in np.argsort(-iou, axis=None):
        r, c = divmod(int(flat), iou.shape[1])
        if iou[r, c] < iou_threshold:
            break
        if r in used_r or c in used_c:
            continue
        used_r.add(r)
        used_c.add(c)
        matched += 1
    return Agreement(matched, len(ref_boxes) - matched, len(cand_boxes) - matched)
