"""policy=learned: a model is required, must exist, and must fit the node's observation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgeqi.perception.detector import ModelError
from edgeqi.policy_hook import OBSERVATION_FIELDS, PolicyAction, PolicyObservation
from edgeqi.transmission import Action
from experiments.rl.linear_policy import LinearPolicy
from netio.onnx_policy import OnnxPolicy
from sim.scenario_config import ConfigError, ScenarioConfig


def test_learned_needs_an_existing_model(scenario: Callable[..., ScenarioConfig]) -> None:
    with pytest.raises(ConfigError, match=r"policy\.model=PATH"):
        scenario("policy=edgeqi", "policy.name=learned")
    with pytest.raises(ConfigError, match="no such file"):
        scenario("policy=edgeqi", "policy.name=learned", "policy.model=/nonexistent.onnx")


def test_a_model_of_the_wrong_width_is_refused_naming_the_features(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "wrong",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "wrong.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelError, match="takes 3 features"):
        OnnxPolicy.load(path)


def test_the_exported_graph_decides_as_the_numpy_policy(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    policy = LinearPolicy.from_flat(rng.normal(0.0, 1.0, LinearPolicy.size()))
    path = tmp_path / "p.onnx"
    path.write_bytes(policy.to_onnx())
    onnx_policy = OnnxPolicy.load(path)
    for _ in range(500):
        obs = PolicyObservation(*rng.normal(0.0, 3.0, len(OBSERVATION_FIELDS)).tolist())
        assert onnx_policy(obs) == policy(obs)
    spike = PolicyObservation(*([0.0] + [8.0] + [0.0] * (len(OBSERVATION_FIELDS) - 2)))
    assert LinearPolicy.like_algorithm_2()(spike) == PolicyAction(Action.TRANSMIT_NOW)
