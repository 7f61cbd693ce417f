"""The queue benchmark runs end to end on a few messages (its figures live in BENCHMARKS.md)."""

from __future__ import annotations

import json
from pathlib import Path

from experiments.benchmarks.bench_disk_buffer import main


def test_benchmark_reports_every_buffer_against_memory(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert (
        main(["--messages", "60", "--window", "8", "--dir", str(tmp_path), "--out", str(out)]) == 0
    )
    result = json.loads(out.read_text())
    assert result["disk_full"]["messages"] == 6
    for name in ("memory", "disk_normal", "disk_full"):
        assert result[name]["push_ack_per_s"] > 0 and result[name]["drain_per_s"] > 0
    assert result["disk_normal"]["vs_memory"] > 0
