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
# # The paper's comparison, with confidence intervals
#
# Inputs come from:
#
# ```sh
# edgeqi run -m experiment=paper_comparison launcher=joblib
# ```
#
# which writes one directory per seed under `multirun/paper_comparison`
# (set `EDGEQI_SWEEP` to read another sweep). Every policy ran on the same world
# per seed; below, the mean over seeds with a 95 % Student's t interval.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from experiments.reports.claims import claims, claims_markdown
from experiments.reports.sweep_report import aggregate, collect, pooled_latencies

# %matplotlib inline
SWEEP = Path(os.environ.get("EDGEQI_SWEEP", "multirun/paper_comparison"))
runs = collect(SWEEP)
variant = runs["variant"].value_counts().index[0]  # the most-run variant
runs = runs[runs["variant"] == variant]
agg = aggregate(runs)
print(f"{SWEEP}: variant {variant!r}, {runs['run'].nunique()} runs, policies {list(agg['policy'])}")
agg[["policy", "runs", "bandwidth_reduction", "energy_saving", "anomaly_recall"]]

# %% [markdown]
# ## Bandwidth, energy, recall and latency per policy

# %%
panels = [
    ("kb_per_node_hour", "kB sent per node-hour", 1.0),
    ("energy_saving", "energy saved vs stream_all, %", 100.0),
    ("anomaly_recall", "anomaly recall, %", 100.0),
    ("alert_latency_ms_p99", "alert latency p99 per seed, ms", 1.0),
]
fig, axes = plt.subplots(1, len(panels), figsize=(16, 3.8))
x = np.arange(len(agg))
for ax, (key, title, scale) in zip(axes, panels, strict=True):
    ax.bar(
        x,
        agg[key].fillna(0.0) * scale,
        yerr=agg[f"{key}_ci95"].fillna(0.0) * scale,
        capsize=3,
        color=["tab:green" if p == "edgeqi" else "tab:blue" for p in agg["policy"]],
    )
    ax.set_xticks(x, agg["policy"], rotation=55, ha="right", fontsize=8)
    ax.set_title(title, fontsize=9)
axes[0].set_yscale("log")
axes[3].axhline(250.0, color="tab:red", ls="--", lw=0.8)
fig.tight_layout()

# %% [markdown]
# ## The paper's claims beside the measured values

# %%
latency = pooled_latencies(SWEEP, list(dict.fromkeys(runs["run"])))
print(claims_markdown(claims(runs, latency.get("edgeqi"))))
