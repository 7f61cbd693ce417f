"""Validated scenario configuration.

Hydra composes the YAML tree under ``scenarios/``; this module turns the composed
config into typed, validated models *before* anything runs, so that a bad value
(an unknown policy, a negative rate, an impossible topology) stops the run with a
message naming the offending key instead of failing an hour into a sweep.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from edgeqi.protocol import Location
from sim import sumo_tools
from sim.realtime import RealtimeConfig

Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]


def _low_high(pair: tuple[float, float]) -> tuple[float, float]:
    if pair[0] > pair[1]:
        raise ValueError(f"range must be [low, high] with low <= high, got [{pair[0]}, {pair[1]}]")
    return pair


PositiveRange = Annotated[tuple[Positive, Positive], AfterValidator(_low_high)]
"""A [low, high] interval a value is drawn from; a reversed one is refused, naming its key."""
FractionRange = Annotated[tuple[Fraction, Fraction], AfterValidator(_low_high)]


def utc_datetime(text: str) -> datetime:
    """An ISO 8601 time; one without a UTC offset means UTC (never the machine's zone, so
    that results do not depend on where they are computed)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CityConfig(_Strict):
    """Road network: a grid of signalised intersections, each watched by several cameras."""

    name: str
    intersections: PositiveInt
    cameras_per_intersection: Annotated[int, Field(ge=1, le=16)]
    approaches: Annotated[int, Field(ge=2, le=8)] = 4
    lanes_per_approach: Annotated[int, Field(ge=1, le=8)] = 2
    approaches_per_camera: Annotated[int, Field(ge=1)] = 2
    storage_m: Positive = 250.0
    """Length of road upstream of the stop line that can hold a queue before it spills back."""
    vehicle_spacing_m: Positive = 7.0
    intersections_per_district: PositiveInt = 25
    """Intersections sharing one backhaul uplink (contention domain)."""
    origin: Location | None = None
    """Where the city stands on the operator's map (WGS84 centre of the grid). Set, every
    camera's heartbeat names its place (``sim.city_layout``) and the modelled network carries
    those bytes; unset (the experiments), heartbeats keep their size and results their value."""
    block_m: Positive = 400.0
    """Distance between neighbouring intersections on the map's grid."""

    @model_validator(mode="after")
    def _topology(self) -> CityConfig:
        if self.approaches_per_camera > self.approaches:
            raise ValueError(
                f"approaches_per_camera={self.approaches_per_camera} exceeds "
                f"approaches={self.approaches}: a camera cannot watch more approaches than exist"
            )
        if self.cameras_per_intersection * self.approaches_per_camera < self.approaches:
            raise ValueError(
                "cameras_per_intersection * approaches_per_camera < approaches: "
                "some approach would have no camera"
            )
        return self


class AnomalyRates(_Strict):
    """Ground-truth episode rates, per intersection per hour (camera faults per node per hour)."""

    incident_per_hour: NonNegative = 0.2
    incident_duration_s: PositiveRange = (300.0, 900.0)
    incident_capacity_left: Fraction = 0.3
    """Share of the approach's discharge capacity left while a lane is blocked."""
    surge_per_hour: NonNegative = 0.2
    surge_duration_s: PositiveRange = (300.0, 900.0)
    surge_factor: Annotated[float, Field(gt=1.0)] = 3.0
    emergency_per_hour: NonNegative = 0.3
    emergency_duration_s: PositiveRange = (20.0, 60.0)
    camera_fault_per_node_hour: NonNegative = 0.02
    camera_fault_duration_s: PositiveRange = (120.0, 600.0)


