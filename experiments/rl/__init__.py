"""The shipped learned-policy example: a linear policy trained on the simulated city by
cross-entropy search (:mod:`experiments.rl.train`), exported to ONNX
(:mod:`experiments.rl.linear_policy`) for ``policy=learned`` and the field node."""
