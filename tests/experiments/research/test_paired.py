"""Paired-seed differences: a win or a loss only when the whole interval says so."""

from __future__ import annotations

import pandas as pd

from experiments.reports.paired import differences, sensitivity, stops_beating


def _runs(edgeqi_f1: list[float], fifo_f1: list[float], edgeqi_mb: list[float]) -> pd.DataFrame:
    rows = []
    for seed, (a, b, mb) in enumerate(zip(edgeqi_f1, fifo_f1, edgeqi_mb, strict=True)):
        for policy, f1, nbytes in (("edgeqi", a, mb * 1e6), ("fifo", b, 80e6)):
            rows.append(
                {
                    "run": f"r{seed}",
                    "policy": policy,
                    "anomaly_f1": f1,
                    "anomaly_recall": 1.0,
                    "anomaly_precision": f1,
                    "detection_delay_s_p50": 3.0,
                    "bytes_sent": nbytes,
                    "energy_j": 1e5,
                }
            )
    return pd.DataFrame(rows)


def test_consistent_gain_is_a_win_and_noise_is_not() -> None:
    diff = differences(_runs([0.5, 0.52, 0.49], [0.3, 0.31, 0.29], [10, 11, 12]))
    f1 = diff[(diff["baseline"] == "fifo") & (diff["key"] == "anomaly_f1")].iloc[0]
    assert f1["verdict"] == "EDGE-QI better" and f1["seeds"] == 3
    mb = diff[(diff["baseline"] == "fifo") & (diff["key"] == "mb_sent")].iloc[0]
    assert mb["verdict"] == "EDGE-QI better"  # fewer bytes is better
    noisy = differences(_runs([0.5, 0.1, 0.3], [0.3, 0.31, 0.29], [10, 150, 12]))
    f1n = noisy[(noisy["key"] == "anomaly_f1")].iloc[0]
    assert f1n["verdict"] == "not distinguishable"


def test_sensitivity_names_where_edgeqi_stops_beating() -> None:
    good = _runs([0.5, 0.52, 0.49], [0.3, 0.31, 0.29], [10, 11, 12])
    bad = _runs([0.2, 0.21, 0.19], [0.3, 0.31, 0.29], [100, 101, 102]).assign(
        run=lambda f: f["run"] + "b"
    )
    runs = pd.concat([good, bad], ignore_index=True)
    overrides = {r: {"network": "lte"} for r in good["run"]} | {
        r: {"network": "constrained"} for r in bad["run"]
    }
    sens = sensitivity(runs, overrides, ["network"])
    lines = "\n".join(stops_beating(sens))
    assert "F1 vs fifo: not better at network=constrained (EDGE-QI worse)" in lines
    assert "MB sent vs fifo: not better at network=constrained (EDGE-QI worse)" in lines
