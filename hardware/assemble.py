"""Turns a validated ``node.yaml`` into the node's parts: profile, detectors, zones, policy.

Everything read from disk is read here (model files from the cache), so the node core
gets bytes and values only. The
detectors run on the best execution provider this ONNX Runtime offers among those the
config prefers (TensorRT, then CUDA, then CPU) and say which one they got.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edgeqi.energy import DeviceProfile
from edgeqi.node import POLICY_SHAPES, NodeConfig, NodePolicy
from edgeqi.perception.card import ModelCard
from edgeqi.perception.detector import ModelError, SsdDetector, YoloDetector, make_detector
from edgeqi.perception.queues import QueueZone
from edgeqi.policy_hook import DecisionPolicy
from edgeqi.scheduling import SchedulerConfig
from edgeqi.transmission import TransmissionConfig
from hardware.node_config import ModelConfig, NodeRuntimeConfig
from netio.onnx_policy import OnnxPolicy

log = logging.getLogger(__name__)

WHOLE_FRAME = ((0.0, 0.0), (1e5, 0.0), (1e5, 1e5), (0.0, 1e5))
"""The zone of a node configured without zones: everything in the picture, one approach."""


def node_policy(name: str) -> NodePolicy:
    """A policy by the simulator's name, with the thresholds of ``scenarios/policy/edgeqi.yaml``
    (the node core's defaults are those values)."""
    aware, transmit, video = POLICY_SHAPES[name]
    return NodePolicy(
        name=name,
        scheduler=SchedulerConfig(constraint_aware=aware),
        transmission=TransmissionConfig(),
        transmit=transmit,
        video=video,
    )


def learned_policy(cfg: NodeRuntimeConfig) -> DecisionPolicy | None:
    """policy=learned: the ONNX model ``policy_model``, loaded as the simulator loads it."""
    if cfg.policy != "learned":
        return None
    assert cfg.policy_model is not None, "validated: policy learned names a model"
    policy = OnnxPolicy.load(Path(cfg.policy_model))
    log.info("learned policy %s", cfg.policy_model)
    return policy


def zones(cfg: NodeRuntimeConfig) -> list[QueueZone]:
    if not cfg.zones:
        return [QueueZone("all", WHOLE_FRAME, ((0.0, 1e5), (1e5, 1e5)))]
    return [QueueZone(z.approach, tuple(z.polygon), z.stop_line, z.length_m) for z in cfg.zones]


def node_config(cfg: NodeRuntimeConfig, profile: DeviceProfile) -> NodeConfig:
    return NodeConfig(
        node_id=cfg.node_id,
        intersection=cfg.intersection,
        approaches=tuple(z.name for z in zones(cfg)),
        profile=profile,
        policy=node_policy(cfg.policy),
        observe_period_s=cfg.observe_period_s,
        heartbeat_period_s=cfg.heartbeat_s,
        frames_per_observation=max(1, round(cfg.camera.fps * cfg.observe_period_s)),
        cycle_s=cfg.cycle_s,
        location=cfg.location,
        approach=cfg.approach or (cfg.zones[0].approach if cfg.zones else None),
    )


def _model_files(name_or_path: str) -> tuple[ModelCard, Path]:
    """A model from the cache by name, or a registered model's directory; never fetched."""
    from hardware.model_store import read_card

    path = Path(name_or_path)
    if path.suffix == ".onnx":
        raise ModelError(
            f"model {name_or_path}: register the file first "
            "(`edgeqi models register FILE --classes ...`) and name the registered model"
        )
    return read_card(name_or_path)


def detector(name_or_path: str, model: ModelConfig) -> SsdDetector | YoloDetector:
    card, path = _model_files(name_or_path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path} (run `edgeqi models prepare`)")
    det = make_detector(
        path.read_bytes(),
        card,
        source=str(path),
        providers=model.execution_providers,
        threads=model.threads or 0,
        conf_threshold=model.score_threshold,
    )
    log.info(
        "model %s (%s) on %s%s",
        card.name,
        card.precision,
        det.providers[0],
        f" ({det.fallback})" if det.fallback else "",
    )
    return det
