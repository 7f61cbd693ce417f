"""``edgeqi loadtest``: the simulated city over a real broker into the real backend, with its
probes, service stack, faults and SLO report; the live-city dashboard demo uses the same pieces."""
