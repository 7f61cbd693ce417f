"""The field node installs the ``node`` extra only: its runtime must not need the backend."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

BACKEND_ONLY = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "redis"}
LAB_ONLY = {"hydra", "omegaconf", "simpy", "pandas", "pyarrow", "matplotlib", "rich"}
LAB_DISTRIBUTIONS = {"hydra-core", "omegaconf", "simpy", "pandas", "pyarrow", "matplotlib", "rich"}


def test_the_node_runtime_imports_nothing_of_the_backend() -> None:
    code = (
        "import sys, hardware.field_node, hardware.assemble; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(done.stdout.split())
    assert "paho" in loaded and "onnxruntime" in loaded  # it did import the runtime's stack
    assert not loaded & (BACKEND_ONLY | {"backend"}), loaded & (BACKEND_ONLY | {"backend"})
    unwanted = LAB_ONLY | {"sim", "experiments", "scenarios"}
    assert not loaded & unwanted, loaded & unwanted


def test_the_node_extra_carries_what_the_runtime_imports_and_no_backend() -> None:
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    node = {r.split(">")[0].split("[")[0].lower() for r in extras["node"]}
    assert {"paho-mqtt", "onnxruntime", "opencv-python-headless", "psutil", "pyyaml"} <= node
    assert not node & BACKEND_ONLY
    core = {r.split(">")[0].split("[")[0].lower() for r in project["project"]["dependencies"]}
    assert not (node | core) & LAB_DISTRIBUTIONS, (node | core) & LAB_DISTRIBUTIONS
