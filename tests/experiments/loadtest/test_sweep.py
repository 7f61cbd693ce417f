"""The sweep's binary search finds the capacity edge and reports every probe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from experiments.loadtest.sweep import largest_passing


def capacity(edge: int) -> Any:
    """Reports of a system whose WebSocket objective holds up to ``edge`` nodes."""

    def probe(n: int, _where: Path) -> dict[str, Any]:
        return {
            "slos": [
                {"objective": "nodes", "ok": n >= 100},  # ignored by the sweep
                {"objective": "WebSocket push p99 ms", "ok": n <= edge},
                {"objective": "messages lost", "ok": True},
                {"objective": "DB query", "ok": None},  # unchecked objectives do not fail
            ]
        }

    return probe


def test_finds_the_edge_within_the_resolution(tmp_path: Path) -> None:
    result = largest_passing(capacity(137), 10, 400, 5, tmp_path)
    assert 132 < result["largest_passing_nodes"] <= 137
    probes = result["probes"]
    assert [p["nodes"] for p in probes[:2]] == [400, 10]
    assert probes[0]["failed"] == ["WebSocket push p99 ms"]
    assert len(probes) <= 2 + 7  # log2(390 / 5) bisections
    assert json.loads((tmp_path / "sweep.json").read_text()) == result
    assert "| 400 | FAIL | WebSocket push p99 ms |" in (tmp_path / "sweep.md").read_text()


def test_whole_range_passing_or_failing(tmp_path: Path) -> None:
    assert largest_passing(capacity(1000), 10, 400, 5, tmp_path)["largest_passing_nodes"] == 400
    none = largest_passing(capacity(5), 10, 400, 5, tmp_path)
    assert none["largest_passing_nodes"] is None and len(none["probes"]) == 2
