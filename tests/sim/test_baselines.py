"""The reference policies: the oracle floor, and what EDGE-QI's clips cost."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from sim.runner import run_scenario
from sim.scenario_config import ScenarioConfig

BUSY = (
    "city=small",
    "duration_s=2400",
    "seed=17",
    "workload.anomalies.surge_per_hour=4",
    "workload.anomalies.emergency_per_hour=4",
    "workload.anomalies.incident_per_hour=2",
)
"""One intersection with episodes frequent enough that a short run has several."""


@pytest.fixture(scope="module")
def busy_run() -> dict[str, dict[str, object]]:
    from experiments.runs.compose import compose_scenario

    scn = compose_scenario(
        ["progress=false", *BUSY, "policy.compare=[oracle,fifo,periodic,edgeqi]"]
    )
    return {n: r.metrics for n, r in run_scenario(scn).policies.items()}


def test_oracle_reports_every_episode_once_and_first(
    busy_run: dict[str, dict[str, object]],
) -> None:
    oracle = busy_run["oracle"]
    assert int(oracle["episodes"]) >= 3  # type: ignore[call-overload]
    assert oracle["anomaly_recall"] == 1.0
    assert oracle["anomaly_precision"] == 1.0
    assert oracle["actionable_share"] == 1.0
    assert oracle["reports"] == oracle["episodes"]
    for name in ("fifo", "periodic", "edgeqi"):
        other = busy_run[name]
        assert int(oracle["bytes_sent"]) < int(other["bytes_sent"])  # type: ignore[call-overload]
        assert float(oracle["energy_j"]) <= float(other["energy_j"])  # type: ignore[arg-type]
        if other["detection_delay_s_p50"] is not None:
            assert float(oracle["detection_delay_s_p50"]) <= float(other["detection_delay_s_p50"])  # type: ignore[arg-type]


def test_oracle_energy_counts_the_detection_every_camera_must_run(
    busy_run: dict[str, dict[str, object]],
) -> None:
    """The oracle's cameras still look: its energy is a floor a camera can approach, not
    the idle board (it left detection out and sat ~30 % below every policy)."""
    oracle, edgeqi = busy_run["oracle"], busy_run["edgeqi"]
    state, ref = oracle["energy_by_state_j"], edgeqi["energy_by_state_j"]
    assert isinstance(state, dict) and isinstance(ref, dict)
    compute = state["compute_full"] + state["compute_reduced"]
    assert compute == pytest.approx(ref["compute_full"] + ref["compute_reduced"], rel=0.05)
    assert state["radio"] + state["radio_tail"] < ref["radio"] + ref["radio_tail"]


def test_clips_never_sends_no_video_and_detects_the_same(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    with_clips = run_scenario(scenario(*BUSY, "policy.compare=[edgeqi]")).policies["edgeqi"]
    without = run_scenario(
        scenario(*BUSY, "policy.compare=[edgeqi]", "policy.clip_on=never")
    ).policies["edgeqi"]
    clips = with_clips.metrics["clip_bytes"]
    assert isinstance(clips, dict)
    video = with_clips.metrics["bytes_by_kind"]["video"]  # type: ignore[index]
    assert video > 0 and sum(clips.values()) == video
    assert without.metrics["bytes_by_kind"]["video"] == 0  # type: ignore[index]
    # Message bytes move a little too (clips share the link, so retransmissions differ).
    message_bytes = int(with_clips.metrics["bytes_sent"]) - video  # type: ignore[call-overload]
    assert int(without.metrics["bytes_sent"]) == pytest.approx(message_bytes, rel=0.01)  # type: ignore[call-overload]
    for key in ("anomaly_recall", "anomaly_precision", "reports"):
        assert without.metrics[key] == with_clips.metrics[key]


def test_edgeqi_run_names_the_misspelled_key() -> None:
    """From outside: the console script, as a user types it."""
    done = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "run", "workload.base_rate_veh_per_hr=5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "did you mean workload.base_rate_veh_per_h" in done.stderr
    assert "+workload" not in done.stderr + done.stdout
