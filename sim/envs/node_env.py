"""One camera node as a Gymnasium environment.

The agent is one node of a scenario's world (``node``, default 0); by default the world is
``city=single_camera`` (one camera watching all four approaches of one intersection), and
with another city every other node runs the scenario's policy (EDGE-QI, or ``learned``
with ``policy.model``). ``reset(seed=)``
builds the world from the scenario (any ``edgeqi run`` override works, composed by Hydra);
``step(action)`` hands the node its decisions for the next observation window and runs
that window (``reset`` runs the first, decided by Algorithms 1 and 2: a node has observed
nothing before it). Observations are :class:`edgeqi.policy_hook.PolicyObservation` vectors (the
node's own measurements); ``info["window"]`` carries the ground-truth scoring of the window
and, at the end, ``info["scoring"]`` that of the episode (not ``info["episode"]``, which
Gymnasium's ``RecordEpisodeStatistics`` writes). The episode ends by truncation at the
scenario's ``duration_s``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from sim.envs.reward import RewardWeights, WindowScore
from sim.envs.spaces import action_space, observation_space, reward_weights, to_action, to_array
from sim.envs.world_stepper import WorldStepper, compose_scenario

SEED_RANGE = 2**31 - 1


class NodeEnv(gym.Env[np.ndarray, np.ndarray]):
    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (Gymnasium's API)

    def __init__(
        self,
        overrides: Sequence[str] = (),
        node: int = 0,
        reward: RewardWeights | Mapping[str, float] | None = None,
    ) -> None:
        self.scenario = compose_scenario("single_camera", overrides)
        if not 0 <= node < self.scenario.node_count:
            raise ValueError(f"node {node} outside the scenario's {self.scenario.node_count}")
        self.node = node
        self.weights = reward_weights(reward)
        self.observation_space = observation_space()
        self.action_space = action_space()
        self._world: WorldStepper | None = None
        self._total = WindowScore()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        world_seed = int(self.np_random.integers(SEED_RANGE)) if seed is None else seed
        scn = self.scenario.model_copy(update={"seed": world_seed})
        self._world = WorldStepper(scn, [self.node])
        self._total = WindowScore()
        obs = to_array(self._world.observation(self.node))
        return obs, {"seed": world_seed, "node": self._world.name(self.node)}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        world = self._world
        if world is None or world.done:
            raise RuntimeError("call reset() before step(), and again after truncation")
        score = world.step({self.node: to_action(action)})[self.node]
        self._total.add(score)
        info: dict[str, Any] = {"window": score.as_info()}
        truncated = world.done
        if truncated:
            info["scoring"] = {
                **self._total.as_info(),
                "episodes_in_view": world.episodes_in_view(self.node),
            }
        obs = to_array(world.observation(self.node))
        return obs, float(score.reward(self.weights)), False, truncated, info
