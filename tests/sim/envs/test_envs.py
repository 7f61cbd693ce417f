"""The environments: the checkers' API rules, determinism, vectorisation, reward signs."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test, parallel_seed_test

from edgeqi.policy_hook import OBSERVATION_FIELDS
from sim.envs.intersection_env import IntersectionEnv
from sim.envs.node_env import NodeEnv
from sim.envs.reward import RewardWeights, WindowScore
from sim.scenario_config import ConfigError

SHORT = ["duration_s=300"]


def _rollout(env: NodeEnv, seed: int, actions: list[np.ndarray]) -> list[tuple[object, ...]]:
    obs, _ = env.reset(seed=seed)
    out: list[tuple[object, ...]] = [tuple(obs.tolist())]
    for a in actions:
        obs, reward, _term, trunc, info = env.step(a)
        out.append((tuple(obs.tolist()), reward, info["window"]["bytes"]))
        if trunc:
            break
    return out


def test_node_env_passes_gymnasium_checker() -> None:
    env = NodeEnv(SHORT)
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (len(OBSERVATION_FIELDS),)


def test_intersection_env_passes_pettingzoo_parallel_api_test() -> None:
    env = IntersectionEnv(SHORT)
    parallel_api_test(env, num_cycles=200)
    assert env.possible_agents == ["n00000", "n00001", "n00002", "n00003"]
    parallel_seed_test(lambda: IntersectionEnv(SHORT), num_cycles=100)


def test_intersection_env_over_chosen_intersections_of_a_district() -> None:
    env = IntersectionEnv(["city=district", "duration_s=60"], intersections=[0, 7])
    assert env.possible_agents == [f"n{k:05d}" for k in (0, 1, 2, 3, 28, 29, 30, 31)]
    env.reset(seed=1)
    _obs, rewards, _t, trunc, _i = env.step({a: np.array([2, 0, 1]) for a in env.agents})
    assert set(rewards) == set(env.possible_agents) and not any(trunc.values())
    with pytest.raises(ValueError, match="no action"):
        env.step({})


def test_same_seed_and_actions_give_the_same_trajectory() -> None:
    env = NodeEnv(SHORT)
    env.action_space.seed(7)
    actions = [env.action_space.sample() for _ in range(150)]
    first = _rollout(env, 11, actions)
    again = _rollout(NodeEnv(SHORT), 11, actions)
    other = _rollout(env, 12, actions)
    assert first == again
    assert first != other


def test_an_episode_is_truncated_at_the_scenario_end_with_its_scoring() -> None:
    env = NodeEnv(["duration_s=120"])
    env.reset(seed=3)
    steps, info, trunc = 0, {}, False
    while not trunc:
        _obs, _r, term, trunc, info = env.step(np.array([2, 0, 1]))
        assert not term
        steps += 1
    assert steps == 120 / 2.0 - 1  # windows at 0, 2, ..., 118 s; the first ran at reset
    assert {"bytes", "energy_j", "detections", "false_alarms", "episodes_in_view"} <= set(
        info["scoring"]
    )
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([2, 0, 1]))


def test_discarding_everything_sends_fewer_bytes_than_transmitting_everything() -> None:
    """The actions reach the node: the same world under two fixed policies differs."""

    def episode_bytes(action: list[int]) -> int:
        env = NodeEnv(["duration_s=1800"])
        env.reset(seed=5)
        total, trunc = 0, False
        while not trunc:
            _obs, _r, _t, trunc, info = env.step(np.array(action))
            total += info["window"]["bytes"]
        return total

    loud = episode_bytes([0, 0, 1])  # transmit now, full precision, clip every alert
    quiet = episode_bytes([3, 1, 0])  # discard, reduced precision, no clip
    assert quiet < loud / 10


def test_vector_env_over_several_worlds() -> None:
    envs = gymnasium.vector.SyncVectorEnv([lambda: NodeEnv(SHORT) for _ in range(3)])
    obs, _ = envs.reset(seed=[1, 2, 3])
    assert obs.shape == (3, len(OBSERVATION_FIELDS))
    obs, rewards, _term, _trunc, _info = envs.step(np.tile([2, 0, 1], (3, 1)))
    assert rewards.shape == (3,)
    assert not np.array_equal(obs[0], obs[1])  # three worlds, not one
    envs.close()


def test_registered_with_gymnasium_make() -> None:
    import sim.envs  # noqa: F401 (registers EdgeQI/Node-v0)

    env = gymnasium.make("EdgeQI/Node-v0", overrides=SHORT)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (len(OBSERVATION_FIELDS),)


def test_reward_weighs_detection_against_cost() -> None:
    w = RewardWeights()
    hit = WindowScore(detections=1, delay_s=[30.0])
    false = WindowScore(false_alarms=1, bytes=2_000_000)
    assert hit.reward(w) == pytest.approx(5.0 - 0.5)
    assert false.reward(w) == pytest.approx(-1.0 - 1.0)


def test_a_bad_override_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="duration_s"):
        NodeEnv(["duration_s=-5"])
    with pytest.raises(ValueError, match=r"policy\.name=fifo"):
        NodeEnv(["policy=edgeqi", "policy.name=fifo"])


def test_gymnasiums_episode_statistics_wrapper_fits() -> None:
    """Gymnasium's own wrapper writes info["episode"]: the environment leaves it free."""
    env = gymnasium.wrappers.RecordEpisodeStatistics(NodeEnv(["duration_s=60"]))
    env.reset(seed=2)
    trunc, info = False, {}
    while not trunc:
        _obs, _r, _term, trunc, info = env.step(np.array([2, 0, 1]))
    assert info["episode"]["l"] == 29 and "bytes" in info["scoring"]
