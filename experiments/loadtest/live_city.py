"""A simulated city publishing live over a broker, with recent history already behind it.

The simulator's hardware-in-the-loop mode (:mod:`sim.hil`) runs in a child process: each
virtual node publishes through its own MQTT client, so the backend receives exactly
what it receives from field nodes, through its real MQTT ingest. The run starts
``realtime.backfill_s`` before the wall clock (:mod:`sim.realtime`): that history is
simulated as fast as the machine allows, then the run follows the wall clock.
:meth:`LiveCity.wait_stored` returns once the backend holds everything the city
published up to the moment it caught up, which is when a dashboard has data to show.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.orm import MessageRow
from experiments.runs.compose import compose_scenario
from sim.hil import HilNodes, spread_s
from sim.realtime import anchored
from sim.runner import PolicySimulation
from sim.scenario_config import ScenarioConfig
from sim.scoring import node_name

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

LIVE_HOURS = 12.0
"""How long the city runs past its backfill; a server outliving it keeps its history."""


MAP_ORIGIN = (48.137, 11.575)
"""Where the demo city stands (degrees); its cameras' heartbeats carry their places."""


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
            # Placed on the operator's city map (any point: the map draws no tiles).
            f"city.origin={{lat:{MAP_ORIGIN[0]},lon:{MAP_ORIGIN[1]}}}",
            "progress=false",
            *overrides,
        ]
    )


class _StopRequestedError(Exception):
    """Raised inside the simulation to end it early."""


def _run_city(scn: ScenarioConfig, conn: Connection) -> None:
    """The child process: build the city and connect every node; on ``go`` run until
    ``stop``, sending the parent the messages published when the run caught up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it through ``conn``
    sim = PolicySimulation(scn, scn.policy.name, record_queues=False)
    names = [node_name(k) for k in range(sim.n)]
    nodes = HilNodes(scn.realtime.hil, names, spread_s=spread_s(scn))
    nodes.start()
    sim.sink = nodes
    caught_up = False

    def progress(t: float) -> None:
        nonlocal caught_up
        if conn.poll():
            raise _StopRequestedError
        if not caught_up and sim.t0 + t >= time.time():
            caught_up = True
            conn.send(nodes.published)

    try:
        if conn.recv() == "go":
            sim.run(progress)
    except (_StopRequestedError, EOFError):
        pass
    finally:
        nodes.close(flush=False)


class LiveCity:
    """The simulated city in a process of its own, as field nodes are apart from the
    backend: its CPU bursts (every node's step, PBFT signatures) never hold the
    interpreter lock of the service that answers the dashboard."""

    def __init__(self, scn: ScenarioConfig) -> None:
        self.scn = anchored(scn)
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_run_city, args=(self.scn, child), name="edgeqi-live-city", daemon=True
        )
        self.published_at_catch_up = 0
        """Messages the nodes had published when the run reached the wall clock."""

    @property
    def running(self) -> bool:
        return self._process.is_alive()

    def prepare(self) -> None:
        """Start the process: it imports, builds the city and connects the nodes, which
        takes seconds, while the caller starts the backend; nothing is published yet."""
        self._process.start()

    def start(self) -> None:
        """Run (preparing first if need be): publish the backfill, then follow the clock.

        Only once the backend subscribes: a broker drops what nobody subscribed to."""
        if self._process.pid is None:
            self.prepare()
        self._conn.send("go")

    def wait_stored(self, sessions: sessionmaker[Session], timeout: float) -> int:
        """Block until the backfill is published and stored; return the messages stored."""
        deadline = time.monotonic() + timeout
        while not self._conn.poll(0.2):
            if not self._process.is_alive():
                raise RuntimeError(
                    f"the simulated city exited (code {self._process.exitcode}) "
                    "before reaching the wall clock; its traceback is on stderr"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"the city did not reach the wall clock in {timeout} s")
        self.published_at_catch_up = int(self._conn.recv())
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
        """End the simulation (within one observation period) and its process."""
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(timeout=15)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        self._conn.close()
