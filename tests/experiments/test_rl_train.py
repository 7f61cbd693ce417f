"""The shipped training example: bounded by its budget, it writes a model the node can run."""

from __future__ import annotations

import json
from pathlib import Path

from experiments.rl import train
from netio.onnx_policy import OnnxPolicy


def test_training_respects_its_budget_and_exports_a_loadable_model(tmp_path: Path) -> None:
    out = tmp_path / "p.onnx"
    rc = train.main(
        [
            "--out",
            str(out),
            "--budget-s",
            "20",
            "--seeds",
            "0",
            "--duration-s",
            "120",
            "--population",
            "3",
            "--elite",
            "1",
        ]
    )
    assert rc == 0
    log = json.loads(out.with_suffix(".json").read_text())
    assert log["wall_seconds"] <= 20 + 10  # a generation is started only if it fits
    assert log["best_fitness"] >= log["start_fitness"]  # the mean itself is a candidate
    assert len(log["generations"]) >= 2
    OnnxPolicy.load(out)
