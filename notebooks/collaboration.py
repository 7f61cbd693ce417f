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
# # Collaboration: energy saved by work division, accuracy under lying cameras
#
# Inputs come from:
#
# ```sh
# edgeqi run -m experiment=collaboration_energy launcher=joblib
# edgeqi run -m experiment=byzantine_accuracy launcher=joblib
# ```
#
# (the same worlds with `consensus=none` and `consensus=pbft`, into
# `multirun/collaboration_energy`; clusters of 4 and 7 cameras with 0 to 3 inflating
# cameras each, into `multirun/byzantine_accuracy`). Set `EDGEQI_COLLAB_SWEEP` and
# `EDGEQI_BYZANTINE_SWEEP` to read other sweeps. Every value is a mean over seeds with
# its 95 % Student's t interval, computed by `experiments.reports.collaboration`, the same code
# as `edgeqi report`.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt

from experiments.reports.collaboration import accuracy_summary, collab_rows, energy_pairs, energy_summary

# %matplotlib inline
ENERGY = Path(os.environ.get("EDGEQI_COLLAB_SWEEP", "multirun/collaboration_energy"))
ACCURACY = Path(os.environ.get("EDGEQI_BYZANTINE_SWEEP", "multirun/byzantine_accuracy"))
energy = energy_summary(energy_pairs(collab_rows(ENERGY)))
energy[["pair", "policy", "seeds", "alone_wh_per_node_hour", "energy_saving", "energy_saving_ci95", "compute_saving", "compute_saving_ci95"]]

# %%
fig, ax = plt.subplots(figsize=(7, 4))
x = range(len(energy))
ax.bar([i - 0.2 for i in x], energy["energy_saving"] * 100, 0.4, yerr=energy["energy_saving_ci95"].fillna(0) * 100, capsize=3, label="total energy")
ax.bar([i + 0.2 for i in x], energy["compute_saving"] * 100, 0.4, yerr=energy["compute_saving_ci95"].fillna(0) * 100, capsize=3, label="detection energy")
ax.set_xticks(list(x), [f"{p}\n{q}" for p, q in zip(energy["pair"], energy["policy"])], fontsize=7)
ax.set(ylabel="saved vs cameras working alone, %")
ax.legend()
fig.tight_layout()

# %%
accuracy = accuracy_summary(collab_rows(ACCURACY))
accuracy[["cluster_size", "f", "audit_every", "byzantine_per_intersection", "byzantine_fraction", "decision_error_veh_mean", "within_honest_range_share", "plan_split_error_mean"]]

# %%
fig, (ax_e, ax_r) = plt.subplots(1, 2, figsize=(12, 4))
for (n, audit), g in accuracy.groupby(["cluster_size", "audit_every"]):
    g = g.sort_values("byzantine_fraction")
    label = f"{int(n)} cameras, audit every {int(audit)}"
    line = ax_e.errorbar(g["byzantine_fraction"], g["decision_error_veh_mean"], yerr=g["decision_error_veh_mean_ci95"].fillna(0), marker="o", capsize=3, label=label)
    ax_r.errorbar(g["byzantine_fraction"], g["within_honest_range_share"] * 100, yerr=g["within_honest_range_share_ci95"].fillna(0) * 100, marker="o", capsize=3, label=label)
    for ax in (ax_e, ax_r):
        ax.axvline(((int(n) - 1) // 3) / int(n), color=line[0].get_color(), ls=":", lw=0.7)
ax_e.set(xlabel="share of lying cameras (dotted: f / n)", ylabel="queue error vs truth, vehicles")
ax_r.set(xlabel="share of lying cameras (dotted: f / n)", ylabel="fused value inside honest range, %")
ax_e.legend(fontsize=7)
fig.tight_layout()
