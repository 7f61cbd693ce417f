# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Algorithm 2: recall against bandwidth, one point per threshold
#
# Inputs come from:
#
# ```sh
# edgeqi run -m experiment=threshold_sweep launcher=joblib
# ```
#
# (sweeps `policy.transmission.medium_z` per `confirm_m` over three seeds into
# `multirun/threshold_sweep`; set `EDGEQI_SWEEP` to read another sweep that varies a
# numeric key; any other swept key groups the points).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt

from experiments.reports.sweep_report import aggregate, collect, tradeoff_points

# %matplotlib inline
SWEEP = Path(os.environ.get("EDGEQI_SWEEP", "multirun/threshold_sweep"))
runs = collect(SWEEP)
agg = aggregate(runs)
found = tradeoff_points(agg, runs)
assert found is not None, f"{SWEEP} does not vary exactly one numeric key"
key, points = found
points[["group", "value", "kb_per_node_hour", "anomaly_recall", "false_alarms_per_node_hour"]]

# %%
fig, ax = plt.subplots(figsize=(7, 4.5))
for group, g in points.sort_values("value").groupby("group"):
    ax.errorbar(
        g["kb_per_node_hour"],
        g["anomaly_recall"] * 100,
        xerr=g["kb_per_node_hour_ci95"].fillna(0.0),
        yerr=g["anomaly_recall_ci95"].fillna(0.0) * 100,
        marker="o",
        capsize=3,
        label=group,
    )
    for _, r in g.iterrows():
        ax.annotate(f"{key.split('.')[-1]}={r['value']:g}", (r["kb_per_node_hour"], r["anomaly_recall"] * 100), fontsize=7)
ax.set(xscale="log", xlabel="kB sent per node-hour (edgeqi)", ylabel="anomaly recall %")
ax.legend()
fig.tight_layout()
