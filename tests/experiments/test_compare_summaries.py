"""The summary comparison that speed changes are checked with must catch a changed cell."""

from __future__ import annotations

import json
from pathlib import Path

from experiments.benchmarks.compare_summaries import differences, main


def test_machine_keys_are_ignored_and_results_are_not() -> None:
    old = {"sim": {"wall_seconds": 1.0, "peak_rss_mib": 3.0, "nodes": 100}, "f1": [0.5, 0.25]}
    new = {"sim": {"wall_seconds": 9.0, "peak_rss_mib": 7.0, "nodes": 100}, "f1": [0.5, 0.25]}
    assert differences(old, new) == []
    new["f1"] = [0.5, 0.2500001]
    assert differences(old, new) == ["/f1[1]: 0.25 != 0.2500001"]


def test_missing_key_and_length_are_differences() -> None:
    assert differences({"a": 1}, {"b": 1}) == ["/a: only in old", "/b: only in new"]
    assert differences({"a": [1]}, {"a": [1, 2]}) == ["/a: length 1 != 2"]


def test_exit_status(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"x": 1, "wall_seconds": 2}))
    b.write_text(json.dumps({"x": 1, "wall_seconds": 3}))
    assert main([str(a), str(b)]) == 0
    b.write_text(json.dumps({"x": 2}))
    assert main([str(a), str(b)]) == 1
