"""The node protocol, version 1: message schemas, the MQTT topic tree, one encoding.

Every runtime (the simulator, a field node, the backend) imports this module and
nothing else to speak the protocol, so a schema change is made once. The byte
size of :func:`encode` is what every bandwidth figure counts, which is why there
is exactly one encoding: compact JSON with fields in schema order and no
whitespace. Every message carries ``node_id`` and a per-node monotonically
increasing ``seq`` so that ingestion is idempotent on ``(node_id, seq)`` and
loss is countable from gaps.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PROTOCOL_VERSION = 1
TOPIC_ROOT = "edgeqi/v1"
MAX_MESSAGE_BYTES = 256 * 1024
"""Largest encoded message accepted; anything bigger is rejected before parsing."""

NODE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_NODE_ID_RE = re.compile(NODE_ID_PATTERN)

NodeId = Annotated[str, Field(pattern=NODE_ID_PATTERN)]
Seq = Annotated[int, Field(ge=0)]
Timestamp = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
ShortText = Annotated[str, Field(max_length=128)]


class Kind(StrEnum):
    """Message kinds; each is also the last level of the node's topic."""

    HEARTBEAT = "heartbeat"
    QUEUE = "queue"
    ANOMALY = "anomaly"
    BATCH = "batch"
    DETECTIONS = "detections"
    CONSENSUS = "consensus"
    LOG = "log"
    COMMAND = "command"


class ModelMode(StrEnum):
    """Which detector variant a node is running."""

    FULL = "full"
    REDUCED = "reduced"
    OFF = "off"


class ReportPriority(StrEnum):
    """Transmission priority chosen by Algorithm 2."""

    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"


class AnomalyType(StrEnum):
    """What a node believes it saw; the backend matches reports to episodes by place and time."""

    QUEUE_SPIKE = "queue_spike"
    QUEUE_SHIFT = "queue_shift"
    EMERGENCY_VEHICLE = "emergency_vehicle"
    STALLED_VEHICLE = "stalled_vehicle"
    CAMERA_FAULT = "camera_fault"


class _Message(BaseModel):
    """Fields every message has. ``ts`` is seconds since the Unix epoch at the sender."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=4096)

    v: Literal[1] = 1
    node_id: NodeId
    seq: Seq
    ts: Timestamp


class LinkStats(BaseModel):
    """A node's own view of its uplink (from :mod:`edgeqi.network`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rtt_ms: NonNegative
    bandwidth_kbps: NonNegative
    loss: Fraction


class Location(BaseModel):
    """Where a camera stands, in WGS84 degrees; what the operator's city map projects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
    lon: Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]


class Heartbeat(_Message):
    """Periodic health; carries the counters of what the node chose not to send.

    ``location``, ``intersection`` and ``approach`` say where the node is, for the map.
    They are optional and unset ones are not encoded, so a node that predates them is
    still a valid v1 sender and its heartbeat keeps its byte size.
    """

    kind: Literal["heartbeat"] = "heartbeat"
    battery_soc: Fraction
    power_w: NonNegative
    mode: ModelMode
    tier_kbps: Annotated[int, Field(ge=0)]
    link: LinkStats
    discarded: Annotated[int, Field(ge=0)]
    deferred: Annotated[int, Field(ge=0)]
    dropped: Annotated[int, Field(ge=0)]
    frames_rejected: Annotated[int, Field(ge=0)] = 0
    uptime_s: NonNegative
    cpu: Fraction | None = None
    mem_mb: NonNegative | None = None
    temp_c: Finite | None = None
    location: Location | None = None
    intersection: ShortText | None = None
    approach: ShortText | None = None


class QueueObservation(_Message):
    """Queue state of one approach as one camera measured it."""

    kind: Literal["queue"] = "queue"
    intersection: ShortText
    approach: ShortText
    vehicles: NonNegative
    length_m: NonNegative
    wait_s: NonNegative | None = None


class AnomalyReport(_Message):
    """A transmitted anomaly (Algorithm 2 outcome 'transmit now' or 'transmit')."""

    kind: Literal["anomaly"] = "anomaly"
    intersection: ShortText
    approach: ShortText
    anomaly: AnomalyType
    priority: ReportPriority
    observed_at: Timestamp
    value: Finite
    baseline: Finite
    score: Finite
    significance: NonNegative


class BatchSummary(_Message):
    """Deferred observations, summarised and compressed, sent periodically."""

    kind: Literal["batch"] = "batch"
    window_start: Timestamp
    window_end: Timestamp
    count: Annotated[int, Field(ge=0)]
    codec: Literal["zlib+json", "none+json"]
    data: Annotated[str, Field(max_length=MAX_MESSAGE_BYTES)]
    """Base64 of the compressed records; decode with :mod:`edgeqi.transmission`."""
    mean_vehicles: NonNegative
    max_vehicles: NonNegative


class Detection(BaseModel):
    """One object in one frame: class, confidence, box (x, y, w, h) in pixels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cls: ShortText
    conf: Fraction
    box: tuple[Finite, Finite, NonNegative, NonNegative]
    track: Annotated[int, Field(ge=0)] | None = None


