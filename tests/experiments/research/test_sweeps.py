"""Launchers compose, shipped experiments validate, a sweep resumes, the report is complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf, open_dict

from experiments.reports.claims import PAPER
from experiments.reports.sweep_data import battery_rows
from experiments.runs.resume import MARKER, config_digest, is_complete, mark_complete
from sim.scenario_config import load_scenario
from tests.experiments.research.conftest import SWEEP_ARGS, edgeqi

EXPERIMENTS = sorted(
    p.stem for p in (Path(__file__).parents[3] / "scenarios" / "experiment").glob("*.yaml")
)


def _compose(overrides: list[str]):  # type: ignore[no-untyped-def]
    with initialize_config_module(config_module="scenarios", version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize(
    ("launcher", "target"),
    [
        ("basic", "hydra._internal.core_plugins.basic_launcher.BasicLauncher"),
        ("joblib", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
        ("slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
        ("ray", "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"),
    ],
)
def test_launcher_group_selects_a_real_launcher(launcher: str, target: str) -> None:
    cfg = _compose([f"launcher={launcher}"])
    assert cfg.hydra.launcher._target_ == target
    # Every interpolation in the launcher config resolves (env defaults included).
    resolved = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    assert isinstance(resolved, dict)
    # The scenario itself is untouched by the launcher choice.
    assert config_digest(_plain(cfg)) == config_digest(_plain(_compose([])))


def _plain(cfg, resolve: bool = False) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The scenario part of a composed config (``hydra`` left out, as ``edgeqi run`` does)."""
    cfg = cfg.copy()
    with open_dict(cfg):
        del cfg["hydra"]
    raw = OmegaConf.to_container(cfg, resolve=resolve)
    assert isinstance(raw, dict)
    return {str(k): v for k, v in raw.items()}


def test_slurm_config_is_checked_by_the_plugin_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_PARTITION", "cpu")
    cfg = _compose(["launcher=slurm", "hydra.launcher.mem_gb=8"])
    assert cfg.hydra.launcher.partition == "cpu"
    assert cfg.hydra.launcher.mem_gb == 8
    assert cfg.hydra.launcher.cpus_per_task == 1
    # Typed by the plugin's own dataclass: a wrong type is refused at composition.
    assert OmegaConf.get_type(cfg.hydra.launcher).__name__ == "SlurmQueueConf"
    with pytest.raises(Exception, match="mem_gb"):
        _compose(["launcher=slurm", "hydra.launcher.mem_gb=lots"])


def test_ray_config_joins_the_cluster_named_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _compose(["launcher=ray"]).hydra.launcher.ray.init.address is None
    monkeypatch.setenv("RAY_ADDRESS", "head:6379")
    cfg = _compose(["launcher=ray"])
    assert cfg.hydra.launcher.ray.init.address == "head:6379"
    assert cfg.hydra.launcher.ray.remote.num_cpus == 1


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_shipped_experiment_validates_and_sweeps_seeds(name: str) -> None:
    cfg = _compose([f"experiment={name}", "launcher=joblib"])
    scn = load_scenario(_plain(cfg, resolve=True))
    assert "seed" in cfg.hydra.sweeper.params
    assert cfg.hydra.sweep.dir == f"multirun/{name}"
    assert "edgeqi" in scn.policy.compare


def test_paper_comparison_runs_every_policy_on_the_district() -> None:
    cfg = _compose(["experiment=paper_comparison"])
    scn = load_scenario(_plain(cfg, resolve=True))
    assert scn.node_count == 100
    assert set(scn.policy.compare) >= {"edgeqi", "stream_all", "periodic", "fifo"}
    assert {"edgeqi_no_alg1", "edgeqi_no_alg2"} <= set(scn.policy.compare)


def test_complete_means_marker_same_digest_and_every_listed_file(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "reports.parquet").write_text("x")
    assert not is_complete(tmp_path, "abc")  # no marker yet: a run killed before the end
    mark_complete(tmp_path, "abc")
    assert is_complete(tmp_path, "abc")
    assert not is_complete(tmp_path, "abd")  # another config
    (tmp_path / "reports.parquet").unlink()
    assert not is_complete(tmp_path, "abc")  # a listed file went missing
    (tmp_path / "reports.parquet").write_text("x")
    (tmp_path / MARKER).write_text('{"config_sha256": "abc"')  # torn write
    assert not is_complete(tmp_path, "abc")