class DetectorConfig(_Strict):
    """Synthetic detector: turns ground truth into what a camera's model would report."""

    recall_full: Fraction = 0.92
    recall_reduced: Fraction = 0.85
    false_positives_per_frame: NonNegative = 0.3
    count_noise_sd: NonNegative = 0.5
    emergency_recall: Fraction = 0.9
    """Chance per window that a detected emergency vehicle is classified as one (lights,
    livery); the window's evidence is this times the model's recall times the camera's
    quality (below)."""
    stalled_recall: Fraction = 0.3
    """Chance per window that the tracker flags a detected vehicle stopped in a lane during
    green, likewise scaled by the model's recall and the camera's quality."""
    frames_per_observation: PositiveInt = 4
    # -- Camera quality and false evidence (issue 16): errors correlated in time and per
    # camera, and evidence the node has to accumulate (sim/camera_quality.py).
    streak_enter_per_window: Fraction = 0.0
    """Gilbert-Elliott chain per camera: chance per window of entering a miss streak."""
    streak_mean_windows: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 10.0
    """Mean length of a miss streak, in windows (leaves it with probability 1 / this)."""
    streak_recall_factor: Fraction = 0.1
    """Recall multiplier while a camera is in a miss streak (glare, a bus in front)."""
    occlusion_at_capacity: Fraction = 0.0
    """Recall lost when the approach's queue fills its storage (linear in occupancy)."""
    night_recall_factor: Fraction = 1.0
    """Recall multiplier between dusk and dawn."""
    dusk_h: Annotated[float, Field(ge=0.0, lt=24.0)] = 19.0
    dawn_h: Annotated[float, Field(ge=0.0, lt=24.0)] = 6.0
    overcast_recall_factor: Fraction = 1.0
    """Recall multiplier on the overcast days of the sky model (rain, fog, low light)."""
    drift_per_node_hour: NonNegative = 0.0
    """Rate at which a camera starts to drift (dirt, misalignment); drawn once per run."""
    drift_recall_loss_per_hour: NonNegative = 0.0
    """Recall multiplier lost per hour once a camera drifts, down to ``drift_floor``."""
    drift_floor: Fraction = 0.2
    emergency_false_per_window: Fraction = 0.0
    """Chance per approach and window of emergency evidence with no emergency vehicle."""
    stalled_false_per_window: Fraction = 0.0
    """Chance per approach and window of a stalled-vehicle flag with no incident."""


class WorkloadConfig(_Strict):
    """Traffic demand and how often cameras observe it."""

    name: str
    base_rate_veh_per_h: Positive = 300.0
    """Mean arrivals per approach per hour at the daily mean level."""
    rush_hours: list[Annotated[float, Field(ge=0.0, lt=24.0)]] = Field(
        default_factory=lambda: [8.0, 17.5]
    )
    rush_width_h: Positive = 1.0
    rush_peak_factor: NonNegative = 1.5
    night_factor: Fraction = 0.25
    saturation_flow_veh_per_h_per_lane: Positive = 1800.0
    cycle_s: Positive = 90.0
    lost_time_s: NonNegative = 8.0
    observe_period_s: Positive = 2.0
    heartbeat_period_s: Positive = 30.0
    anomalies: AnomalyRates = Field(default_factory=AnomalyRates)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)

    @model_validator(mode="after")
    def _cycle(self) -> WorkloadConfig:
        if self.lost_time_s >= self.cycle_s:
            raise ValueError("lost_time_s must be shorter than cycle_s")
        return self


class NetworkConfig(_Strict):
    """Per-node access link and the district backhaul it shares."""

    name: str
    latency_ms_median: Positive = 40.0
    latency_sigma: NonNegative = 0.4
    """Log-normal shape of one-way latency."""
    uplink_kbps: Positive = 5000.0
    loss: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.005
    rto_s: Positive = 0.3
    max_retries: Annotated[int, Field(ge=0)] = 8
    district_uplink_mbps: Positive = 200.0
    outage_per_node_hour: NonNegative = 0.02
    outage_duration_s: PositiveRange = (30.0, 300.0)
    buffer_messages: PositiveInt = 2000
    """Store-and-forward capacity per node while its link is down."""


