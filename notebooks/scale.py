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
# # Simulator scale: time and memory against node count
#
# Inputs come from:
#
# ```sh
# python -m experiments.benchmarks.bench_scale --nodes 10,30,100,300,1000 --sim-seconds 600 --out scale.json
# ```
#
# (one child process per point; set `EDGEQI_SCALE` to read another file).

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

# %matplotlib inline
data = json.loads(Path(os.environ.get("EDGEQI_SCALE", "scale.json")).read_text())
base = data["baseline"]
points = pd.DataFrame(data["points"])
print(f"baseline child (imports only): {base['wall_s']} s, {base['peak_rss_mib']} MiB")
points

# %%
fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 4))
ax_t.plot(points["nodes"], points["wall_s"], marker="o", label="wall")
ax_t.plot(points["nodes"], points["cpu_s"], marker="o", label="CPU")
ax_t.plot(points["nodes"], points["sim_wall_s"], marker="o", label="simulation loop")
ax_t.set(xscale="log", yscale="log", xlabel="nodes", ylabel="seconds")
ax_t.legend()
ax_m.plot(points["nodes"], points["peak_rss_mib"], marker="o", label="peak RSS")
ax_m.axhline(base["peak_rss_mib"], color="0.5", ls="--", label="imports only")
ax_m.set(xscale="log", xlabel="nodes", ylabel="MiB")
ax_m.legend()
fig.tight_layout()
