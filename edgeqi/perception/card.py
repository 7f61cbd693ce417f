"""Model cards: everything a node or a report needs to know about one detector file.

A card travels next to its ONNX file in the model cache (``card.json``). The detector
reads its layout, input size and class names from it; reports read where the model came
from, under which licence, and what was measured on it (accuracy against a reference,
latency on the machine that prepared it).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Layout = Literal["ssd_tfod", "yolo"]
"""``ssd_tfod``: TensorFlow Object Detection API export (uint8 NHWC in, NMS in the graph,
``detection_boxes/scores/classes`` out). ``yolo``: Ultralytics YOLOv8 / YOLO11 export
(float NCHW in, ``(1, 4 + classes, anchors)`` out, NMS left to us)."""


class Provenance(BaseModel):
    """Where the file came from and what was done to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    """Registry package and version, or the path a user registered."""
    member: str = ""
    """File inside the package the model was made from."""
    steps: list[str] = Field(default_factory=list)
    """Conversions applied, with tool versions (tf2onnx, onnxruntime.quantization)."""


class Measured(BaseModel):
    """Figures measured when the model was prepared, and on what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms_p50: float
    latency_ms_p90: float
    frames: int
    machine: str
    agreement_f1: float | None = None
    """F1 at IoU 0.5 against ``agreement_reference`` on the same frames."""
    agreement_reference: str = ""


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    file: str
    """ONNX file name, relative to the card's directory."""
    sha256: str
    format: Literal["onnx"] = "onnx"
    layout: Layout
    input_size: tuple[Annotated[int, Field(gt=0)], Annotated[int, Field(gt=0)]]
    """``(height, width)`` the detector resizes or letterboxes frames to."""
    precision: Literal["fp32", "int8"] = "fp32"
    classes: list[str]
    label_offset: int = 0
    """Model class id of ``classes[0]`` (1 for TF OD API label maps, 0 for YOLO)."""
    licence: str
    provenance: Provenance
    measured: Measured | None = None
    reduced_of: str | None = None
    """Name of the full-precision model this one stands in for in reduced mode."""

    def class_name(self, class_id: int) -> str:
        i = class_id - self.label_offset
        return self.classes[i] if 0 <= i < len(self.classes) else f"class_{class_id}"
