"""``edgeqi run``: composing a scenario, running it, resuming sweeps, writing results and plots."""
