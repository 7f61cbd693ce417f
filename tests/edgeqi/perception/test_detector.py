"""Detectors on real images against TensorFlow's own boxes, and the YOLO decode on a
constructed ONNX graph whose outputs are known exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeqi.perception.boxes import match
from edgeqi.perception.card import ModelCard, Provenance
from edgeqi.perception.detector import (
    Letterbox,
    ModelError,
    SsdDetector,
    YoloDetector,
    decode_yolo,
    select_providers,
)
from hardware.model_store import load_detector, media_path, read_card

FIXTURE = json.loads(
    Path(__file__).with_name("fixtures").joinpath("tf_ssdlite_boxes.json").read_text()
)


@pytest.mark.usefixtures("prepared")
@pytest.mark.parametrize("image", ["bus.jpg", "zidane.jpg"])
def test_ssd_onnx_boxes_match_tensorflow(image: str) -> None:
    det = load_detector("ssdlite-person", conf_threshold=0.5)
    found = det.detect(cv2.imread(str(media_path(image))))
    tf = [d for d in FIXTURE["images"][image] if d["score"] >= 0.5]
    assert len(tf) >= 2
    ref_boxes = np.array([d["box_xyxy"] for d in tf], np.float32)
    ref_cls = np.array([d["class_id"] for d in tf], np.int64)
    agreement = match(ref_boxes, ref_cls, found.boxes, found.classes, 0.5)
    assert agreement.matched == len(tf)
    assert agreement.only_candidate == 0
    assert set(found.names) == {"person"}


@pytest.mark.usefixtures("prepared")
def test_int8_card_records_its_measured_agreement_and_origin() -> None:
    card, path = read_card("ssdlite-person-int8")
    assert path.is_file() and card.precision == "int8" and card.reduced_of == "ssdlite-person"
    assert card.measured is not None and card.measured.agreement_f1 is not None
    assert any("onnxruntime.quantization" in s for s in card.provenance.steps)


def _card(layout: str, size: tuple[int, int] = (64, 64), classes: int = 3) -> ModelCard:
    return ModelCard(
        name="t",
        file="model.onnx",
        sha256="0",
        layout=layout,
        input_size=size,
        classes=[f"c{i}" for i in range(classes)],
        licence="test",
        provenance=Provenance(source="constructed in the test"),
    )


# anchors: cx, cy, w, h, score(class 0), score(class 1), score(class 2)
ANCHORS = np.array(
    [
        [32, 32, 20, 20, 0.90, 0.00, 0.00],  # kept
        [33, 32, 20, 20, 0.80, 0.00, 0.00],  # same class, IoU 0.9 with the first: suppressed
        [32, 32, 20, 20, 0.00, 0.70, 0.00],  # same place, other class: kept (class-aware)
        [10, 40, 8, 8, 0.20, 0.00, 0.00],  # below the confidence threshold
        [50, 20, 10, 6, 0.00, 0.00, 0.60],  # kept
    ],
    np.float32,
)


def _yolo_model(transposed: bool = False) -> bytes:
    """A graph that ignores its image and returns ANCHORS in the YOLOv8 export layout."""
    out = ANCHORS[None] if transposed else ANCHORS.T[None]
    const = numpy_helper.from_array(np.ascontiguousarray(out), "head")
    zero = numpy_helper.from_array(np.zeros(1, np.float32), "zero")
    nodes = [
        helper.make_node("ReduceMax", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["head", "z"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolo_head",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(out.shape))],
        [const, zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.mark.parametrize("transposed", [False, True])
def test_yolo_decode_letterbox_and_class_aware_nms_on_a_constructed_graph(
    transposed: bool,
) -> None:
    det = YoloDetector(_yolo_model(transposed), _card("yolo"), source="head.onnx")
    frame = np.full((64, 128, 3), 80, np.uint8)  # letterboxed: scale 0.5, 16 px bands
    found = det.detect(frame)
    assert found.names == ("c0", "c1", "c2")
    np.testing.assert_allclose(found.scores, [0.9, 0.7, 0.6], rtol=1e-6)
    expected = [[44, 12, 84, 52], [44, 12, 84, 52], [90, 2, 110, 14]]
    np.testing.assert_allclose(found.boxes, expected, atol=1e-4)
    proto = found.to_protocol(tracks=[1, 2, 3])
    assert proto[0].box == pytest.approx((44.0, 12.0, 40.0, 40.0)) and proto[0].track == 1


def test_decode_yolo_rejects_a_wrong_layout() -> None:
    with pytest.raises(ModelError, match="not"):
        decode_yolo(np.zeros((1, 6, 100), np.float32), 3, 0.5, 0.5, 10)


def test_letterbox_fits_the_longer_side() -> None:
    lb = Letterbox.fit((360, 640), (320, 320))
    assert (lb.scale, lb.new_w, lb.new_h, lb.pad_x, lb.pad_y) == (0.5, 320, 180, 0.0, 70.0)


def test_bad_model_files_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "none" / "model.onnx"
    with pytest.raises(ModelError, match=re.escape(str(tmp_path / "none"))):
        load_detector(tmp_path / "none")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "card.json").write_text(_card("yolo").model_dump_json())
    with pytest.raises(ModelError, match=r"model file not found: .*m/model\.onnx"):
        load_detector(tmp_path / "m")
    (tmp_path / "m" / "model.onnx").write_bytes(b"not an onnx model at all")
    with pytest.raises(ModelError, match=r"m/model\.onnx is not a loadable ONNX model"):
        load_detector(tmp_path / "m")
    assert not missing.exists()


def test_ssd_detector_refuses_a_model_of_another_layout() -> None:
    with pytest.raises(ModelError, match=r"yolo\.onnx has no output 'num_detections'"):
        SsdDetector(_yolo_model(), _card("ssd_tfod"), source="yolo.onnx")


def test_yolo_detector_refuses_an_input_size_its_export_cannot_take() -> None:
    with pytest.raises(ModelError, match="fixed 64x64 input"):
        YoloDetector(_yolo_model(), _card("yolo", (32, 32)), source="head.onnx")


def test_providers_best_first_and_cpu_always_last() -> None:
    avail = ["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"]
    assert select_providers(avail) == avail[::-1]
    assert select_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert select_providers(avail, ["CUDAExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]


@pytest.mark.usefixtures("prepared")
def test_register_a_yolo_export_with_its_own_class_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from experiments.tools.model_cache import register
    from hardware.model_store import cache_root

    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "media").symlink_to(cache_root() / "media")
    monkeypatch.setenv("EDGEQI_CACHE", str(tmp_path / "cache"))
    model = onnx.load_from_string(_yolo_model())
    onnx.helper.set_model_props(model, {"names": "{0: 'car', 1: 'bus', 2: 'truck'}"})
    export = tmp_path / "export.onnx"
    onnx.save(model, str(export))
    cards = register(export, "tiny", None, "AGPL-3.0", None, int8=True, log=lambda _: None)
    assert [c.name for c in cards] == ["tiny", "tiny-int8"]
    card, path = read_card("tiny")
    assert card.classes == ["car", "bus", "truck"] and card.input_size == (64, 64)
    assert card.layout == "yolo" and card.licence == "AGPL-3.0" and path.is_file()
    assert card.measured is not None and card.measured.frames > 0
    int8 = read_card("tiny-int8")[0]
    assert int8.reduced_of == "tiny" and int8.measured is not None
    found = load_detector("tiny").detect(np.full((64, 128, 3), 80, np.uint8))
    assert found.names == ("car", "bus", "truck")
    with pytest.raises(ModelError, match="not found"):
        register(tmp_path / "missing.onnx", None, None, None, None, False)
