"""``edgeqi report``: a sweep's runs read back, aggregated with intervals, set against the paper's
claims, and drawn."""