class DeviceConfig(_Strict):
    """A device power/latency profile with the source of each figure."""

    name: str
    idle_w: Positive
    full_w: Positive
    reduced_w: Positive
    full_latency_s: Positive
    reduced_latency_s: Positive
    radio_base_w: NonNegative
    radio_w_per_mbps: NonNegative
    radio_tail_s: NonNegative
    radio_tail_w: NonNegative
    source: str
    # -- Work-proportional energy (issue 16): per-object cost, the state between windows.
    per_object_s: NonNegative = 0.0
    """Seconds per detected object and frame at full precision (tracking, the crop
    classifier); reduced mode scales it by reduced_latency_s / full_latency_s."""
    sleep_w: NonNegative | None = None
    """Board power between windows where the device can sleep that briefly; none: idle_w."""
    wake_s: NonNegative = 0.0
    """Seconds at idle_w per window to come out of sleep and capture the frames."""

    @model_validator(mode="after")
    def _order(self) -> DeviceConfig:
        if self.reduced_latency_s > self.full_latency_s:
            raise ValueError("reduced_latency_s must not exceed full_latency_s")
        if self.sleep_w is not None and self.sleep_w > self.idle_w:
            raise ValueError("sleep_w must not exceed idle_w")
        return self


class EnergyConfig(_Strict):
    name: str
    device: DeviceConfig
    battery_wh: Positive = 100.0
    initial_soc: FractionRange = (0.3, 0.9)
    solar_peak_w: NonNegative = 20.0
    sunrise_h: Annotated[float, Field(ge=0.0, lt=24.0)] = 6.0
    sunset_h: Annotated[float, Field(ge=0.0, le=24.0)] = 18.0

    @model_validator(mode="after")
    def _ranges(self) -> EnergyConfig:
        if self.sunrise_h >= self.sunset_h:
            raise ValueError("sunrise_h must be before sunset_h")
        return self


class WeatherConfig(_Strict):
    """The sky over the whole city, day by day: clear, or overcast in spells.

    Each day repeats yesterday's sky with probability ``persistence``, and is otherwise
    overcast with probability ``overcast_share`` (which is then also the long-run share of
    overcast days); an overcast day's panels give a fraction of a clear day's output drawn
    from ``overcast_output``. The default, no overcast days, is the clear-sky model."""

    name: str = "clear"
    overcast_share: Fraction = 0.0
    persistence: Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)] = 0.0
    overcast_output: FractionRange = (0.1, 0.3)


class ScheduledFault(_Strict):
    """One scripted fault; a ``partition`` cuts every node of ``node``'s district off."""

    kind: Literal["crash", "link_outage", "camera_fault", "battery_death", "partition"]
    node: Annotated[int, Field(ge=0)]
    at_s: NonNegative
    duration_s: NonNegative = 0.0


class FaultsConfig(_Strict):
    name: str
    crash_per_node_hour: NonNegative = 0.0
    crash_restart_s: NonNegative = 120.0
    """0 means a crashed node stays down."""
    schedule: list[ScheduledFault] = Field(default_factory=list)


PolicyName = Literal[
    "edgeqi",
    "stream_all",
    "periodic",
    "fifo",
    "edgeqi_no_alg1",
    "edgeqi_no_alg2",
    "oracle",
    "learned",
]


class SchedulingParams(_Strict):
    battery_threshold: Fraction = 0.2
    latency_threshold_ms: Positive = 200.0
    min_bandwidth_kbps: Positive = 100.0
    max_deferred: PositiveInt = 256
    defer_critical_on_network: bool = False


class TransmissionParams(_Strict):
    critical_z: Positive = 6.0
    medium_z: Positive = 3.5
    low_z: Positive = 2.0
    high_significance: Positive = 8.0
    cusum_slack: NonNegative = 1.0
    window: PositiveInt = 60
    recent_window: PositiveInt = 20
    min_history: PositiveInt = 5
    tod_bins: PositiveInt = 24
    min_scale: Positive = 1.0
    count_dispersion: NonNegative = 1.0
    confirm_m: PositiveInt = 2
    confirm_n: PositiveInt = 3
    batch_period_s: Positive = 60.0
    max_batch: PositiveInt = 512

    @model_validator(mode="after")
    def _ordered(self) -> TransmissionParams:
        if not self.low_z < self.medium_z < self.critical_z:
            raise ValueError("thresholds must satisfy low_z < medium_z < critical_z")
        if not self.confirm_m <= self.confirm_n <= 64:
            raise ValueError("confirm_m <= confirm_n <= 64 (M of the last N cycles)")
        return self


