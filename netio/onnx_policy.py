"""A learned policy from an ONNX file, as the callable the node core asks each window.

The file is read here, beside the core, because the core never opens files; the
simulator (``policy=learned policy.model=PATH``) and the field node (``policy_model`` in
node.yaml) both load their model through this one class, so the same file gives the same
decisions in both. The session is opened by the core's own :func:`open_session` (the one
the detectors use), on the CPU with one thread: the graph is a few hundred multiply-adds,
and a second thread would cost more than it saves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeqi.perception.detector import ModelError, open_session
from edgeqi.policy_hook import (
    ACTION_SIZES,
    OBSERVATION_FIELDS,
    PolicyAction,
    PolicyObservation,
)


class OnnxPolicy:
    """``observation vector (1, F) float32 -> action indices (1, 3) int64``."""

    def __init__(self, model: bytes, source: str) -> None:
        info = open_session(model, source, ["CPUExecutionProvider"], threads=1)
        self.session = info.session
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(f"policy model {source} must have one input, has {len(inputs)}")
        self._input = inputs[0].name
        width = inputs[0].shape[-1]
        if width != len(OBSERVATION_FIELDS):
            raise ModelError(
                f"policy model {source} takes {width} features; a node observes "
                f"{len(OBSERVATION_FIELDS)} ({', '.join(OBSERVATION_FIELDS)})"
            )
        self.source = source
        self(PolicyObservation(*([0.0] * len(OBSERVATION_FIELDS))))  # refuse a bad graph now

    @classmethod
    def load(cls, path: Path) -> OnnxPolicy:
        try:
            model = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"policy model {path} cannot be read: {exc}") from exc
        return cls(model, str(path))

    def __call__(self, observation: PolicyObservation) -> PolicyAction:
        x = np.asarray([observation.vector()], dtype=np.float32)
        out = np.asarray(self.session.run(None, {self._input: x})[0]).reshape(-1)
        if out.shape != (len(ACTION_SIZES),) or any(
            not 0 <= int(v) < n for v, n in zip(out, ACTION_SIZES, strict=True)
        ):
            raise ModelError(
                f"policy model {self.source} answered {out.tolist()}, not one index per "
                f"head within {ACTION_SIZES}"
            )
        return PolicyAction.from_indices(int(out[0]), int(out[1]), int(out[2]))
