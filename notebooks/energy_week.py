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
# # Solar-powered nodes: battery over a week, per policy
#
# Inputs come from:
#
# ```sh
# edgeqi run -m experiment=energy_week launcher=joblib
# ```
#
# (one intersection, 4 solar-charged cameras, 7 simulated days from Monday 00:00,
# into `multirun/energy_week`; set `EDGEQI_SWEEP` to read another sweep, e.g.
# `multirun/energy_week_overcast` from `experiment=energy_week_overcast`, the same week
# under overcast spells). Each
# run's `timeseries.parquet` holds the mean state of charge and the nodes powered.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from experiments.reports.sweep_report import collect
from experiments.reports.sweep_data import battery_rows

# %matplotlib inline
SWEEP = Path(os.environ.get("EDGEQI_SWEEP", "multirun/energy_week"))
runs = collect(SWEEP).drop_duplicates("run")
rows = [
    {"run": r["run"], "seed": r["seed"], **b}
    for _, r in runs.iterrows()
    for b in battery_rows(SWEEP / r["run"], int(r["nodes"]), float(r["sim_seconds"]))
]
battery = pd.DataFrame(rows)
battery.groupby("policy")[["first_down_h", "node_hours_down", "end_mean_soc"]].mean()

# %%
fig, (ax_soc, ax_up) = plt.subplots(1, 2, figsize=(13, 4))
for _, r in runs.iterrows():
    ts = pd.read_parquet(SWEEP / r["run"] / "timeseries.parquet")
    for policy, g in ts.groupby("policy"):
        label = f"{policy} (seed {r['seed']})"
        ax_soc.plot(g["t"] / 86400, g["mean_soc"] * 100, lw=0.8, label=label)
        ax_up.plot(g["t"] / 86400, g["alive"] / r["nodes"] * 100, lw=0.8, label=label)
ax_soc.set(xlabel="simulated days", ylabel="mean state of charge %")
ax_up.set(xlabel="simulated days", ylabel="nodes powered %", ylim=(0, 105))
ax_soc.legend(fontsize=6)
fig.tight_layout()