def test_digest_ignores_display_keys_only() -> None:
    raw = {"seed": 1, "progress": True, "policy": {"name": "edgeqi"}, "hydra": {"x": 1}}
    same = {"seed": 1, "progress": False, "policy": {"name": "edgeqi"}}
    assert config_digest(raw) == config_digest(same)
    assert config_digest(raw) != config_digest({**same, "seed": 2})


def test_sweep_resumes_without_redoing_complete_runs(small_sweep: Path, tmp_path: Path) -> None:
    runs = sorted(p.parent for p in small_sweep.rglob(MARKER))
    assert len(runs) == 4
    before = {r: (r / "summary.json").stat().st_mtime_ns for r in runs}
    # One run left incomplete (as if killed), one whole new seed added to the sweep.
    (runs[0] / MARKER).unlink()
    args = [a if a != "seed=0,1" else "seed=0,1,2" for a in SWEEP_ARGS]
    proc = edgeqi(
        "run",
        "-m",
        *args,
        f"hydra.sweep.dir={small_sweep}",
        "hydra.sweep.subdir=${hydra.job.override_dirname}",
        cwd=tmp_path,
    )
    assert proc.stdout.count("not run again") == 3
    after = sorted(p.parent for p in small_sweep.rglob(MARKER))
    assert len(after) == 6
    for r in runs[1:]:
        assert (r / "summary.json").stat().st_mtime_ns == before[r]
    assert (runs[0] / "summary.json").stat().st_mtime_ns > before[runs[0]]
    record = json.loads((runs[0] / MARKER).read_text())
    assert record["files"][0] != MARKER and "summary.json" in record["files"]
    assert record["cpu_seconds"] > 0


def test_report_table_claims_and_figures(small_sweep: Path, tmp_path: Path) -> None:
    proc = edgeqi("report", str(small_sweep), cwd=tmp_path)
    text = (small_sweep / "report.md").read_text()
    assert text in proc.stdout
    stated = (
        f"{PAPER['bandwidth_reduction']:.1%}",
        f"{PAPER['energy_saving']:.1%}",
        f"< {PAPER['alert_latency_ms']:.0f} ms",
    )  # the paper's figures as scenarios/paper_claims.yaml holds them
    for claim in stated:
        assert f"| {claim} |" in text
    assert "policy.transmission.low_z=1.0" in text and "policy.transmission.low_z=2.5" in text
    agg = pd.read_csv(small_sweep / "aggregate.csv")
    edge = agg[agg["policy"] == "edgeqi"]
    assert set(edge["runs"]) == {len(list(small_sweep.rglob("summary.json"))) // 2}
    assert (edge["bandwidth_reduction_ci95"] >= 0).all()
    for stem in (
        "comparison_policy.transmission.low_z_1.0",
        "latency_cdf_policy.transmission.low_z_1.0",
        "tradeoff",
    ):
        for ext in (".png", ".pdf"):
            path = small_sweep / "figures" / f"{stem}{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
    tradeoff = pd.read_csv(small_sweep / "tradeoff.csv")
    assert sorted(tradeoff["value"]) == [1.0, 2.5]


def test_battery_rows_from_a_timeseries(tmp_path: Path) -> None:
    hour = 3600.0
    pd.DataFrame(
        {
            "policy": ["a"] * 4 + ["b"] * 4,
            "t": [hour, 2 * hour, 3 * hour, 4 * hour] * 2,
            "alive": [4, 3, 2, 4, 4, 4, 4, 4],
            "mean_soc": [0.5, 0.2, 0.0, 0.3, 0.6, 0.6, 0.7, 0.8],
            "energy_j": [0.0] * 8,
            "bytes": [0] * 8,
        }
    ).to_parquet(tmp_path / "timeseries.parquet")
    rows = {r["policy"]: r for r in battery_rows(tmp_path, nodes=4, sim_seconds=4 * hour)}
    assert rows["a"]["first_down_h"] == 2.0
    assert rows["a"]["node_hours_down"] == pytest.approx(3.0)
    assert rows["a"]["down_fraction"] == pytest.approx(3.0 / 16.0)
    assert rows["b"]["first_down_h"] is None  # lifetime longer than the run: no number
    assert rows["b"]["end_mean_soc"] == pytest.approx(0.8)