class PolicyConfig(_Strict):
    """How every node behaves; the run compares ``compare`` policies on the same world."""

    name: PolicyName = "edgeqi"
    compare: list[PolicyName] = Field(
        default_factory=lambda: [  # type: ignore[arg-type]
            "edgeqi",
            "stream_all",
            "periodic",
            "fifo",
            "oracle",
            "edgeqi_no_alg1",
            "edgeqi_no_alg2",
        ]
    )
    scheduling: SchedulingParams = Field(default_factory=SchedulingParams)
    transmission: TransmissionParams = Field(default_factory=TransmissionParams)
    stream_tier_kbps: Literal[150, 500, 1500, 3000, 6000] = 1500
    """Fixed video tier of the stream-everything baseline."""
    periodic_s: Positive = 30.0
    clip_s: Positive = 10.0
    """Seconds of video EDGE-QI attaches to a critical report, at the adaptive tier."""
    clip_on: Literal["critical", "never"] = "critical"
    """When EDGE-QI (and its ablations) attach a clip: to every critical report, or never
    (what the clips cost, false alarms' clips included, is the difference)."""
    model: str | None = None
    """policy=learned: the ONNX file of the learned policy (edgeqi.policy_hook's vector in,
    three action indices out), e.g. the one ``experiments/rl/train.py`` exports."""

    @model_validator(mode="after")
    def _learned_has_model(self) -> PolicyConfig:
        runs_learned = self.name == "learned" or "learned" in self.compare
        if runs_learned and self.model is None:
            raise ValueError("policy learned needs policy.model=PATH (an ONNX file)")
        if self.model is not None and not Path(self.model).is_file():
            raise ValueError(f"policy.model={self.model}: no such file")
        return self


ByzantineBehaviour = Literal[
    "crash",
    "silence",
    "equivocate",
    "inflate",
    "deflate",
    "random",
    "collude",
    "delay",
    "replay",
    "bad_signature",
]
LyingBehaviour = Literal["inflate", "deflate", "random", "collude"]
"""How a lying camera distorts its signed queue reports (``sim/consensus_driver.py``):
times ``factor``, divided by it, a uniform draw over the approach's storage, or, with
the other colluders of its intersection, one shared distorted value (``factor`` times
one shared noisy count)."""


class ByzantineNode(_Strict):
    """One node's misbehaviour in consensus, from ``at_s`` for ``duration_s`` (None: to the end)."""

    node: Annotated[int, Field(ge=0)]
    behaviour: ByzantineBehaviour
    at_s: NonNegative = 0.0
    duration_s: Positive | None = None
    factor: Positive = 3.0
    """Multiplier of an inflated or colluding (divisor of a deflated) queue report."""
    delay_s: NonNegative = 3.0


class ConsensusPartition(_Strict):
    """Cut ``nodes`` off the network at ``at_s`` for ``duration_s``; the partition then heals."""

    nodes: list[Annotated[int, Field(ge=0)]]
    at_s: NonNegative
    duration_s: Positive


