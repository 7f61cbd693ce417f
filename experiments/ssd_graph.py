"""Another input size for the TF Object Detection API SSDLite export, by editing its ONNX graph.

The export fixes 300x300 in three places: the resize inside the preprocessing loop, the
anchors (a constant computed in TensorFlow for the 19, 10, 5, 3, 2, 1 feature grids of a
300-pixel input) and the convolutions' padding (TensorFlow's ``SAME`` written out as
explicit pads for those grids). The convolutions themselves take any size. So a smaller
input needs the resize target changed, the anchors regenerated for the smaller grids with
the generator's own rule, and ``SAME`` padding restored; nothing is retrained. At 300 the
edited graph gives the original's outputs exactly (checked by the tests).

At other sizes the edit is not validated, and it is used only by ``bench_reduced``, not by
``edgeqi models prepare``: the boxes it gives do not agree with fp32 at 300 (F1 0.03 at
224 and 0.14 at 256 on the street video, with three times as many boxes), and at 280 a
small pedestrian's box moves 46 pixels sideways, which points at a misalignment this
module has not found rather than at the network (BENCHMARKS.md).

The anchor rule is the SSD generator of the Object Detection API configuration this model
was trained with: six layers, scales from 0.2 to 0.95, aspect ratios 1, 2, 1/2, 3, 1/3
plus one box at the geometric mean of adjacent scales, three boxes only (scale 0.1 at 1,
0.2 at 2 and 1/2) in the lowest layer. Applied to the 300 grids it reproduces the
exported constant to 1e-4.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

EXPORTED_SIZE = 300
ANCHORS = "Postprocessor/ExpandDims:0"
"""The exported anchors, ``[1, n, 4]`` as ``(ymin, xmin, ymax, xmax)``, normalised."""
MIN_SCALE, MAX_SCALE = 0.2, 0.95
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def feature_grids(size: int) -> list[int]:
    """Side of each of the six feature maps: strides 16 and 32, then four stride-2 layers,
    each rounding up as ``SAME`` padding does."""
    grids = [-(-size // 16), -(-size // 32)]
    while len(grids) < 6:
        grids.append(-(-grids[-1] // 2))
    return grids


def ssd_anchors(grids: list[int]) -> npt.NDArray[np.float32]:
    """Anchors ``(ymin, xmin, ymax, xmax)`` for the given grids, in the exported order
    (layer, row, column, box)."""
    n = len(grids)
    scales = [MIN_SCALE + (MAX_SCALE - MIN_SCALE) * i / (n - 1) for i in range(n)] + [1.0]
    rows: list[tuple[float, float, float, float]] = []
    for layer, side in enumerate(grids):
        if layer == 0:
            shapes = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            shapes = [(scales[layer], a) for a in ASPECT_RATIOS]
            shapes.append((math.sqrt(scales[layer] * scales[layer + 1]), 1.0))
        centres = (np.arange(side) + 0.5) / side
        for yc in centres:
            for xc in centres:
                for scale, ratio in shapes:
                    h, w = scale / math.sqrt(ratio), scale * math.sqrt(ratio)
                    rows.append((yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2))
    return np.asarray(rows, np.float32)


def resize_ssd(model_bytes: bytes, size: int) -> bytes:
    """The exported SSD graph taking a ``size`` x ``size`` input instead of 300x300."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    found = {"resize": 0, "anchors": 0}

    def edit(graph: onnx.GraphProto) -> None:
        for init in graph.initializer:
            value = numpy_helper.to_array(init)
            if init.name == ANCHORS:
                found["anchors"] += 1
                if size != EXPORTED_SIZE:
                    new = ssd_anchors(feature_grids(size))[None]
                    init.CopyFrom(numpy_helper.from_array(new, init.name))
            elif (
                value.dtype.kind in "iu"
                and value.ndim == 1
                and 2 <= value.size <= 3
                and value[:2].tolist() == [EXPORTED_SIZE, EXPORTED_SIZE]
            ):
                found["resize"] += 1
                new_size = value.copy()
                new_size[:2] = size
                init.CopyFrom(numpy_helper.from_array(new_size, init.name))
        for node in graph.node:
            if node.op_type == "Conv" and any(a.name == "pads" for a in node.attribute):
                kept = [a for a in node.attribute if a.name != "pads"]
                del node.attribute[:]
                node.attribute.extend([*kept, helper.make_attribute("auto_pad", "SAME_UPPER")])
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    edit(attr.g)

    edit(model.graph)
    if found["anchors"] != 1 or found["resize"] < 1:
        raise ValueError(
            f"not the SSDLite export this edit knows: anchors {found['anchors']}, "
            f"300x300 size constants {found['resize']}"
        )
    return bytes(model.SerializeToString())
