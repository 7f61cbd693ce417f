"""The testbed as reinforcement-learning environments (``pip install -e '.[rl]'``).

:class:`~sim.envs.node_env.NodeEnv` (Gymnasium, one camera node, registered as
``EdgeQI/Node-v0``) and :class:`~sim.envs.intersection_env.IntersectionEnv` (PettingZoo
parallel, every camera of chosen intersections) step the simulator's world one observation
window at a time; what an agent learns plugs into the node core through
:mod:`edgeqi.policy_hook`. They live beside the simulator, not in the node core, because
they *are* the simulator seen step by step: the core may not import it (import contract),
and a field node has no world to step.
"""

from __future__ import annotations

import gymnasium

gymnasium.register(id="EdgeQI/Node-v0", entry_point="sim.envs.node_env:NodeEnv")
