"""Steps per second of the single-node Gymnasium environment, beside two references.

    .venv/bin/python -m experiments.benchmarks.bench_rl_env [--steps 10000] [--repeats 3]

Three loops of the same number of steps, taking turns ``--repeats`` times so that load
from elsewhere falls on all alike (the best of each is reported):

* ``NodeEnv``: ``step`` with a fixed action (transmit when Algorithm 2 would batch,
  full precision, clip), episodes of ``duration_s`` reset as they end (reset time included);
* ``simpy``: a bare SimPy environment with three processes ticking at the env's rates
  (the world every second, the node every two, the agent's hand-off every two): the
  event-loop floor any SimPy-driven environment pays;
* ``python``: a plain loop calling a no-op ``step``: the interpreter's floor.

Also ``SyncVectorEnv`` over four worlds (steps of all four per second). Target: >= 2,000
NodeEnv steps/s on one core. Each loop is timed in wall seconds and in this process's CPU
seconds (``time.process_time``): on a machine other work is sharing, the CPU figure is the
closer to what one free core would do. Prints JSON; BENCHMARKS.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Generator
from typing import NamedTuple

import gymnasium
import numpy as np
import simpy

from sim.envs.node_env import NodeEnv

ACTION = np.array([1, 0, 1])


class Clock(NamedTuple):
    wall: float
    cpu: float

    @classmethod
    def now(cls) -> Clock:
        return cls(time.perf_counter(), time.process_time())

    def since(self) -> Clock:
        now = Clock.now()
        return Clock(now.wall - self.wall, now.cpu - self.cpu)


OVERRIDES = ["duration_s=3600"]


def node_env_loop(steps: int) -> Clock:
    env = NodeEnv(OVERRIDES)
    started = Clock.now()
    env.reset(seed=0)
    for _ in range(steps):
        _obs, _r, _term, truncated, _info = env.step(ACTION)
        if truncated:
            env.reset()
    return started.since()


def simpy_loop(steps: int) -> Clock:
    env = simpy.Environment()

    def ticker(period: float) -> Generator[simpy.Event, None, None]:
        while True:
            yield env.timeout(period)

    for period in (1.0, 2.0, 2.0):
        env.process(ticker(period))
    started = Clock.now()
    for k in range(1, steps + 1):
        env.run(until=2.0 * k + 1e-6)
    return started.since()


def python_loop(steps: int) -> Clock:
    def step(action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, object]]:
        return action, 0.0, False, False, {}

    started = Clock.now()
    for _ in range(steps):
        step(ACTION)
    return started.since()


def vector_loop(steps: int, worlds: int = 4) -> Clock:
    envs = gymnasium.vector.SyncVectorEnv([lambda: NodeEnv(OVERRIDES) for _ in range(worlds)])
    actions = np.tile(ACTION, (worlds, 1))
    started = Clock.now()
    envs.reset(seed=list(range(worlds)))
    for _ in range(steps // worlds):
        envs.step(actions)
    envs.close()
    return started.since()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    loops: dict[str, Callable[[int], Clock]] = {
        "NodeEnv": node_env_loop,
        "SyncVectorEnv_x4": vector_loop,
        "simpy": simpy_loop,
        "python": python_loop,
    }
    best = dict.fromkeys(loops, Clock(float("inf"), float("inf")))
    for _ in range(args.repeats):
        for name, loop in loops.items():
            took = loop(args.steps)
            best[name] = Clock(min(best[name].wall, took.wall), min(best[name].cpu, took.cpu))
    wall = {name: round(args.steps / c.wall) for name, c in best.items()}
    cpu = {name: round(args.steps / c.cpu) for name, c in best.items()}
    result = {
        "steps": args.steps,
        "repeats": args.repeats,
        "steps_per_wall_s": wall,
        "steps_per_cpu_s": cpu,
        "node_env_vs_simpy_cpu": round(cpu["NodeEnv"] / cpu["simpy"], 4),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
