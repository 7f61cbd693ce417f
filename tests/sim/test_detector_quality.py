"""A detector and world in which quality matters: correlated misses, evidence, recall.

The two run-level tests drive the whole simulator (traffic, synthetic detector, camera
quality, unchanged EdgeNodes, scoring) on one intersection for an hour.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sim.camera_quality import CameraQuality, is_night
from sim.runner import run_scenario
from sim.scenario_config import DetectorConfig, ScenarioConfig, WeatherConfig
from sim.weather import Sky

BUSY = (
    "city=small",
    "duration_s=3600",
    "policy.compare=[edgeqi]",
    "workload.anomalies.emergency_per_hour=20",
    "workload.anomalies.incident_per_hour=8",
    "workload.detector.recall_reduced=0.3",
)


def _episodes(scenario: Callable[..., ScenarioConfig], *overrides: str) -> pd.DataFrame:
    frames = []
    for seed in (0, 1, 2):
        run = run_scenario(scenario(*BUSY, f"seed={seed}", *overrides))
        frames.append(run.policies["edgeqi"].episodes)
    ep = pd.concat(frames)
    ep["delay"] = ep["first_received"] - ep["onset"]
    return ep[ep["kind"].isin(["emergency", "incident"])]


def test_weaker_detector_lowers_recall_and_raises_delay(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    strong = _episodes(scenario, "workload.detector.recall_full=0.95")
    weak = _episodes(scenario, "workload.detector.recall_full=0.3")
    assert len(strong) == len(weak) > 40, "the same world: the same episodes"
    assert weak["detected"].sum() < strong["detected"].sum()
    for kind in ("emergency", "incident"):
        s, w = strong[strong["kind"] == kind], weak[weak["kind"] == kind]
        assert w["delay"].median() > s["delay"].median(), kind


def test_miss_streaks_raise_time_to_detect(scenario: Callable[..., ScenarioConfig]) -> None:
    base = ("workload.detector.recall_full=0.95", "workload.detector.drift_per_node_hour=0")
    calm = _episodes(scenario, *base, "workload.detector.streak_enter_per_window=0")
    streaky = _episodes(
        scenario,
        *base,
        "workload.detector.streak_enter_per_window=0.1",
        "workload.detector.streak_mean_windows=20",
    )
    em = "kind == 'emergency' and detected"
    assert streaky.query(em)["delay"].mean() > calm.query(em)["delay"].mean()
    assert streaky["detected"].sum() <= calm["detected"].sum()


def test_streaks_follow_the_gilbert_elliott_chain() -> None:
    cfg = DetectorConfig(streak_enter_per_window=0.02, streak_mean_windows=10.0)
    q = CameraQuality(cfg, nodes=400, rng=np.random.default_rng(3))
    history = []
    for _ in range(3000):
        q.advance()
        history.append(q.in_streak.copy())
    h = np.array(history[500:])
    share = 0.02 / (0.02 + 1.0 / 10.0)
    assert abs(h.mean() - share) < 0.01
    starts = (h[1:] & ~h[:-1]).sum()
    assert abs(h[1:].sum() / starts - 10.0) < 0.5, "mean streak length in windows"
    f = q.factor(now=0.0, hour_of_day=12.0, epoch_s=0.0)
    assert set(np.unique(f)) <= {cfg.streak_recall_factor, 1.0}


def test_night_overcast_drift_and_occlusion_scale_recall() -> None:
    cfg = DetectorConfig(
        night_recall_factor=0.5,
        overcast_recall_factor=0.8,
        drift_per_node_hour=1e6,  # every camera drifts from the first second
        drift_recall_loss_per_hour=0.5,
        drift_floor=0.2,
        occlusion_at_capacity=0.5,
    )
    every_day_overcast = WeatherConfig(overcast_share=1.0, persistence=0.0)
    sky = Sky(every_day_overcast, 0.0, 86400.0, np.random.default_rng(0))
    q = CameraQuality(cfg, nodes=3, rng=np.random.default_rng(1), sky=sky)
    noon = q.factor(now=3600.0, hour_of_day=12.0, epoch_s=0.0)
    night = q.factor(now=3600.0, hour_of_day=23.0, epoch_s=0.0)
    assert np.allclose(night, 0.5 * noon)
    assert np.allclose(noon, 0.8 * 0.5, atol=1e-3), "overcast, and an hour of drift"
    assert np.allclose(q.factor(now=36000.0, hour_of_day=12.0, epoch_s=0.0), 0.8 * 0.2)
    assert np.allclose(q.occlusion(np.array([0.0, 0.5, 2.0])), [1.0, 0.75, 0.5])
    assert is_night(23.0, 19.0, 6.0) and is_night(3.0, 19.0, 6.0) and not is_night(12.0, 19.0, 6.0)