class DetectionBatch(_Message):
    """Detections of one frame (or one observation window)."""

    kind: Literal["detections"] = "detections"
    intersection: ShortText
    frame_ts: Timestamp
    detections: Annotated[list[Detection], Field(max_length=2048)]


class ConsensusMessage(_Message):
    """A signed consensus protocol message relayed over the broker."""

    kind: Literal["consensus"] = "consensus"
    cluster: ShortText
    phase: ShortText
    view: Annotated[int, Field(ge=0)]
    number: Annotated[int, Field(ge=0)]
    digest: ShortText
    body: Annotated[str, Field(max_length=65536)] = ""
    signature: Annotated[str, Field(max_length=256)] = ""


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LogRecord(_Message):
    kind: Literal["log"] = "log"
    level: LogLevel
    logger: ShortText
    message: Annotated[str, Field(max_length=2048)]


class Command(_Message):
    """Backend (or operator) to node; ``node_id`` is the sender, ``target`` the node addressed."""

    kind: Literal["command"] = "command"
    target: NodeId
    action: ShortText
    params: dict[str, str | float | int | bool] = Field(default_factory=dict)


Message = Annotated[
    Heartbeat
    | QueueObservation
    | AnomalyReport
    | BatchSummary
    | DetectionBatch
    | ConsensusMessage
    | LogRecord
    | Command,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)


class ProtocolError(ValueError):
    """A payload that is not a valid v1 message; ``reason`` is a short counted label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode(message: Message) -> bytes:
    """The canonical encoding: compact JSON, schema field order, no unset optionals.

    Calls the model's compiled serializer directly: the same bytes as
    ``model_dump_json(exclude_none=True).encode()`` at half the cost, which matters because
    the simulator encodes every publish (1.7 M a paper run) to know its size on the wire.
    """
    return type(message).__pydantic_serializer__.to_json(message, exclude_none=True)


def decode(payload: bytes | str) -> Message:
    """Parse and validate one payload; raise :class:`ProtocolError` with a reason label."""
    size = len(payload)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError("oversized", f"{size} bytes > {MAX_MESSAGE_BYTES}")
    try:
        return _ADAPTER.validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        kind = first["type"]
        if kind == "json_invalid":
            reason = "invalid_json"
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            reason = "unknown_kind"
        else:
            reason = "schema"
        loc = ".".join(str(p) for p in first["loc"])
        raise ProtocolError(reason, f"{loc}: {first['msg']}") from None


def node_topic(node_id: str, kind: Kind | str) -> str:
    """Where a node publishes a message of ``kind``: ``edgeqi/v1/nodes/{node_id}/{kind}``."""
    if not _NODE_ID_RE.match(node_id):
        raise ValueError(f"invalid node_id {node_id!r}")
    return f"{TOPIC_ROOT}/nodes/{node_id}/{Kind(kind).value}"


def consensus_topic(cluster: str, sender: str, phase: str) -> str:
    """Consensus traffic of one cluster: ``edgeqi/v1/consensus/{cluster}/{sender}/{phase}``.

    The sender's own level is what lets the broker tie a consensus message to the login
    that published it (ACL ``pattern write edgeqi/v1/consensus/+/%u/#``), as the node
    subtree does for telemetry: no node can publish consensus traffic as another.
    """
    return f"{TOPIC_ROOT}/consensus/{cluster}/{sender}/{phase}"


def command_topic(node_id: str) -> str:
    """Commands addressed to one node: ``edgeqi/v1/commands/{node_id}``."""
    return f"{TOPIC_ROOT}/commands/{node_id}"


def topic_for(message: Message) -> str:
    """The topic a message is published on."""
    if isinstance(message, ConsensusMessage):
        return consensus_topic(message.cluster, message.node_id, message.phase)
    if isinstance(message, Command):
        return command_topic(message.target)
    return node_topic(message.node_id, message.kind)


NODE_SUBSCRIPTION = f"{TOPIC_ROOT}/nodes/#"
"""What an ingest service subscribes to for node telemetry: the whole subtree, so that
a topic of the wrong depth reaches validation and is quarantined, not silently missed."""

CONSENSUS_SUBSCRIPTION = f"{TOPIC_ROOT}/consensus/#"


def parse_node_topic(topic: str) -> tuple[str, Kind]:
    """Split ``edgeqi/v1/nodes/{node_id}/{kind}``; raise :class:`ProtocolError` otherwise."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != f"{TOPIC_ROOT}/nodes":
        raise ProtocolError("bad_topic", topic[:200])
    node_id, kind = parts[3], parts[4]
    if not _NODE_ID_RE.match(node_id):
        raise ProtocolError("bad_topic", f"node_id {node_id[:80]!r}")
    try:
        return node_id, Kind(kind)
    except ValueError:
        raise ProtocolError("unknown_kind", kind[:80]) from None


def mqtt_publish_overhead(topic: str, qos: int = 1) -> int:
    """Bytes MQTT 3.1.1 adds to one PUBLISH (fixed header, topic, packet id) plus its PUBACK.

    Counted into bandwidth so that many small messages are not made to look free.
    """
    variable = 2 + len(topic.encode()) + (2 if qos > 0 else 0)
    fixed = 1 + 2  # header byte + remaining length (2 bytes covers payloads up to 16 KiB)
    puback = 4 if qos > 0 else 0
    return fixed + variable + puback
