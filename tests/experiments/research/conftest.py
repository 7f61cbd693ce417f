"""Small real sweeps, made once per test session with ``edgeqi run -m``.

One intersection, twenty simulated minutes (anomalies start after a ten-minute
warm-up), two policies, two thresholds of
Algorithm 2, two seeds: four runs through the real command, its Hydra multirun
and its result writers, in a few seconds. A second one, for the collaboration
report: one intersection for ten minutes with the cameras alone and with PBFT, no
liar and one, two seeds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SWEEP_ARGS = [
    "city=small",
    "duration_s=1200",
    "plots=false",
    "progress=false",
    "policy.compare=[edgeqi,stream_all]",
    # Anomalies often enough that the minutes after the warm-up hold reports to time.
    "workload.anomalies.emergency_per_hour=30",
    "workload.anomalies.incident_per_hour=6",
    "policy.transmission.low_z=1.0,2.5",
    "seed=0,1",
]


COLLAB_ARGS = [
    "city=small",
    "city.approaches_per_camera=4",
    "duration_s=600",
    "plots=false",
    "tables=false",
    "progress=false",
    "policy.compare=[edgeqi]",
    "consensus=none,pbft",
    # ++: consensus=none has no such key (nothing lies without consensus); it is ignored there.
    "++consensus.byzantine_per_intersection=0,1",
    "seed=0,1",
]


def edgeqi(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the ``edgeqi`` command in a child process; fail the test on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def sweep(factory: pytest.TempPathFactory, name: str, args: list[str]) -> Path:
    """Run one small multirun in a fresh directory; return its sweep directory."""
    root = factory.mktemp(name)
    out = root / "sweep"
    edgeqi(
        "run",
        "-m",
        *args,
        f"hydra.sweep.dir={out}",
        "hydra.sweep.subdir=${hydra.job.override_dirname}",
        cwd=root,
    )
    return out


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sweep(tmp_path_factory, "sweep", SWEEP_ARGS)


@pytest.fixture(scope="session")
def collab_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sweep(tmp_path_factory, "collab", COLLAB_ARGS)
