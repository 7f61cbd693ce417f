"""Resuming a sweep: a run whose complete results already exist is not run again.

A run directory is *complete* when its ``complete.json`` exists, records the SHA-256
of the same resolved scenario configuration as the one about to run (every key that
can change a result: the whole config less ``hydra`` and the display-only
``progress``), and every file it lists (``summary.json`` first, then the tables and
plots the config asked for) is still there. ``complete.json`` is written last, by an
atomic rename, after everything else, so a run killed halfway never looks complete;
a run whose config changed (another threshold, a longer duration, a new policy list)
runs again into the same directory.

Re-running the same ``edgeqi run -m ...`` with the same ``hydra.sweep.dir`` therefore
only runs what is missing. To force a run again, delete its ``complete.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

MARKER = "complete.json"
DISPLAY_ONLY = ("hydra", "progress")
"""Keys that cannot change a result and so do not enter the digest."""


def config_digest(raw: dict[str, Any]) -> str:
    """SHA-256 of the resolved config, canonical JSON (sorted keys), display keys left out."""
    kept = {k: v for k, v in raw.items() if k not in DISPLAY_ONLY}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_marker(out: Path) -> dict[str, Any] | None:
    """The run record in ``out``, or None when there is none or it cannot be read."""
    try:
        record = json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def is_complete(out: Path, digest: str) -> bool:
    """Whether ``out`` holds the complete results of the config whose digest is ``digest``."""
    record = read_marker(out)
    if record is None or record.get("config_sha256") != digest:
        return False
    files = record.get("files")
    if not isinstance(files, list) or "summary.json" not in files:
        return False
    return all((out / str(name)).is_file() for name in files)


def mark_complete(out: Path, digest: str, extra: dict[str, Any] | None = None) -> Path:
    """Record that ``out`` now holds complete results; the last file a run writes."""
    files = sorted(
        p.name for p in out.iterdir() if p.is_file() and p.name != MARKER and p.suffix != ".log"
    )
    record = {"config_sha256": digest, "files": files, **(extra or {})}
    tmp = out / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, out / MARKER)
    return out / MARKER
