"""``loadtest.sweep``: the largest node count at which every objective holds.

A binary search over ``nodes`` between ``min_nodes`` and ``max_nodes``: each probe is a
whole load test (same duration, load, SLOs and services, in ``nodes-<n>/``), and passes
when every checked objective but the node count itself holds. It assumes that more
nodes never make an objective easier to meet; the probes are all reported, so a
non-monotonic result shows. Writes ``sweep.json`` and ``sweep.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Probe = Callable[[int, Path], dict[str, Any]]
"""Run one load test with ``nodes`` into a directory; return its report."""


def passes(report: dict[str, Any]) -> bool:
    """Every checked objective holds, the node count aside (it is what the sweep varies)."""
    return all(c["ok"] is not False for c in report["slos"] if c["objective"] != "nodes")


def largest_passing(
    probe: Probe, min_nodes: int, max_nodes: int, resolution: int, out: Path
) -> dict[str, Any]:
    """Binary search; stops when the bracket is narrower than ``resolution`` nodes."""
    probes: list[dict[str, Any]] = []

    def run(n: int) -> bool:
        report = probe(n, out / f"nodes-{n}")
        ok = passes(report)
        failed = [c["objective"] for c in report["slos"] if c["ok"] is False]
        probes.append({"nodes": n, "ok": ok, "failed": [f for f in failed if f != "nodes"]})
        return ok

    best: int | None = None
    if run(max_nodes):
        best = max_nodes
    elif run(min_nodes):
        lo, hi = min_nodes, max_nodes  # lo passes, hi fails
        while hi - lo > resolution:
            mid = (lo + hi) // 2
            if run(mid):
                lo = mid
            else:
                hi = mid
        best = lo
    result = {
        "largest_passing_nodes": best,
        "bracket": [min_nodes, max_nodes],
        "resolution": resolution,
        "probes": probes,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(result, indent=2))
    (out / "sweep.md").write_text(markdown(result))
    return result


def markdown(result: dict[str, Any]) -> str:
    best = result["largest_passing_nodes"]
    lines = [
        "# Load test sweep: largest node count meeting every objective",
        "",
        f"Largest passing: **{best if best is not None else 'none'}** nodes "
        f"(searched {result['bracket'][0]}-{result['bracket'][1]}, to "
        f"{result['resolution']} nodes).",
        "",
        "| nodes | result | objectives missed |",
        "|---:|---|---|",
    ]
    for p in result["probes"]:
        lines.append(
            f"| {p['nodes']} | {'pass' if p['ok'] else 'FAIL'} | {', '.join(p['failed'])} |"
        )
    return "\n".join(lines) + "\n"
