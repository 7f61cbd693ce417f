"""Configuration of ``edgeqi loadtest``: services, load, service-level objectives, faults.

Validated before anything starts, like a scenario: a bad value stops the run naming
the key. The defaults of the SLOs are the plan's success metrics (see DESIGN.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.scenario_config import ConfigError, ScenarioConfig, load_scenario

Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServicesConfig(_Strict):
    """Start private services (``null``) or connect to running ones (URLs)."""

    mqtt_url: str | None = None
    database_url: str | None = None
    """Also used to read back what was stored (the loss/duplicate ledger)."""
    api_url: str | None = None
    backend_pid: int | None = None
    """With ``api_url``: the process to sample CPU and memory of (none: not measured)."""
    admin_username: str = "loadtest"
    admin_password: str = "loadtest-password-1"
    db: Literal["postgresql", "sqlite"] = "postgresql"
    """Which database to start when ``database_url`` is null."""
    backend_env: dict[str, str] = Field(default_factory=dict)
    """Extra ``EDGEQI_*`` settings of the backend started here (reported with the results)."""
    ingest_workers: Annotated[int, Field(ge=0, le=16)] = 0
    """0: one ``edgeqi serve`` process ingests and serves. N: an API-only server
    (``EDGEQI_ROLE=api``), N ``edgeqi ingest`` workers and a private Redis relaying live
    events, the layout the README recommends under load (each with its own interpreter)."""


class SloConfig(_Strict):
    """Service-level objectives; a ``null`` objective is not checked (and says so)."""

    name: str
    min_nodes: int | None = 100
    min_detections_per_min: float | None = 10_000
    api_p99_ms: float | None = 100.0
    ws_p99_ms: float | None = 50.0
    min_users: int | None = 50
    max_lost: int | None = 0
    max_duplicates: int | None = 0
    max_recovery_s: float | None = None


class FaultConfig(_Strict):
    """One fault injected ``at_s`` after the load starts, lasting ``down_s``."""

    kind: Literal[
        "none", "broker_restart", "broker_kill", "backend_kill", "db_restart", "link_cut"
    ] = "none"
    at_s: NonNegative = 20.0
    down_s: NonNegative = 5.0
    nodes: Annotated[int, Field(ge=1)] = 1
    """``link_cut``: how many nodes lose their link."""


class LoadConfig(_Strict):
    users: Annotated[int, Field(ge=0)] = 50
    """Concurrent API users doing what an operator's dashboard does."""
    think_s: NonNegative = 1.0
    """Mean pause between a user's requests (exponential), as people click."""
    reference_think_s: Positive = 0.1
    """Mean pause of the client polling ``/health`` beside the users (the reference): about
    10 requests/s, 600 samples a minute for its p99, not 100/s that load the backend."""
    ws_subscribers: Annotated[int, Field(ge=0)] = 5
    ws_topics: str = "detections,nodes"
    poll_s: Positive = 0.1
    """Interval of the database ledger poll: the resolution of publish-to-persist."""
    sample_s: Positive = 1.0
    """Interval of the backend CPU/memory samples."""
    drain_timeout_s: Positive = 120.0
    """After the load, how long everything published may take to be stored."""
    plots: bool = True
    raw_reference_messages: Annotated[int, Field(ge=0)] = 10_000
    """Before the backend starts: this many detection batches through the same broker to a
    count-only subscriber (experiments/benchmarks/bench_ingest.py), the raw rate the ingest rate is
    compared with. 0 skips it."""
    raw_reference_detections: Annotated[int, Field(ge=0)] = 3
    """Detections per reference message (about the scenario's mean, for a like payload)."""
    pin_cores: bool = True
    """With more than one core: the generator's processes on one half of the CPUs, the
    backend's on the other (experiments/loadtest/cpu_meter.py); reported either way."""


class GeneratorConfig(_Strict):
    """The load generator's own layout (experiments/loadtest/node_shards.py)."""

    processes: Annotated[int, Field(ge=1, le=64)] = 2
    """Worker processes holding the nodes' MQTT sessions (node ``k`` in worker ``k mod N``);
    the simulator stays one process and hands each worker its nodes' messages."""


class SweepConfig(_Strict):
    """``enabled``: search the largest node count meeting every objective
    (experiments/loadtest/sweep.py) instead of one run at ``nodes``."""

    enabled: bool = False
    min_nodes: Annotated[int, Field(ge=1)] = 10
    max_nodes: Annotated[int, Field(ge=1)] = 400
    resolution: Annotated[int, Field(ge=1)] = 10

    @model_validator(mode="after")
    def _ordered(self) -> SweepConfig:
        if self.min_nodes >= self.max_nodes:
            raise ValueError("sweep.min_nodes must be below sweep.max_nodes")
        return self


class LoadtestConfig(_Strict):
    services: ServicesConfig = Field(default_factory=ServicesConfig)
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    load: LoadConfig = Field(default_factory=LoadConfig)
    slo: SloConfig
    fault: FaultConfig = Field(default_factory=FaultConfig)

    @model_validator(mode="after")
    def _faults_need_owned_services(self) -> LoadtestConfig:
        owned = {
            "broker_restart": self.services.mqtt_url,
            "broker_kill": self.services.mqtt_url,
            "backend_kill": self.services.api_url,
            "db_restart": self.services.database_url,
        }
        if owned.get(self.fault.kind) is not None:
            raise ValueError(f"fault {self.fault.kind} needs the service started by the load test")
        if self.services.api_url is not None and self.services.database_url is None:
            raise ValueError("services.api_url needs services.database_url (to read the ledger)")
        return self


def load_config(raw: dict[str, Any]) -> tuple[ScenarioConfig, LoadtestConfig]:
    """Split the composed config into the scenario and the load test; validate both."""
    raw = {k: v for k, v in raw.items() if k != "hydra"}
    lt = raw.pop("loadtest", None)
    scn = load_scenario(raw)
    if scn.realtime.mode != "real":
        raise ConfigError("invalid load test configuration:\n  realtime.mode: must be real")
    try:
        return scn, LoadtestConfig.model_validate(lt or {})
    except ValidationError as exc:
        lines = [
            f"  loadtest.{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
            for e in exc.errors()
        ]
        raise ConfigError("invalid load test configuration:\n" + "\n".join(lines)) from None
