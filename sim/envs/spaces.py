"""The spaces every environment shares: the node core's observation vector and action heads."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from gymnasium import spaces

from edgeqi.policy_hook import (
    ACTION_SIZES,
    OBSERVATION_HIGH,
    OBSERVATION_LOW,
    PolicyAction,
    PolicyObservation,
)
from sim.envs.reward import RewardWeights


def observation_space() -> spaces.Box:
    return spaces.Box(
        low=np.array(OBSERVATION_LOW, dtype=np.float32),
        high=np.array(OBSERVATION_HIGH, dtype=np.float32),
        dtype=np.float32,
    )


def action_space() -> spaces.MultiDiscrete:
    """(transmit: now / normal / batch / discard, reduced precision, attach clip)."""
    return spaces.MultiDiscrete(np.array(ACTION_SIZES, dtype=np.int64))


def to_array(observation: PolicyObservation) -> np.ndarray:
    return np.asarray(observation.vector(), dtype=np.float32)


def to_action(action: object) -> PolicyAction:
    transmit, reduced, clip = (int(v) for v in np.asarray(action).reshape(-1))
    return PolicyAction.from_indices(transmit, reduced, clip)


def reward_weights(reward: RewardWeights | Mapping[str, float] | None) -> RewardWeights:
    if reward is None or isinstance(reward, RewardWeights):
        return reward or RewardWeights()
    return RewardWeights(**reward)
