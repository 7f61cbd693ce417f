"""``node.yaml``: everything a field node's runtime reads at start, validated before it runs.

``edgeqi provision`` writes this file; ``edgeqi node --config node.yaml`` reads it.
The schema is strict (unknown keys are refused) so that a misspelt key stops the node
at start, naming the key, instead of silently falling back to a default on a device
nobody is watching. Relative paths are resolved against the file's own directory, so
a provisioned directory (config, keys, credentials, queue) can be moved as a whole.
Secrets never sit in this file: the MQTT password is in ``broker.password_file``
(mode 0600) and the signing key in ``consensus.key_file``.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edgeqi.consensus.cycle import CycleParams
from edgeqi.energy import DeviceProfile
from edgeqi.protocol import NODE_ID_PATTERN, Location


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraConfig(_Strict):
    """Where frames come from: a V4L2 index (``0``), a file, an RTSP URL or a GStreamer
    pipeline (a string containing ``!``, opened with OpenCV's GStreamer backend)."""

    source: int | str
    fps: Annotated[float, Field(gt=0, le=120)] = 10.0
    width: Annotated[int, Field(gt=0)] | None = None
    height: Annotated[int, Field(gt=0)] | None = None
    loop: bool = False
    """A video file starts again at its end (a recording standing in for a camera)."""

    @property
    def is_gstreamer(self) -> bool:
        return isinstance(self.source, str) and "!" in self.source


class ModelConfig(_Strict):
    """The detector: a registered variant name from the model cache or an ``.onnx`` path.

    ``reduced`` is the int8 model Algorithm 1 runs in reduced mode (low battery);
    ``execution_providers`` is the preference order, filtered by what this ONNX
    Runtime build offers (TensorRT, CUDA, then CPU on a Jetson).
    """

    full: str
    reduced: str | None = None
    execution_providers: list[str] = Field(
        default_factory=lambda: [
            "TensorrtExecutionProvider",
            "CUDAExecutionProvider",
            "CPUExecutionProvider",
        ]
    )
    threads: Annotated[int, Field(ge=1, le=64)] | None = None
    score_threshold: Annotated[float, Field(gt=0, lt=1)] = 0.4


class TlsConfig(_Strict):
    """Broker TLS: the CA that signed the broker's certificate; a client certificate and
    key for mutual TLS when the broker requires one (``require_certificate true``)."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (mutual TLS)")
        return self


class BrokerConfig(_Strict):
    """MQTT connection: ``mqtt://host:1883`` or ``mqtts://host:8883`` (then ``tls`` is needed)."""

    url: str
    client_id: str | None = None
    """Defaults to the node id (the broker's ACL expects it)."""
    username: str | None = None
    password_file: Path | None = None
    tls: TlsConfig | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    reconnect_min_s: Annotated[int, Field(ge=1)] = 1
    reconnect_max_s: Annotated[int, Field(ge=1)] = 60
    window: Annotated[int, Field(ge=1, le=10_000)] = 100

    @model_validator(mode="after")
    def _tls_scheme(self) -> BrokerConfig:
        if self.url.startswith(("mqtts://", "ssl://")) and self.tls is None:
            raise ValueError(f"{self.url} is a TLS URL: broker.tls.ca_file is needed")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be at least reconnect_min_s")
        return self

    def password(self) -> str | None:
        """The password from ``password_file`` (one line), read when connecting."""
        if self.password_file is None:
            return None
        return self.password_file.read_text().strip()


class QueueConfig(_Strict):
    """The durable store-and-forward queue (``hardware.disk_buffer``), an SQLite file."""

    path: Path
    capacity_messages: Annotated[int, Field(ge=1)] = 100_000
    capacity_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024 * 1024
    synchronous: str = "NORMAL"

    @model_validator(mode="after")
    def _sync(self) -> QueueConfig:
        if self.synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        return self


class ConsensusConfig(CycleParams):
    """PBFT among the cameras of this node's cluster (its intersection by default).

    Besides keys and membership, the section holds the cycle's rules
    (:class:`~edgeqi.consensus.cycle.CycleParams`: collection and PBFT timings, coverage
    redundancy and audits, the suspect tolerance, the signal's saturation flow, lanes,
    lost time and phases), each defaulting to the simulator's value; every camera of a
    cluster must have the same ones. The cycle length is the node's ``cycle_s``.
    """

    enabled: bool = True
    cluster: str | None = None
    """Defaults to the node's intersection."""
    key_file: Path
    directory_file: Path
    """``directory.json`` of ``edgeqi keys``: node id -> Ed25519 public key."""
    peers: list[Annotated[str, Field(pattern=NODE_ID_PATTERN)]] = Field(default_factory=list)
    """The cluster's members, this node included; empty: every node in the directory."""


class PowerKind(StrEnum):
    TEGRASTATS = "tegrastats"
    INA219 = "ina219"
    SYSFS = "sysfs"
    NONE = "none"


class PowerConfig(_Strict):
    """Which power sensor the runtime reads (``hardware.power``).

    ``options`` go to the sensor: ``interval_ms`` for tegrastats; ``bus``, ``address``,
    ``shunt_ohms`` for an INA219 on I2C; ``root`` for sysfs. ``replay`` is a recorded
    output (a tegrastats log, or a sysfs tree) read instead of the device, for tests.
    """

    kind: PowerKind = PowerKind.NONE
    options: dict[str, int | float | str] = Field(default_factory=dict)
    replay: Path | None = None
    device: DeviceProfile
    """The board's power and latency figures (the simulator's ``device`` of the same
    profile: ``edgeqi provision --profile NAME`` copies it from ``scenarios/energy``), so
    the node's energy meter charges what the simulation that validated it charges, and
    the device needs no lab files."""


class WatchdogConfig(_Strict):
    """systemd watchdog (``hardware.systemd``): pinged every loop while the loop is healthy.

    The node stops pinging, so systemd restarts it, when no frame has been processed
    for ``stall_s``; the unit's ``WatchdogSec`` must be longer than one loop.
    """

    enabled: bool = True
    stall_s: Annotated[float, Field(gt=0)] = 60.0


class ZoneConfig(_Strict):
    """One approach's queue zone in image pixels (``edgeqi.perception.queues.QueueZone``)."""

    approach: str
    polygon: list[tuple[float, float]] = Field(min_length=3)
    stop_line: tuple[tuple[float, float], tuple[float, float]]
    length_m: Annotated[float, Field(gt=0)] | None = None


class NodeRuntimeConfig(_Strict):
    """The whole ``node.yaml``."""

    node_id: str = Field(pattern=NODE_ID_PATTERN)
    intersection: str = Field(min_length=1, max_length=128)
    camera: CameraConfig
    model: ModelConfig
    broker: BrokerConfig
    queue: QueueConfig
    consensus: ConsensusConfig | None = None
    power: PowerConfig
    watchdog: WatchdogConfig = Field(default_factory=WatchdogConfig)
    zones: list[ZoneConfig] = Field(default_factory=list)
    policy: Literal[
        "edgeqi", "stream_all", "periodic", "fifo", "edgeqi_no_alg1", "edgeqi_no_alg2", "learned"
    ] = "edgeqi"
    """What the node runs and sends, by the simulator's policy names (``edgeqi``: both
    algorithms; the others are the baselines and ablations the simulator compares;
    ``learned``: EDGE-QI with ``policy_model`` taking its per-window decisions)."""
    policy_model: str | None = None
    """policy=learned: the ONNX file of the learned policy (as ``policy.model`` in a run)."""
    heartbeat_s: Annotated[float, Field(gt=0)] = 30.0
    observe_period_s: Annotated[float, Field(gt=0)] = 1.0
    cycle_s: Annotated[float, Field(gt=0)] = 90.0
    backend_url: str | None = None
    log_level: str = "INFO"
    location: Location | None = None
    """Where the camera stands, ``{lat, lon}`` in WGS84 degrees: sent in every heartbeat
    and stored per node by the backend, which draws it on the city map. Unset, no place."""
    approach: str | None = Field(default=None, min_length=1, max_length=128)
    """The approach the camera watches (``N``, ``E``, ...), drawn with ``location``;
    defaults to the first zone's approach."""

    @model_validator(mode="before")
    @classmethod
    def _one_cycle(cls, data: Any) -> Any:
        """The node's signal cycle is its cluster's: ``consensus.cycle_s`` follows
        ``cycle_s`` (written out by :func:`dump`; a different value is refused)."""
        if isinstance(data, dict) and isinstance(data.get("consensus"), dict):
            cycle_s = data.get("cycle_s", cls.model_fields["cycle_s"].default)
            data = {**data, "consensus": {"cycle_s": cycle_s, **data["consensus"]}}
        return data

    @model_validator(mode="after")
    def _learned_has_model(self) -> NodeRuntimeConfig:
        if self.policy == "learned" and self.policy_model is None:
            raise ValueError("policy learned needs policy_model: PATH (an ONNX file)")
        return self

    @model_validator(mode="after")
    def _same_cycle(self) -> NodeRuntimeConfig:
        if self.consensus is not None and self.consensus.cycle_s != self.cycle_s:
            raise ValueError(
                f"consensus.cycle_s={self.consensus.cycle_s} differs from cycle_s={self.cycle_s}"
                " (the node's signal cycle is its cluster's; set cycle_s only)"
            )
        return self

    @property
    def cluster(self) -> str:
        if self.consensus is not None and self.consensus.cluster:
            return self.consensus.cluster
        return self.intersection

    @property
    def client_id(self) -> str:
        return self.broker.client_id or self.node_id


class ConfigError(ValueError):
    """A ``node.yaml`` that cannot be used; the message names the file and the keys."""


def _resolve(value: Any, base: Path, key: str) -> Any:
    """Make the path-valued entries absolute against ``base`` (the config file's folder)."""
    if isinstance(value, dict):
        return {k: _resolve(v, base, k) for k, v in value.items()}
    if isinstance(value, str) and key in _PATH_KEYS and not os.path.isabs(value):
        return str(base / value)
    return value


_PATH_KEYS = frozenset(
    {
        "ca_file",
        "cert_file",
        "key_file",
        "password_file",
        "path",
        "directory_file",
        "replay",
        "policy_model",
    }
)


def parse(data: Any, base: Path = Path()) -> NodeRuntimeConfig:
    """Validate already-loaded YAML; relative paths are taken relative to ``base``."""
    if not isinstance(data, dict):
        raise ConfigError("node config: the top level must be a mapping")
    try:
        return NodeRuntimeConfig.model_validate(_resolve(data, base, ""))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"node config: {problems}") from exc


def load(path: Path) -> NodeRuntimeConfig:
    """Read and validate ``node.yaml``; a :class:`ConfigError` names every bad key."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        return parse(data, path.parent.resolve())
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def dump(config: NodeRuntimeConfig, path: Path) -> None:
    """Write ``config`` as YAML (paths relative to ``path``'s folder when inside it)."""
    base = path.parent.resolve()

    def relative(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: relative(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [relative(v) for v in value]
        if isinstance(value, tuple):
            return [relative(v) for v in value]
        if isinstance(value, Path):
            resolved = value.resolve()
            return str(resolved.relative_to(base)) if resolved.is_relative_to(base) else str(value)
        if isinstance(value, StrEnum):
            return value.value
        return value

    data = relative(config.model_dump(mode="python"))
    path.write_text(yaml.safe_dump(data, sort_keys=False))
