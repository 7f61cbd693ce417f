"""Compare two runs' summary.json cell for cell, ignoring what depends on the machine.

A speed change must leave every result unchanged; this is the repeatable check. Run a
scenario with the old code and with the new one, then::

    python -m experiments.benchmarks.compare_summaries OLD/summary.json NEW/summary.json

It exits 0 when the two agree on every key except wall-clock, throughput and memory
figures (``MACHINE_KEYS``), and prints each differing path otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

MACHINE_KEYS = frozenset(
    {"wall_seconds", "policy_wall_seconds", "node_seconds_per_wall_second", "peak_rss_mib"}
)
"""Keys whose values measure the machine, not the simulated city."""


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Every path at which ``old`` and ``new`` differ, machine-dependent keys skipped."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            if key in MACHINE_KEYS:
                continue
            where = f"{path}/{key}"
            if key not in old or key not in new:
                out.append(f"{where}: only in {'new' if key not in old else 'old'}")
            else:
                out.extend(differences(old[key], new[key], where))
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{path}: length {len(old)} != {len(new)}"]
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out.extend(differences(a, b, f"{path}[{i}]"))
        return out
    return [] if old == new else [f"{path}: {old!r} != {new!r}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    old = json.loads(args.old.read_text())
    new = json.loads(args.new.read_text())
    diffs = differences(old, new)
    for line in diffs:
        print(line)
    print("identical" if not diffs else f"{len(diffs)} difference(s)")
    return 0 if not diffs else 1


if __name__ == "__main__":
    raise SystemExit(main())
