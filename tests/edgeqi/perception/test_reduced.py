"""Reduced mode: the int8 recipe and the frames it is calibrated on."""

from __future__ import annotations

import onnx
import pytest

from experiments.tools.model_cache import AGREEMENT_EVERY, SSD_NAME, frame_indices
from experiments.tools.quantize import CHOSEN, Recipe, fp32_nodes
from hardware.model_store import read_card


def test_calibration_frames_are_never_agreement_frames() -> None:
    agreement = set(range(0, 1799, AGREEMENT_EVERY))
    for count in (32, 128, 600):
        calib = frame_indices(1799, count, phase=1)
        assert calib and not agreement & set(calib)
        assert len(calib) == min(count, 600) and max(calib) < 1799
    assert set(frame_indices(1799, 60, phase=0)) <= agreement


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
