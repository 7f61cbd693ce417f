"""A simulated city publishing live over a broker, with recent history already behind it.

The simulator's hardware-in-the-loop mode (:mod:`sim.hil`) runs in a thread: each
virtual node publishes through its own MQTT client, so the backend receives exactly
what it receives from field nodes, through its real MQTT ingest. The run starts
``realtime.backfill_s`` before the wall clock (:mod:`sim.realtime`): that history is
simulated as fast as the machine allows, then the run follows the wall clock.
:meth:`LiveCity.wait_stored` returns once the backend holds everything the city
published up to the moment it caught up, which is when a dashboard has data to show.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.models import MessageRow
from experiments.compose import compose_scenario
from sim.config import ScenarioConfig
from sim.hil import HilNodes
from sim.metrics import node_name
from sim.realtime import anchored
from sim.runner import PolicySimulation

log = logging.getLogger(__name__)

LIVE_HOURS = 12.0
"""How long the city runs past its backfill; a server outliving it keeps its history."""


def city_scenario(
    nodes: int, backfill_s: float, broker_url: str, overrides: list[str] | tuple[str, ...] = ()
) -> ScenarioConfig:
    """The small city (4 cameras per intersection) in real time over ``broker_url``.

    Every camera streams its detections and queues (the ``stream_all`` baseline: a
    dashboard shows what arrives), demand does not depend on the hour the server
    starts, and the cameras of each intersection agree through PBFT every cycle.
    """
    return compose_scenario(
        [
            "city=small",
            f"nodes={nodes}",
            "consensus=pbft",
            "policy.name=stream_all",
            "policy.compare=[stream_all]",
            "workload.night_factor=1.0",
            "workload.rush_peak_factor=0.0",
            f"duration_s={backfill_s + LIVE_HOURS * 3600}",
            "realtime.mode=real",
            f"realtime.backfill_s={backfill_s}",
            # A loaded machine may fall behind for a while; the feed keeps going.
            "realtime.max_lag_s=600",
            f"realtime.hil.broker_url={broker_url}",
            "progress=false",
            *overrides,
        ]
    )


class _StopRequestedError(Exception):
    """Raised inside the simulation to end it early."""


class LiveCity:
    """The simulation thread, its nodes' MQTT clients and its catch-up point."""

    def __init__(self, scn: ScenarioConfig) -> None:
        self.scn = anchored(scn)
        self.sim = PolicySimulation(self.scn, self.scn.policy.name, record_queues=False)
        self.nodes = HilNodes(self.scn.realtime.hil, [node_name(k) for k in range(self.sim.n)])
        self.sim.sink = self.nodes
        self.caught_up = threading.Event()
        self.published_at_catch_up = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edgeqi-live-city", daemon=True)

    def start(self) -> None:
        """Connect every node, then run the simulation in its thread."""
        self.nodes.start()
        self._thread.start()

    def _progress(self, t: float) -> None:
        if self._stop.is_set():
            raise _StopRequestedError
        if not self.caught_up.is_set() and self.sim.t0 + t >= time.time():
            self.published_at_catch_up = self.nodes.published
            self.caught_up.set()

    def _run(self) -> None:
        try:
            self.sim.run(self._progress)
        except _StopRequestedError:
            pass
        except BaseException as exc:  # reported by wait_stored and in the log
            self.error = exc
            log.exception("the simulated city stopped")
        finally:
            self.caught_up.set()

    def wait_stored(self, sessions: sessionmaker[Session], timeout: float) -> int:
        """Block until the backfill is published and stored; return the messages stored."""
        deadline = time.monotonic() + timeout
        if not self.caught_up.wait(timeout):
            raise TimeoutError(f"the simulated city did not reach the wall clock in {timeout} s")
        if self.error is not None:
            raise RuntimeError("the simulated city failed") from self.error
        stored = 0
        while time.monotonic() < deadline:
            with sessions() as db:
                stored = int(db.scalar(select(func.count()).select_from(MessageRow)) or 0)
            if stored >= self.published_at_catch_up:
                return stored
            time.sleep(0.1)
        raise TimeoutError(
            f"the backend stored {stored} of the {self.published_at_catch_up} messages "
            f"the city published before catching up, in {timeout} s"
        )

    def stop(self) -> None:
        """End the simulation and disconnect the nodes without waiting for their queues."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.nodes.close(flush=False)
