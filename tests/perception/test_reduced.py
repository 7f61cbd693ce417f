"""Reduced mode: the int8 recipe, the frames it is calibrated on, and the SSD graph edit
that ``bench_reduced`` uses for smaller inputs."""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeqi.perception.detector import make_detector
from experiments.models import (
    AGREEMENT_EVERY,
    SSD_NAME,
    frame_indices,
    load_detector,
    load_model_bytes,
    media_path,
    read_card,
)
from experiments.quantize import CHOSEN, Recipe, fp32_nodes
from experiments.ssd_graph import ANCHORS, feature_grids, resize_ssd, ssd_anchors


def test_feature_grids_round_up_like_same_padding() -> None:
    assert feature_grids(300) == [19, 10, 5, 3, 2, 1]
    assert feature_grids(224) == [14, 7, 4, 2, 1, 1]
    assert feature_grids(256) == [16, 8, 4, 2, 1, 1]


def test_calibration_frames_are_never_agreement_frames() -> None:
    agreement = set(range(0, 1799, AGREEMENT_EVERY))
    for count in (32, 128, 600):
        calib = frame_indices(1799, count, phase=1)
        assert calib and not agreement & set(calib)
        assert len(calib) == min(count, 600) and max(calib) < 1799
    assert set(frame_indices(1799, 60, phase=0)) <= agreement


@pytest.mark.usefixtures("prepared")
def test_anchor_rule_reproduces_the_exported_anchors() -> None:
    _, path = read_card(SSD_NAME)
    model = onnx.load(str(path))
    exported = next(numpy_helper.to_array(i) for i in model.graph.initializer if i.name == ANCHORS)
    ours = ssd_anchors(feature_grids(300))
    assert ours.shape == exported.shape[1:] == (1917, 4)
    np.testing.assert_allclose(ours, exported[0], atol=1e-4)


@pytest.mark.usefixtures("prepared")
def test_resized_graph_is_exact_at_300() -> None:
    frame = np.asarray(cv2.imread(str(media_path("bus.jpg"))), np.uint8)
    card, path = read_card(SSD_NAME)
    full = load_detector(SSD_NAME).detect(frame)
    same = make_detector(resize_ssd(load_model_bytes(path), 300), card, source="300").detect(frame)
    assert len(full) >= 2
    np.testing.assert_array_equal(same.boxes, full.boxes)
    np.testing.assert_array_equal(same.scores, full.scores)


@pytest.mark.usefixtures("prepared")
def test_resize_refuses_a_graph_it_does_not_know() -> None:
    graph = onnx.helper.make_graph([], "empty", [], [])
    with pytest.raises(ValueError, match="not the SSDLite export"):
        resize_ssd(onnx.helper.make_model(graph).SerializeToString(), 224)


@pytest.mark.usefixtures("prepared")
def test_int8_card_names_the_chosen_recipe() -> None:
    int8, _ = read_card("ssdlite-person-int8")
    assert int8.provenance.steps[-1] == CHOSEN.describe()
    assert int8.measured is not None and int8.measured.agreement_f1 is not None


@pytest.mark.usefixtures("prepared")
def test_recipe_keeps_stem_head_named_layers_and_glue_in_fp32() -> None:
    _, path = read_card(SSD_NAME)
    convs = [n.name for n in onnx.load(str(path)).graph.node if n.op_type == "Conv"]
    plain = fp32_nodes(path, Recipe("t", stem=2, head=False))
    assert convs[:2] == [n for n in plain if n in convs]
    named = fp32_nodes(
        path, Recipe("t", stem=0, keep_prefixes=("FeatureExtractor/MobilenetV2/Conv_1/",))
    )
    kept_convs = [n for n in named if n in convs]
    assert "FeatureExtractor/MobilenetV2/Conv_1/Conv2D" in kept_convs
    assert all("BoxPredictor" in n or "Conv_1" in n for n in kept_convs)
    assert any(n.startswith("Postprocessor") for n in named)
