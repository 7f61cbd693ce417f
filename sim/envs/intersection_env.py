"""All cameras of one or more intersections as a PettingZoo parallel environment.

Each agent is one node (``node-00000`` ...), with the same observation and action spaces as
:class:`sim.envs.node_env.NodeEnv`, all stepping one observation window together on one
world (by default ``city=small``: one intersection, four cameras); nodes of intersections
not chosen run the scenario's policy. Cameras watching the
same approach share its episodes: the first actionable report earns the detection, the
others' reports of it count as updates, so redundant alerts are worth little.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from sim.envs.node_env import SEED_RANGE
from sim.envs.reward import RewardWeights, WindowScore
from sim.envs.spaces import action_space, observation_space, reward_weights, to_action, to_array
from sim.envs.world_stepper import WorldStepper, compose_scenario
from sim.scoring import node_name


class IntersectionEnv(ParallelEnv[str, np.ndarray, np.ndarray]):  # type: ignore[misc]
    metadata: dict[str, Any] = {"name": "edgeqi_intersection_v0", "render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        overrides: Sequence[str] = (),
        intersections: Sequence[int] | None = None,
        reward: RewardWeights | Mapping[str, float] | None = None,
    ) -> None:
        self.scenario = compose_scenario("small", overrides)
        cameras = self.scenario.city.cameras_per_intersection
        chosen = (
            set(range(self.scenario.intersections)) if intersections is None else set(intersections)
        )
        self._nodes = [k for k in range(self.scenario.node_count) if k // cameras in chosen]
        if not self._nodes:
            raise ValueError(f"intersections {sorted(chosen)}: none in the scenario")
        self._by_name = {node_name(k): k for k in self._nodes}
        self.possible_agents = list(self._by_name)
        self.agents: list[str] = []
        self.weights = reward_weights(reward)
        self._obs_space = observation_space()
        self._act_space = action_space()
        self._rng = np.random.default_rng()
        self._world: WorldStepper | None = None
        self._totals: dict[str, WindowScore] = {}

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self._act_space

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        world_seed = int(self._rng.integers(SEED_RANGE)) if seed is None else seed
        scn = self.scenario.model_copy(update={"seed": world_seed})
        self._world = WorldStepper(scn, self._nodes)
        self.agents = list(self.possible_agents)
        self._totals = {a: WindowScore() for a in self.agents}
        obs = {a: to_array(self._world.observation(self._by_name[a])) for a in self.agents}
        return obs, {a: {"seed": world_seed} for a in self.agents}

    def step(
        self, actions: dict[str, np.ndarray]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        world = self._world
        if world is None or not self.agents:
            raise RuntimeError("call reset() before step(), and again after truncation")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"no action for {missing}")
        scores = world.step({self._by_name[a]: to_action(actions[a]) for a in self.agents})
        truncated = world.done
        obs, rewards, infos = {}, {}, {}
        for a in self.agents:
            k = self._by_name[a]
            score = scores[k]
            self._totals[a].add(score)
            obs[a] = to_array(world.observation(k))
            rewards[a] = float(score.reward(self.weights))
            infos[a] = {"window": score.as_info()}
            if truncated:
                infos[a]["scoring"] = {
                    **self._totals[a].as_info(),
                    "episodes_in_view": world.episodes_in_view(k),
                }
        terminations = dict.fromkeys(self.agents, False)
        truncations = dict.fromkeys(self.agents, truncated)
        if truncated:
            self.agents = []
        return obs, rewards, terminations, truncations, infos
