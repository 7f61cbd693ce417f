"""Virtual or real time for the simulator, and the lag watch of real-time runs.

In virtual time (the default) SimPy jumps from event to event as fast as the CPU
allows, and the results depend only on the config and the seed. In real time
(``simpy.rt.RealtimeEnvironment``) one simulated second takes ``1 / speed`` wall
seconds, which is what driving a real broker and backend needs. A simulation that
cannot keep up does not fail by itself (``strict=False``); :func:`watch_lag` measures
how far it is behind at every check and stops the run, naming the lag, once it is
past ``max_lag_s``: results of a run that silently fell behind would understate load.

A real-time run may start ``backfill_s`` simulated seconds before the wall clock: that
stretch is simulated as fast as the machine allows (the history a live backend is to
hold), then the clock locks on to the wall clock and runs at ``speed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

import simpy
import simpy.rt
from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from sim.scenario_config import ScenarioConfig

log = logging.getLogger(__name__)

Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


class HilConfig(BaseModel):
    """Hardware-in-the-loop: every virtual node publishes through its own MQTT client."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    broker_url: str | None = None
    """``mqtt://host:port``; set, each node connects with client id = its node id."""
    credentials_file: str | None = None
    """Lines ``node_id:password``; unset, nodes connect without credentials."""
    buffer_messages: Annotated[int, Field(gt=0)] = 10_000
    """Store-and-forward capacity of each node's transport."""
    window: Annotated[int, Field(gt=0, le=65_535)] = 100
    """Messages a node may have unacknowledged at the broker."""
    connect_timeout_s: Positive = 30.0
    flush_timeout_s: Positive = 60.0
    """At the end, how long the nodes may take to deliver what they still hold."""
    reconnect_max_s: Annotated[int, Field(ge=1)] = 30
    """Upper bound of a node's exponential reconnect backoff (from 1 s)."""
    stagger: bool = True
    """Spread each tick's publications over one observation period, node ``k`` of ``n``
    at ``k/n`` of it, as cameras with their own clocks would send. The simulator steps
    every node at the same tick, so without it all nodes publish in the same millisecond:
    a burst no deployment produces, which the backend then absorbs as queueing delay.
    Off while ``backfill_s`` is set (the past is replayed at full speed)."""


class RealtimeConfig(BaseModel):
    """``mode: virtual`` (as fast as possible) or ``real`` (``speed`` x wall clock)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["virtual", "real"] = "virtual"
    speed: Positive = 1.0
    """Simulated seconds per wall second in real time."""
    max_lag_s: Positive = 5.0
    """Wall seconds behind schedule past which a real-time run is stopped."""
    lag_check_s: Positive = 1.0
    """Simulated seconds between lag measurements."""
    start_now: bool = True
    """Real time: the simulated clock starts at the wall clock (message timestamps are real)."""
    backfill_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    """Real time: simulated seconds before the wall clock at which the run starts; they
    run as fast as possible, and lag is watched only once the run has caught up."""
    hil: HilConfig = Field(default_factory=HilConfig)

    @model_validator(mode="after")
    def _hil_needs_real_time(self) -> RealtimeConfig:
        if self.hil.broker_url is not None and self.mode != "real":
            raise ValueError("hil.broker_url needs mode=real (a broker cannot run in virtual time)")
        if self.backfill_s > 0 and self.mode != "real":
            raise ValueError("backfill_s needs mode=real (virtual time has no wall clock to reach)")
        return self


class LagExceededError(RuntimeError):
    """A real-time run fell further behind than ``max_lag_s``."""


@dataclass
class LagReport:
    """Lag measured at each check: (simulated seconds, wall seconds behind)."""

    samples: list[tuple[float, float]] = field(default_factory=list)
    caught_up_wall_s: float | None = None
    """With a backfill: wall seconds the run took to reach the wall clock."""

    @property
    def max_lag_s(self) -> float:
        return max((lag for _, lag in self.samples), default=0.0)

    def summary(self) -> dict[str, float | int]:
        lags = [lag for _, lag in self.samples]
        out: dict[str, float | int] = {
            "checks": len(lags),
            "max_lag_s": round(self.max_lag_s, 4),
            "mean_lag_s": round(sum(lags) / len(lags), 4) if lags else 0.0,
        }
        if self.caught_up_wall_s is not None:
            out["caught_up_wall_s"] = round(self.caught_up_wall_s, 3)
        return out


def environment(cfg: RealtimeConfig) -> simpy.Environment:
    if cfg.mode == "virtual":
        return simpy.Environment()
    return simpy.rt.RealtimeEnvironment(factor=1.0 / cfg.speed, strict=False)


def sync(env: simpy.Environment, behind_s: float = 0.0) -> None:
    """Restart a real-time clock now (after slow set-up such as connecting the nodes).

    With ``behind_s`` (a backfill), simulated time ``behind_s`` is due now: everything
    before it is already late, so SimPy (``strict=False``) runs it without sleeping.
    """
    if isinstance(env, simpy.rt.RealtimeEnvironment):
        env.sync()
        env.real_start -= behind_s * env.factor


def watch_lag(
    env: simpy.Environment,
    cfg: RealtimeConfig,
    report: LagReport,
    clock: Callable[[], float] = time.monotonic,
    behind_s: float = 0.0,
) -> Generator[simpy.Event, None, None]:
    """SimPy process: measure the lag every ``lag_check_s``; raise past ``max_lag_s``.

    A backfill starts ``behind_s`` simulated seconds late by design (see :func:`sync`);
    lag counts from the first check at which the run is within ``max_lag_s / 2`` of
    the wall clock.
    """
    wall0, sim0 = clock(), env.now
    caught_up = behind_s == 0
    while True:
        yield env.timeout(cfg.lag_check_s)
        wall = clock() - wall0
        lag = max(0.0, wall - (env.now - sim0 - behind_s) / cfg.speed)
        if not caught_up:
            if lag > cfg.max_lag_s / 2:
                continue
            caught_up = True
            report.caught_up_wall_s = wall
        report.samples.append((env.now, lag))
        if lag > cfg.max_lag_s:
            raise LagExceededError(
                f"real-time run fell {lag:.2f} s behind the wall clock at simulated "
                f"t={env.now:.0f} s (realtime.max_lag_s={cfg.max_lag_s:g}, "
                f"speed={cfg.speed:g}): the machine cannot simulate this scenario in real time"
            )
        if lag > cfg.max_lag_s / 2:
            log.warning("real-time run %.2f s behind at t=%.0f s", lag, env.now)


def anchored(scn: ScenarioConfig) -> ScenarioConfig:
    """In real time with ``start_now``, start the simulated clock at the wall clock
    (``backfill_s`` before it)."""
    if scn.realtime.mode != "real" or not scn.realtime.start_now:
        return scn
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=scn.realtime.backfill_s)
    return scn.model_copy(update={"start_time": start.isoformat()})