class ConsensusConfig(_Strict):
    """Layer 5: PBFT among each intersection's cameras every signal cycle, a district above."""

    name: str = "none"
    enabled: bool = False
    request_timeout_s: Positive = 2.0
    collect_s: Positive = 0.5
    """After its own report, how long a camera waits for all ``n`` before proposing a
    quorum (:mod:`edgeqi.consensus.cycle`)."""
    checkpoint_interval: PositiveInt = 4
    window: PositiveInt = 8
    redundancy: PositiveInt = 1
    """Cameras per approach outside audit cycles."""
    robust_coverage: bool = False
    """At least ``2f + 1`` cameras on every approach every cycle (refused before the run
    when the city's geometry cannot give that many)."""
    audit_every: Annotated[int, Field(ge=0)] = 5
    """Every n-th cycle every camera watches everything it sees (0: never)."""
    suspect_noise_veh: Positive | None = None
    """An honest camera's counting noise for suspicion (None: the workload detector's
    ``count_noise_sd``); the other ``suspect_*`` keys: ``edgeqi.consensus.suspicion``."""
    suspect_noise_share: NonNegative = 0.1
    suspect_allowance: NonNegative = 1.0
    suspect_threshold: Positive = 8.0
    adopt_plan: bool = True
    sign_ms: NonNegative = 0.033
    verify_ms: NonNegative = 0.105
    """CPU per Ed25519 signature / check charged to the node's energy (measured with
    ``cryptography`` on the 2-core sandbox; see BENCHMARKS.md)."""
    district_committee: bool = True
    committee_every_cycles: PositiveInt = 10
    corridor_spacing_m: Positive = 300.0
    corridor_speed_mps: Positive = 12.5
    byzantine: list[ByzantineNode] = Field(default_factory=list)
    partitions: list[ConsensusPartition] = Field(default_factory=list)
    byzantine_per_intersection: Annotated[int, Field(ge=0, le=16)] = 0
    """Cameras of *every* intersection (its last ones) that lie in their queue reports for
    the whole run: the axis of the accuracy-against-Byzantine-fraction experiment, where
    naming each node in ``byzantine`` would tie a sweep to one city size."""
    lying_behaviour: LyingBehaviour = "inflate"
    lying_factor: Positive = 3.0

    @model_validator(mode="after")
    def _window(self) -> ConsensusConfig:
        if self.window < self.checkpoint_interval:
            raise ValueError("window must be at least checkpoint_interval")
        return self

    def lying_cameras(self, intersections: int, cameras: int) -> list[ByzantineNode]:
        """The ``byzantine_per_intersection`` liars of each intersection, as per-node entries.

        The last cameras of an intersection are chosen so that the view-0 primary (its
        first camera) stays honest: this axis measures lying reports, not a faulty leader.
        """
        k = self.byzantine_per_intersection
        return [
            ByzantineNode(
                node=i * cameras + c, behaviour=self.lying_behaviour, factor=self.lying_factor
            )
            for i in range(intersections)
            for c in range(cameras - k, cameras)
        ]


class ScoringConfig(_Strict):
    """How reports are matched to ground truth (sim/scoring.py); reported in summary.json."""

    tolerance_s: NonNegative = 0.0
    """Seconds after an episode's effect ended during which a report still counts for it.
    0: a report counts only while its episode is active."""


VehicleClass = Literal["passenger", "bus", "truck", "bicycle"]
DEFAULT_MIX: dict[VehicleClass, float] = {
    "passenger": 0.9,
    "truck": 0.05,
    "bus": 0.03,
    "bicycle": 0.02,
}


class WorldConfig(_Strict):
    """Which traffic model the cameras watch: the native queue model or Eclipse SUMO.

    ``sumo`` needs the ``.[sumo]`` extra; its network is a ``netgenerate --grid`` built
    from the city (cached by digest under ``$EDGEQI_CACHE/sumo/``) unless ``net_file``
    names a user network, whose traffic-light junctions (sorted by id) are the city's
    intersections."""

    name: Literal["native", "sumo"] = "native"
    net_file: str | None = None
    speed_mps: Positive = 13.89
    """Speed limit of the generated grid's roads (50 km/h)."""
    vehicle_mix: dict[VehicleClass, Fraction] = Field(default_factory=lambda: dict(DEFAULT_MIX))
    """Share of the demand per SUMO vehicle class (randomTrips.py, one trip file each)."""
    demand_slice_s: Positive = 900.0
    """Demand is constant within a slice, at the diurnal level of the slice's middle."""
    time_to_teleport_s: Positive = 300.0
    """A vehicle stuck this long jumps ahead on its route (SUMO's teleport): counted, reported."""

    @model_validator(mode="after")
    def _mix(self) -> WorldConfig:
        if sum(self.vehicle_mix.values()) <= 0.0:
            raise ValueError("world.vehicle_mix must give some class a positive share")
        return self


