"""Train the shipped learned policy: cross-entropy search over a linear policy, then ONNX.

``python -m experiments.rl.train --budget-s 600 --out experiments/rl/learned_policy.onnx``

Each generation samples ``--population`` weight vectors around the current mean (the first
is the mean itself, so the best found is never lost), scores each by its total reward on
the *training* seeds (every candidate on the same worlds: common random numbers), and moves
the mean and spread to the ``--elite`` best. The search starts from Algorithm 2's own
thresholds written as a linear policy (:meth:`LinearPolicy.like_algorithm_2`), so what it
finds is a change to EDGE-QI's decisions that the reward prefers on those worlds. It stops
before a generation would overrun ``--budget-s``. Judge the result on held-out seeds with
``edgeqi run policy=learned policy.model=...`` and ``edgeqi report`` (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from experiments.rl.linear_policy import LinearPolicy
from sim.envs.node_env import NodeEnv


def episode_return(
    env: NodeEnv, policy: LinearPolicy, seed: int
) -> tuple[float, dict[str, object]]:
    obs, _ = env.reset(seed=seed)
    total, truncated = 0.0, False
    info: dict[str, object] = {}
    while not truncated:
        obs, reward, _term, truncated, info = env.step(np.array(policy.indices(obs)))
        total += reward
    episode = info["scoring"]
    assert isinstance(episode, dict)
    return total, episode


def fitness(env: NodeEnv, policy: LinearPolicy, seeds: list[int]) -> float:
    return sum(episode_return(env, policy, s)[0] for s in seeds) / len(seeds)


def train(
    env: NodeEnv,
    seeds: list[int],
    budget_s: float,
    population: int,
    elite: int,
    sigma: float,
    rng: np.random.Generator,
) -> tuple[LinearPolicy, list[dict[str, float]]]:
    started = time.perf_counter()
    mean = LinearPolicy.like_algorithm_2().flat()
    spread = np.full_like(mean, sigma)
    best, best_fit = mean, fitness(env, LinearPolicy.from_flat(mean), seeds)
    log = [{"generation": 0, "best": best_fit, "mean_fit": best_fit, "seconds": 0.0}]
    generation_s = time.perf_counter() - started
    while time.perf_counter() - started + generation_s * population <= budget_s:
        gen_start = time.perf_counter()
        candidates = [
            mean,
            *(mean + spread * rng.standard_normal(mean.size) for _ in range(population - 1)),
        ]
        fits = np.array([fitness(env, LinearPolicy.from_flat(c), seeds) for c in candidates])
        order = np.argsort(fits)[::-1][:elite]
        chosen = np.array([candidates[i] for i in order])
        mean = chosen.mean(axis=0)
        spread = chosen.std(axis=0) + 0.02 * sigma
        if fits[order[0]] > best_fit:
            best, best_fit = candidates[order[0]], float(fits[order[0]])
        generation_s = (time.perf_counter() - gen_start) / population
        log.append(
            {
                "generation": len(log),
                "best": best_fit,
                "mean_fit": float(fits.mean()),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(json.dumps(log[-1]), flush=True)
    return LinearPolicy.from_flat(best), log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("experiments/rl/learned_policy.onnx"))
    ap.add_argument("--budget-s", type=float, default=600.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training worlds")
    ap.add_argument("--duration-s", type=float, default=7200.0, help="simulated s per episode")
    ap.add_argument("--population", type=int, default=10)
    ap.add_argument("--elite", type=int, default=3)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--search-seed", type=int, default=0)
    ap.add_argument("overrides", nargs="*", help="scenario overrides, as for edgeqi run")
    args = ap.parse_args(argv)
    env = NodeEnv([f"duration_s={args.duration_s}", *args.overrides])
    started = time.perf_counter()
    rng = np.random.default_rng(args.search_seed)
    policy, log = train(
        env, args.seeds, args.budget_s, args.population, args.elite, args.sigma, rng
    )
    args.out.write_bytes(policy.to_onnx())
    start_fit = log[0]["best"]
    summary = {
        "wall_seconds": round(time.perf_counter() - started, 1),
        "training_seeds": args.seeds,
        "duration_s": args.duration_s,
        "start_fitness": start_fit,
        "best_fitness": log[-1]["best"],
        "generations": log,
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    print(
        f"wrote {args.out}: training reward {start_fit:.3f} (Algorithm 2's thresholds) -> "
        f"{log[-1]['best']:.3f} in {summary['wall_seconds']} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
