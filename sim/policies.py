"""The policies a run compares: EDGE-QI, its baselines and its ablations.

Each is a :class:`edgeqi.node.NodePolicy`, so the same node code runs all of them;
they differ only in which algorithm is switched on and what is sent.
"""

from __future__ import annotations

from pathlib import Path

from edgeqi.node import POLICY_SHAPES, NodePolicy, TransmitMode, VideoMode
from edgeqi.policy_hook import DecisionPolicy
from edgeqi.scheduling import SchedulerConfig
from edgeqi.transmission import TransmissionConfig
from sim.scenario_config import PolicyConfig, PolicyName

DESCRIPTIONS: dict[str, str] = {
    "edgeqi": "Algorithm 1 scheduling + Algorithm 2 transmission + adaptive clips",
    "stream_all": "every observation and continuous video at a fixed tier, FIFO scheduling",
    "periodic": "one observation every periodic_s seconds, FIFO scheduling",
    "fifo": "every observation (no video), FIFO scheduling",
    "edgeqi_no_alg1": "EDGE-QI with FIFO instead of Algorithm 1",
    "edgeqi_no_alg2": "EDGE-QI sending every observation instead of Algorithm 2",
    "learned": "EDGE-QI's shape with every node's per-window decisions (transmit tier, "
    "precision, clip) taken by the ONNX model policy.model",
    "oracle": "NOT DEPLOYABLE reference: one report per true episode at its onset "
    "(reads ground truth; the floor for bytes, delay and energy)",
}

SIM_ONLY_SHAPES: dict[str, tuple[bool, TransmitMode, VideoMode]] = {
    "oracle": (True, TransmitMode.ANOMALY, VideoMode.OFF),
}
"""Reference policies the simulator runs itself (sim/oracle.py) rather than through the
node core. The oracle's nodes are stepped with EDGE-QI's scheduling (Algorithm 1, reduced
mode included) so that its energy is a camera's that still looks at every window: the
floor for energy as well as bytes. Everything they would send is dropped; only the
oracle's own reports leave."""


def node_policy(name: PolicyName, cfg: PolicyConfig) -> NodePolicy:
    aware, transmit, video = POLICY_SHAPES[name] if name in POLICY_SHAPES else SIM_ONLY_SHAPES[name]
    if video is VideoMode.ON_CRITICAL and cfg.clip_on == "never":
        video = VideoMode.OFF
    return NodePolicy(
        name=name,
        # The validated Hydra groups mirror the node core's configs field for field.
        scheduler=SchedulerConfig(**cfg.scheduling.model_dump(), constraint_aware=aware),
        transmission=TransmissionConfig(**cfg.transmission.model_dump()),
        transmit=transmit,
        video=video,
        fixed_tier_kbps=cfg.stream_tier_kbps,
        periodic_s=cfg.periodic_s,
        clip_s=cfg.clip_s,
    )


def learned_policy(cfg: PolicyConfig) -> DecisionPolicy:
    """The ONNX model ``policy.model`` as the callable every node of a learned run asks."""
    from netio.onnx_policy import OnnxPolicy

    assert cfg.model is not None, "validated: policy learned names a model"
    return OnnxPolicy.load(Path(cfg.model))
