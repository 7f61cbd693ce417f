"""Where Eclipse SUMO's binaries, tools and Python bindings come from: the ``.[sumo]`` extra.

Everything ships in the PyPI wheels (``eclipse-sumo``, ``libsumo``, ``sumolib``), so a
run downloads nothing; without them ``world=sumo`` stops with an error naming the extra.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

INSTALL_HINT = "world=sumo needs Eclipse SUMO: pip install -e '.[sumo]'"


class SumoMissingError(RuntimeError):
    """``world=sumo`` was asked for without the ``.[sumo]`` extra installed."""


def missing_module() -> str | None:
    """The first of SUMO's modules that cannot be imported here, without importing any."""
    for name in ("sumo", "libsumo", "sumolib"):
        if name in sys.modules and sys.modules[name] is None:
            return name  # blocked, as ``sys.modules[name] = None`` does
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            return name
    return None


def sumo_home() -> Path:
    try:
        import sumo
    except ImportError as exc:
        raise SumoMissingError(f"{INSTALL_HINT} (no module {exc.name!r})") from None
    return Path(sumo.SUMO_HOME)


def binary(name: str) -> str:
    """A SUMO program (``netgenerate``, ``sumo``) from the wheel, else from PATH."""
    for candidate in (sumo_home() / "bin" / name, Path(sys.executable).parent / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SumoMissingError(f"{INSTALL_HINT} ({name} not found)")
    return found


def tool(name: str) -> Path:
    """A script of SUMO's tools directory, e.g. ``randomTrips.py``."""
    path = sumo_home() / "tools" / name
    if not path.exists():
        raise SumoMissingError(f"{INSTALL_HINT} ({path} missing)")
    return path


def libsumo() -> Any:
    """libsumo, imported quietly: its import prints a pyarrow version notice to stdout."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import libsumo as module
    except ImportError:
        raise SumoMissingError(f"{INSTALL_HINT} (no module 'libsumo')") from None
    return module


def sumolib() -> Any:
    try:
        import sumolib as module
    except ImportError:
        raise SumoMissingError(f"{INSTALL_HINT} (no module 'sumolib')") from None
    return module


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("eclipse-sumo")


def cache_dir(kind: str, spec: dict[str, Any]) -> Path:
    """``$EDGEQI_CACHE/sumo/<kind>-<digest>/`` for a JSON-able spec (SUMO's version included)."""
    blob = json.dumps({"spec": spec, "sumo": version()}, sort_keys=True).encode()
    digest = hashlib.sha256(blob).hexdigest()[:16]
    root = Path(os.environ.get("EDGEQI_CACHE") or Path.home() / ".cache" / "edgeqi")
    return root / "sumo" / f"{kind}-{digest}"


def run_checked(args: list[str], cwd: Path) -> None:
    """Run a SUMO program or tool; its stderr becomes the error message if it fails."""
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr[-2000:]}"
        )
