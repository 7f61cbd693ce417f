"""Static int8 quantization of a detector with ``onnxruntime.quantization``, as a recipe.

A :class:`Recipe` names every choice that changes the int8 model: calibration method and
percentile, how many calibration frames, which layers stay fp32, weight range, format.
``edgeqi models prepare`` builds :data:`CHOSEN`; ``python -m experiments.benchmarks.bench_reduced``
builds the other candidates into a scratch directory and measures them all against fp32
in one run (BENCHMARKS.md records the table the choice was made from).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Literal

import numpy as np

GLUE = ("Preprocessor", "Postprocessor", "MultipleGridAnchorGenerator", "Concatenate")
"""TF OD API pre/postprocessing (resize loop, anchors, box decoding, NMS loop): always fp32."""


@dataclass(frozen=True, slots=True)
class Recipe:
    """Everything that decides what the int8 model computes."""

    name: str
    method: Literal["percentile", "minmax", "entropy"] = "percentile"
    percentile: float = 99.999
    """Activation range: this percentile of the calibration histogram (``percentile`` only)."""
    frames: int = 32
    """Calibration frames from the street video (never the frames agreement is measured on)."""
    stem: int = 6
    """Leading convolutions kept fp32 (they see raw pixels)."""
    head: bool = True
    """Keep the detection head (box regression and class logits) fp32."""
    keep_prefixes: tuple[str, ...] = ()
    """Further nodes kept fp32, by name prefix."""
    op_types: tuple[str, ...] = ("Conv", "Clip", "Relu", "Add")
    per_channel: bool = True
    reduce_range: bool = False
    """7-bit weights, against ``u8s8`` saturation on x86 CPUs without VNNI."""
    fmt: Literal["qdq", "qoperator"] = "qdq"
    extra: tuple[tuple[str, object], ...] = field(default=())
    """Further ``extra_options`` of ``quantize_static``."""

    def describe(self) -> str:
        rng = (
            f"activations at the {self.percentile}th percentile"
            if self.method == "percentile"
            else f"activations by {self.method}"
        )
        kept = [f"the first {self.stem} convolutions"] if self.stem else []
        kept += ["the detection head"] if self.head else []
        kept += [f"nodes under {', '.join(self.keep_prefixes)}"] if self.keep_prefixes else []
        kept.append("the pre/postprocessing")
        return (
            f"onnxruntime.quantization {metadata.version('onnxruntime')}: static "
            f"{self.fmt.upper()} int8 ({', '.join(self.op_types)}), weights per "
            f"{'channel' if self.per_channel else 'tensor'}"
            f"{' in 7 bits' if self.reduce_range else ''}, {rng} over {self.frames} "
            f"street-video frames; {', '.join(kept[:-1])} and {kept[-1]} kept fp32"
        )


M = "FeatureExtractor/MobilenetV2/"
EARLY_BLOCKS = tuple(f"{M}expanded_conv_{i}/" for i in range(2, 8))
"""Inverted-residual blocks 2-7: the 75x75 to 19x19 layers that carry small, distant
pedestrians."""

CHOSEN = Recipe("chosen: stem 2 + blocks 2-7 fp32", stem=2, keep_prefixes=EARLY_BLOCKS)
"""The first two convolutions and blocks 2-7 fp32, the rest of the backbone int8: the best
agreement with fp32 of the recipes measured (F1 0.923 against 0.87-0.89 for the others),
for about 4 % more int8 time than keeping only the first six convolutions (BENCHMARKS.md,
"int8 recipes and smaller inputs"). On this network only the first two
convolutions matter one by one (quantizing either alone moved scores more than all the
rest together); the remaining error is spread thinly over the early blocks."""


def fp32_nodes(model_path: Path, recipe: Recipe) -> list[str]:
    """Nodes the recipe leaves in fp32: stem, head, named prefixes, pre/postprocessing.

    TF OD API heads are ``BoxPredictor_*``; an Ultralytics head is the last ``model.N``.
    """
    import onnx

    nodes = list(onnx.load(str(model_path)).graph.node)
    convs = [n.name for n in nodes if n.op_type == "Conv"]
    head: list[str] = []
    if recipe.head and any("BoxPredictor" in c for c in convs):
        head = [n.name for n in nodes if "BoxPredictor" in n.name]
    elif recipe.head:
        index = [int(m.group(1)) for c in convs if (m := re.search(r"model\.(\d+)/", c))]
        head = [n.name for n in nodes if index and f"model.{max(index)}/" in n.name]
    named = [
        n.name for n in nodes if recipe.keep_prefixes and n.name.startswith(recipe.keep_prefixes)
    ]
    outside = [n.name for n in nodes if n.name.startswith(GLUE)]
    return convs[: recipe.stem] + head + named + outside


def quantize_int8(
    fp32: Path, out: Path, input_name: str, frames: list[np.ndarray], recipe: Recipe = CHOSEN
) -> str:
    """Build the recipe's int8 model from ``fp32`` calibrated on ``frames`` (network inputs);
    returns the provenance step for the model card."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    feeds: Iterator[dict[str, np.ndarray]] = iter([{input_name: f} for f in frames])

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(feeds, None)

    methods = {
        "percentile": CalibrationMethod.Percentile,
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
    }
    extra: dict[str, object] = dict(recipe.extra)
    if recipe.method == "percentile":
        extra["CalibPercentile"] = recipe.percentile
    quantize_static(
        str(fp32),
        str(out),
        Reader(),
        quant_format=QuantFormat.QDQ if recipe.fmt == "qdq" else QuantFormat.QOperator,
        op_types_to_quantize=list(recipe.op_types),
        nodes_to_exclude=fp32_nodes(fp32, recipe),
        per_channel=recipe.per_channel,
        reduce_range=recipe.reduce_range,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=methods[recipe.method],
        extra_options=extra,
    )
    return recipe.describe()
