"""The policies a run compares: EDGE-QI, its baselines and its ablations.

Each is a :class:`edgeqi.node.NodePolicy`, so the same node code runs all of them;
they differ only in which algorithm is switched on and what is sent.
"""

from __future__ import annotations

from edgeqi.node import NodePolicy, TransmitMode, VideoMode
from edgeqi.scheduling import SchedulerConfig
from edgeqi.transmission import TransmissionConfig
from sim.config import PolicyConfig, PolicyName

DESCRIPTIONS: dict[str, str] = {
    "edgeqi": "Algorithm 1 scheduling + Algorithm 2 transmission + adaptive clips",
    "stream_all": "every observation and continuous video at a fixed tier, FIFO scheduling",
    "periodic": "one observation every periodic_s seconds, FIFO scheduling",
    "fifo": "every observation (no video), FIFO scheduling",
    "edgeqi_no_alg1": "EDGE-QI with FIFO instead of Algorithm 1",
    "edgeqi_no_alg2": "EDGE-QI sending every observation instead of Algorithm 2",
}

# (constraint-aware scheduling, transmit mode, video mode)
_SHAPES: dict[str, tuple[bool, TransmitMode, VideoMode]] = {
    "edgeqi": (True, TransmitMode.ANOMALY, VideoMode.ON_CRITICAL),
    "stream_all": (False, TransmitMode.ALL, VideoMode.CONTINUOUS),
    "periodic": (False, TransmitMode.PERIODIC, VideoMode.OFF),
    "fifo": (False, TransmitMode.ALL, VideoMode.OFF),
    "edgeqi_no_alg1": (False, TransmitMode.ANOMALY, VideoMode.ON_CRITICAL),
    "edgeqi_no_alg2": (True, TransmitMode.ALL, VideoMode.OFF),
}


def node_policy(name: PolicyName, cfg: PolicyConfig) -> NodePolicy:
    aware, transmit, video = _SHAPES[name]
    s, t = cfg.scheduling, cfg.transmission
    return NodePolicy(
        name=name,
        scheduler=SchedulerConfig(
            battery_threshold=s.battery_threshold,
            latency_threshold_ms=s.latency_threshold_ms,
            min_bandwidth_kbps=s.min_bandwidth_kbps,
            max_deferred=s.max_deferred,
            constraint_aware=aware,
        ),
        transmission=TransmissionConfig(
            critical_z=t.critical_z,
            medium_z=t.medium_z,
            low_z=t.low_z,
            high_significance=t.high_significance,
            cusum_slack=t.cusum_slack,
            window=t.window,
            recent_window=t.recent_window,
            min_history=t.min_history,
            tod_bins=t.tod_bins,
            min_scale=t.min_scale,
            batch_period_s=t.batch_period_s,
            max_batch=t.max_batch,
        ),
        transmit=transmit,
        video=video,
        fixed_tier_kbps=cfg.stream_tier_kbps,
        periodic_s=cfg.periodic_s,
        clip_s=cfg.clip_s,
    )
