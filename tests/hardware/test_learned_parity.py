"""The same learned policy file decides alike in the simulator and on a field node.

A simulated camera runs ``policy=learned`` with an ONNX model loaded the simulator's way
(``policy.model``); the inputs its node was handed each window are recorded, then replayed
into a node holding the same model loaded the field node's way (``policy_model`` in
node.yaml). Both must publish the same messages, the same video and the same compute, window
for window; and the model's choices must matter (the same inputs without it differ).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from edgeqi.node import EdgeNode, NodeInputs, NodeOutputs
from edgeqi.protocol import encode
from experiments.rl.linear_policy import LinearPolicy
from experiments.runs.compose import compose_scenario
from hardware import assemble
from hardware.node_config import load
from sim.runner import PolicySimulation
from sim.synthetic_camera import SyntheticPerception
from tests.hardware.test_node_config import MINIMAL


def _model(tmp_path: Path) -> Path:
    """Algorithm 2's thresholds one sigma lower, and reduced precision below a full battery."""
    policy = LinearPolicy.like_algorithm_2()
    policy.bias[:3] += np.array([3.0, 2.0, 1.0], dtype=np.float32)
    policy.weights[8, 4] = -4.0  # battery_soc: reduced precision unless it is full
    policy.bias[4] = 3.9
    path = tmp_path / "learned.onnx"
    path.write_bytes(policy.to_onnx())
    return path


def _fingerprint(out: NodeOutputs) -> tuple[object, ...]:
    return (
        tuple(encode(o.message) for o in out.messages),
        tuple(out.video),
        round(out.compute_full_s, 9),
        round(out.compute_reduced_s, 9),
    )


def test_sim_and_field_take_the_same_decisions_with_the_same_model(tmp_path: Path) -> None:
    model = _model(tmp_path)
    scn = compose_scenario(
        [
            "city=single_camera",
            "duration_s=1800",
            "seed=4",
            "policy=learned",
            "policy.compare=[learned]",
            f"policy.model={model}",
            "progress=false",
        ]
    )
    sim = PolicySimulation(scn, "learned", record_queues=False)
    node = sim.state.nodes[0]
    steps: list[tuple[float, NodeInputs, tuple[object, ...]]] = []
    sim_step = node.step

    def recording(now: float, inputs: NodeInputs) -> NodeOutputs:
        out = sim_step(now, inputs)
        steps.append((now, inputs, _fingerprint(out)))
        return out

    node.step = recording  # type: ignore[method-assign]
    sim.run()
    assert len(steps) == 1800 / 2

    field_yaml = tmp_path / "node.yaml"
    field_yaml.write_text(
        yaml.safe_dump({**MINIMAL, "policy": "learned", "policy_model": model.name})
    )
    field_policy = assemble.learned_policy(load(field_yaml))
    assert field_policy is not None

    def replay(learned: object) -> list[tuple[object, ...]]:
        twin = EdgeNode(node.config, SyntheticPerception(), sim.t0, learned=learned)  # type: ignore[arg-type]
        return [_fingerprint(twin.step(now, inputs)) for now, inputs, _ in steps]

    recorded = [fp for _, _, fp in steps]
    assert replay(field_policy) == recorded
    without = replay(None)
    assert without != recorded
    assert sum(fp[3] for fp in recorded) > sum(fp[3] for fp in without)  # type: ignore[misc]


def test_a_learned_node_yaml_without_a_model_is_refused(tmp_path: Path) -> None:
    from hardware.node_config import ConfigError

    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump({**MINIMAL, "policy": "learned"}))
    with pytest.raises(ConfigError, match="policy_model"):
        load(path)
