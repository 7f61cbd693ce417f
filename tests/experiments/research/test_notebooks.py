"""Every notebook in notebooks/ runs top to bottom on results made in this test session.

The notebooks are jupytext percent scripts; each is converted and executed by a real
Jupyter kernel (nbclient + ipykernel) against the small sweeps of ``conftest.py`` and a
two-point scale benchmark, so a change to the results layout that breaks a notebook
fails here instead of rotting unnoticed.
"""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parents[3] / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.py"))


@pytest.fixture(scope="module")
def scale_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from experiments.benchmarks.bench_scale import main as bench_main

    out = tmp_path_factory.mktemp("scale") / "scale.json"
    assert bench_main(["--nodes", "4,8", "--sim-seconds", "60", "--out", str(out)]) == 0
    return out


def test_every_notebook_names_the_command_that_makes_its_inputs() -> None:
    assert len(NAMES) >= 4
    for name in NAMES:
        head = (NOTEBOOKS / name).read_text()[:1500]
        assert "Inputs come from" in head, name
        runs_a_sweep = "edgeqi run -m experiment=" in head
        assert runs_a_sweep or "experiments.benchmarks.bench_scale" in head, name


@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(
    name: str,
    small_sweep: Path,
    collab_sweep: Path,
    scale_json: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EDGEQI_SWEEP", str(small_sweep))
    monkeypatch.setenv("EDGEQI_COLLAB_SWEEP", str(collab_sweep))
    monkeypatch.setenv("EDGEQI_BYZANTINE_SWEEP", str(collab_sweep))
    monkeypatch.setenv("EDGEQI_SCALE", str(scale_json))
    repo = str(NOTEBOOKS.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")]))
    nb = jupytext.read(NOTEBOOKS / name)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": repo}},
    )
    client.execute()
    errors = [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    images = [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert images, f"{name} drew no figure"
    nbformat.validate(nb)
