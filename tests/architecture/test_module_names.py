"""No two modules or packages of the project share a name while doing different jobs.

A newcomer reading ``energy`` or ``metrics`` in a traceback should know which one it is;
so a module's or package's name is unique across the project's packages.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("edgeqi", "netio", "sim", "backend", "hardware", "experiments")
SKIP_PARTS = {"node_modules", "__pycache__", "migrations", "dashboard"}


def _names() -> dict[str, list[str]]:
    seen: dict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if SKIP_PARTS & set(rel.parts):
                continue
            if path.name == "__init__.py":
                if path.parent != ROOT / package:
                    seen[path.parent.name].append(str(rel.parent))
            else:
                seen[path.stem].append(str(rel))
    return seen


def test_module_and_package_names_are_unique() -> None:
    clashes = {name: where for name, where in _names().items() if len(where) > 1}
    assert not clashes, clashes


def test_the_check_sees_the_tree() -> None:
    names = _names()
    assert {"node", "runner", "ingestor", "field_node", "consensus"} <= set(names)