class ScenarioConfig(_Strict):
    """The whole run: what ``edgeqi run`` validates before starting."""

    city: CityConfig
    network: NetworkConfig
    energy: EnergyConfig
    workload: WorkloadConfig
    faults: FaultsConfig
    policy: PolicyConfig
    consensus: ConsensusConfig = Field(default_factory=ConsensusConfig)
    weather: WeatherConfig = Field(default_factory=WeatherConfig)
    world: WorldConfig = Field(default_factory=WorldConfig)
    seed: Annotated[int, Field(ge=0)] = 0
    duration_s: Positive = 3600.0
    nodes: PositiveInt | None = None
    """Override the city's node count (rounded up to whole intersections)."""
    start_time: str = "2026-03-02T07:00:00+00:00"
    progress: bool = True
    plots: bool = True
    tables: bool = True
    realtime: RealtimeConfig = Field(default_factory=RealtimeConfig)
    """Virtual time (default) or real time, optionally over a real broker (sim/hil.py)."""
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)

    @field_validator("start_time")
    @classmethod
    def _iso_time(cls, value: str) -> str:
        """Written back with its offset, so that summary.json says which instant it was."""
        try:
            return utc_datetime(value).isoformat()
        except ValueError:
            raise ValueError(
                f"{value!r} is not an ISO 8601 time (e.g. 2026-03-02T07:00:00+00:00)"
            ) from None

    @property
    def start_epoch_s(self) -> float:
        return utc_datetime(self.start_time).timestamp()

    @property
    def intersections(self) -> int:
        if self.nodes is None:
            return self.city.intersections
        return max(1, -(-self.nodes // self.city.cameras_per_intersection))

    @property
    def node_count(self) -> int:
        return self.intersections * self.city.cameras_per_intersection

    @model_validator(mode="after")
    def _duration(self) -> ScenarioConfig:
        if self.duration_s < self.workload.observe_period_s:
            raise ValueError("duration_s is shorter than one observation period")
        if self.consensus.byzantine_per_intersection > self.city.cameras_per_intersection:
            raise ValueError(
                f"consensus.byzantine_per_intersection={self.consensus.byzantine_per_intersection}"
                f" exceeds city.cameras_per_intersection={self.city.cameras_per_intersection}"
            )
        if self.consensus.robust_coverage:
            from sim.synthetic_camera import camera_coverage

            c = self.city.cameras_per_intersection
            seen = camera_coverage(self.city, 1).ravel().tolist()
            least = min(seen.count(a) for a in range(self.city.approaches))
            need = 2 * ((c - 1) // 3) + 1
            if least < need:
                raise ValueError(
                    f"consensus.robust_coverage needs 2f+1={need} cameras on every approach,"
                    f" but city.approaches_per_camera={self.city.approaches_per_camera} with"
                    f" {c} cameras gives {least} on some approach"
                )
        named = [b.node for b in self.consensus.byzantine]
        named += [n for p in self.consensus.partitions for n in p.nodes]
        for node in named:
            if node >= self.node_count:
                raise ValueError(
                    f"consensus names node {node} but the city has {self.node_count} nodes"
                )
        if self.world.name == "sumo" and (missing := sumo_tools.missing_module()) is not None:
            raise ValueError(f"world.name: {sumo_tools.INSTALL_HINT} (no module {missing!r})")
        if self.world.name == "sumo" and self.city.approaches != 4:
            raise ValueError(
                f"world=sumo needs city.approaches=4 (N, E, S, W), got {self.city.approaches}"
            )
        for fault in self.faults.schedule:
            if fault.node >= self.node_count:
                raise ValueError(
                    f"faults.schedule names node {fault.node} but the city has "
                    f"{self.node_count} nodes"
                )
        return self


class ConfigError(ValueError):
    """A scenario that cannot run; the message names every offending key."""


def load_scenario(raw: dict[str, Any]) -> ScenarioConfig:
    """Validate a composed config (a plain dict from OmegaConf) into a :class:`ScenarioConfig`."""
    raw = {k: v for k, v in raw.items() if k != "hydra"}
    try:
        return ScenarioConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "<root>"
            lines.append(f"  {key}: {err['msg']}")
        raise ConfigError("invalid scenario configuration:\n" + "\n".join(lines)) from None
