"""The cluster-size sweep of the consensus benchmark: its table and figure from its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments.benchmarks.bench_consensus import scale_points
from experiments.reports.figures import consensus_scale


def _point(n: int, p99: float) -> dict[str, Any]:
    return {
        "cameras_per_intersection": n,
        "nodes": 10 * n,
        "wall_seconds": 1.0,
        "consensus": {
            "intersection": {
                "decisions": 130,
                "decision_latency_ms_p50": p99 / 2,
                "decision_latency_ms_p99": p99,
                "messages_per_decision": 3 * n + n / 2 - 0.1,
                "deliveries_per_decision": (n - 1) * 3.5 * n - 1,
                "bytes_per_decision": 1000.0 * n,
            },
            "expected_pbft": {
                "publishes_per_decision": 3 * n + n / 2,
                "point_to_point_per_decision": (n - 1) * 3.5 * n,
            },
            "undecided_rounds": 0,
            "view_changes": 0,
        },
    }


def test_scale_points_and_figure(tmp_path: Path) -> None:
    points = scale_points([_point(13, 900.0), _point(4, 400.0), _point(7, 500.0)])
    assert points["cluster_size"].tolist() == [13, 4, 7]
    assert points["f"].tolist() == [4, 1, 2]
    assert points["expected_publishes"].tolist() == [45.5, 14.0, 24.5]
    assert (points["publishes_per_decision"] < points["expected_publishes"]).all()
    written = consensus_scale(points, tmp_path / "scale")
    assert [p.suffix for p in written] == [".png", ".pdf"]
    assert all(p.stat().st_size > 1000 for p in written)
