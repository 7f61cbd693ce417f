"""A linear policy over the node's observation, and its export to a tiny ONNX graph.

Three heads read one affine map of the scaled observation: four transmit logits (argmax:
transmit now, transmit, batch, discard), one for reduced precision and one for the clip
(positive: yes). Small enough for cross-entropy search on a CPU, and its ONNX form (MatMul,
Add, ArgMax) runs in any ONNX Runtime a field node has.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeqi.policy_hook import OBSERVATION_FIELDS, PolicyAction, PolicyObservation

FEATURE_SCALE = np.array(
    [50.0, 10.0, 1.0, 10.0, 10.0, 50.0, 50.0, 50.0, 1.0, 1.0, 10.0, 1.0, 1.0, 1.0],
    dtype=np.float32,
)
"""Divides each observation field (:data:`OBSERVATION_FIELDS` order) to order one, so one
search step size suits every weight."""
OUTPUTS = 6
"""Transmit logits (4), reduced (1), clip (1)."""
FloatArray = npt.NDArray[np.float32]


class LinearPolicy:
    """``logits = (x / FEATURE_SCALE) @ weights + bias``; argmax / sign per head."""

    def __init__(self, weights: FloatArray, bias: FloatArray) -> None:
        assert weights.shape == (len(OBSERVATION_FIELDS), OUTPUTS) and bias.shape == (OUTPUTS,)
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)

    @classmethod
    def size(cls) -> int:
        return len(OBSERVATION_FIELDS) * OUTPUTS + OUTPUTS

    @classmethod
    def from_flat(cls, theta: npt.NDArray[np.float64]) -> LinearPolicy:
        n = len(OBSERVATION_FIELDS) * OUTPUTS
        w = theta[:n].reshape(len(OBSERVATION_FIELDS), OUTPUTS).astype(np.float32)
        return cls(w, theta[n:].astype(np.float32))

    def flat(self) -> npt.NDArray[np.float64]:
        return np.concatenate([self.weights.reshape(-1), self.bias]).astype(np.float64)

    @classmethod
    def like_algorithm_2(cls) -> LinearPolicy:
        """Algorithm 2's thresholds on the z-score (2, 3.5, 6) as a linear argmax, full
        precision, clip on: the search's starting point. Discard 0; batch z - 2; transmit
        2z - 5.5 (beats batch above 3.5); now 3z - 11.5 (beats transmit above 6)."""
        w = np.zeros((len(OBSERVATION_FIELDS), OUTPUTS), dtype=np.float32)
        b = np.zeros(OUTPUTS, dtype=np.float32)
        z = OBSERVATION_FIELDS.index("peak_z")
        scale = FEATURE_SCALE[z]
        w[z, :4] = np.array([3.0, 2.0, 1.0, 0.0]) * scale
        b[:4] = [-11.5, -5.5, -2.0, 0.0]
        b[4] = -1.0  # full precision
        b[5] = 1.0  # clip
        return cls(w, b)

    def indices(self, x: FloatArray) -> tuple[int, int, int]:
        logits = (x / FEATURE_SCALE) @ self.weights + self.bias
        return int(np.argmax(logits[:4])), int(logits[4] > 0), int(logits[5] > 0)

    def __call__(self, observation: PolicyObservation) -> PolicyAction:
        x = np.asarray(observation.vector(), dtype=np.float32)
        return PolicyAction.from_indices(*self.indices(x))

    def to_onnx(self) -> bytes:
        """``obs (N, F) float32 -> actions (N, 3) int64``, what netio.onnx_policy reads."""
        f = len(OBSERVATION_FIELDS)
        inits = [
            numpy_helper.from_array(1.0 / FEATURE_SCALE, "inv_scale"),
            numpy_helper.from_array(self.weights, "weights"),
            numpy_helper.from_array(self.bias, "bias"),
            numpy_helper.from_array(np.array([4, 1, 1], dtype=np.int64), "split"),
            numpy_helper.from_array(np.zeros(1, dtype=np.float32), "zero"),
        ]
        nodes = [
            helper.make_node("Mul", ["obs", "inv_scale"], ["scaled"]),
            helper.make_node("MatMul", ["scaled", "weights"], ["mm"]),
            helper.make_node("Add", ["mm", "bias"], ["logits"]),
            helper.make_node("Split", ["logits", "split"], ["tx", "red", "clip"], axis=1),
            helper.make_node("ArgMax", ["tx"], ["tx_i"], axis=1, keepdims=1),
            helper.make_node("Greater", ["red", "zero"], ["red_b"]),
            helper.make_node("Greater", ["clip", "zero"], ["clip_b"]),
            helper.make_node("Cast", ["red_b"], ["red_i"], to=TensorProto.INT64),
            helper.make_node("Cast", ["clip_b"], ["clip_i"], to=TensorProto.INT64),
            helper.make_node("Concat", ["tx_i", "red_i", "clip_i"], ["actions"], axis=1),
        ]
        graph = helper.make_graph(
            nodes,
            "edgeqi_linear_policy",
            [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["N", f])],
            [helper.make_tensor_value_info("actions", TensorProto.INT64, ["N", 3])],
            inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        model.doc_string = "EDGE-QI learned policy: " + ",".join(OBSERVATION_FIELDS)
        onnx.checker.check_model(model)
        return bytes(model.SerializeToString())
