"""The import contracts in ``pyproject.toml`` hold, and would catch a violation.

``make lint`` runs ``lint-imports`` on the real tree; these tests run the same contracts
on a copy of it with one deliberate violation each, so a contract that stopped checking
anything (a renamed package, an emptied list) fails here instead of passing silently.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("edgeqi", "netio", "sim", "backend", "hardware", "experiments", "scenarios")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        check=False,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages (sources only) and of the contracts."""
    tree = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tree / package,
            ignore=shutil.ignore_patterns("node_modules", "dist", "__pycache__", "*.db"),
        )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


@pytest.fixture
def tree(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(pristine, copy)
    return copy


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_real_tree_keeps_every_contract(pristine: Path) -> None:
    done = _lint(pristine)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("edgeqi/streaming.py", "import time", "The node core is pure"),
        ("edgeqi/node.py", "import socket", "The node core is pure"),
        ("edgeqi/scheduling.py", "from sim import runner", "The node core is pure"),
        ("edgeqi/protocol.py", "import paho.mqtt.client", "The node core is pure"),
        ("netio/netloop.py", "import backend.app", "The I/O adapters serve the core only"),
        ("hardware/assemble.py", "import scenarios", "The field runtime carries no lab"),
        ("hardware/uplink.py", "from experiments import cli", "The field runtime carries no lab"),
        ("backend/app.py", "import sim.runner", "The backend serves any source"),
        ("sim/runner.py", "import backend.app", "The simulator drives the core"),
    ],
)
def test_a_deliberate_violation_breaks_its_contract(
    tree: Path, module: str, line: str, contract: str
) -> None:
    _append(tree / module, f"{line}  # noqa")
    done = _lint(tree)
    assert done.returncode != 0, done.stdout
    assert f"{contract}" in done.stdout.split("Broken contracts")[-1], done.stdout
    assert module.removesuffix(".py").replace("/", ".") in done.stdout
