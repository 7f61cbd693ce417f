"""The traffic world on Eclipse SUMO: real vehicles under the cameras, stepped in lockstep.

One SUMO step (1 s) per call of :meth:`SumoWorld.advance`, i.e. per simulator tick of
the world process. Each approach's view is its incoming lanes (``storage_m`` long, the
camera's range): the queue is SUMO's halting vehicles on them, the wait their mean
accumulated waiting time. The synthetic detector then applies its errors on top, as in
the native world. Anomalies act in SUMO's terms: an incident is a vehicle stopped on the
approach's rightmost lane (``vehicle.setStop``), a surge injects extra vehicles on a route
straight through, an emergency is a vehicle of class ``emergency``; ground truth ends
when the queue the episode caused has drained. Agreed signal plans replace the junction's
programme (``trafficlight.setProgramLogic``) at its next cycle start, and agreed
green-wave offsets shift that cycle's start (``setPhaseDuration``).

libsumo runs one simulation per process, so a world that starts closes the one before
(runs are sequential; a closed world keeps its figures).
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sim import sumo_tools
from sim.scenario_config import ScenarioConfig
from sim.sumo_demand import trip_files
from sim.sumo_network import CityNetwork, load_city
from sim.traffic import (
    PREROLL_S,
    RECOVERY_MARGIN_VEH,
    Episode,
    EpisodeKind,
    diurnal_factor,
    draw_episodes,
)

STEP_S = 1.0
EMERGENCY_TYPE = "edgeqi_emergency"
STALL_BEFORE_STOP_LINE_M = 15.0
LANE_CHANGE_DEFAULT = 0b011001010101
"""SUMO's default lane-change mode (1621), restored when a stalled vehicle drives on."""
_ACTIVE: list[SumoWorld] = []


def _green_of(state: str) -> set[int]:
    return {k for k, c in enumerate(state) if c in "Gg"}


class SignalProgram:
    """A junction's programme as two phase groups (N-S, E-W) whose greens are rescaled.

    A phase is green for a group when its green links serve only that group's approaches;
    every other phase (yellow, all-red, mixed) keeps its duration, and the greens share
    ``cycle_s`` minus those, split as the plan says (like the native world's two phases).
    """

    def __init__(self, logic: Any, link_approach: tuple[int, ...], cycle_s: float) -> None:
        self.logic = logic
        self.base_s = [float(p.duration) for p in logic.phases]
        """The programme's own durations: every plan rescales these, never the last plan's
        (rescaling the programme in force compounded: a split of 0.4 adopted each cycle
        shrank phase 0's green by 0.8x a cycle)."""
        self.group: list[int] = []
        for phase in logic.phases:
            groups = {
                link_approach[k] % 2
                for k in _green_of(phase.state)
                if k < len(link_approach) and link_approach[k] >= 0
            }
            self.group.append(groups.pop() if len(groups) == 1 else -1)
        fixed = sum(p.duration for p, g in zip(logic.phases, self.group, strict=True) if g < 0)
        self.green_s = max(2.0, cycle_s - fixed)
        self.weight = [0.0, 0.0]
        for p, g in zip(logic.phases, self.group, strict=True):
            if g >= 0:
                self.weight[g] += p.duration
        self.split = 0.5

    def durations(self, split_phase0: float) -> list[float]:
        share = (split_phase0, 1.0 - split_phase0)
        out = []
        for base, g in zip(self.base_s, self.group, strict=True):
            if g < 0 or self.weight[g] <= 0:
                out.append(base)
            else:
                out.append(round(max(1.0, self.green_s * share[g] * base / self.weight[g]), 1))
        return out

    def apply(self, traci: Any, tls: str, split_phase0: float) -> None:
        for phase, d in zip(self.logic.phases, self.durations(split_phase0), strict=True):
            phase.duration = phase.minDur = phase.maxDur = d
        traci.trafficlight.setProgramLogic(tls, self.logic)
        self.split = split_phase0


class SumoWorld:
    """The :class:`sim.world.World` of a SUMO simulation of the city."""

    # N and S (approaches 0, 2) share the plan's first phase, E and W the second, as in
    # the native world; _Light groups SUMO's green phases the same way.
    phase_of_approach: npt.NDArray[np.int64] = np.arange(4) % 2

    def __init__(self, scn: ScenarioConfig, start_epoch_s: float, rng: np.random.Generator) -> None:
        self.scn = scn
        self.city = scn.city
        self.workload = scn.workload
        self.rng = rng
        n_i = scn.intersections
        self.shape = (n_i, 4)
        self.episodes: list[Episode] = draw_episodes(scn.workload, self.shape, scn.duration_s, rng)
        self.net: CityNetwork = load_city(scn)
        self.start_epoch_s = start_epoch_s
        span = PREROLL_S + scn.duration_s + STEP_S
        trips = trip_files(scn, self.net, start_epoch_s - PREROLL_S, span)
        lane_counts = [[max(1, len(ap.lanes)) for ap in row] for row in self.net.approaches]
        self.lanes: npt.NDArray[np.int64] = np.array(lane_counts, dtype=np.int64)
        # What a camera's view of the approach holds (its storage, as in the native world):
        # occlusion in the synthetic detector grows with the queue's share of it.
        self.capacity_veh: npt.NDArray[np.int64] = (
            scn.city.storage_m * self.lanes // scn.city.vehicle_spacing_m
        ).astype(np.int64)
        self.queue: npt.NDArray[np.int64] = np.zeros(self.shape, dtype=np.int64)
        self.queue_low: npt.NDArray[np.int64] = np.zeros(self.shape, dtype=np.int64)
        self.joined: npt.NDArray[np.int64] = np.zeros(self.shape, dtype=np.int64)
        """Vehicles that have entered each watched approach's edge so far."""
        self.emergency: npt.NDArray[np.bool_] = np.zeros(self.shape, dtype=np.bool_)
        self.incident: npt.NDArray[np.bool_] = np.zeros(self.shape, dtype=np.bool_)
        self.offset_s: npt.NDArray[np.float64] = np.zeros(n_i)
        self._applied_offset = [0.0] * n_i
        self.offsets_applied = 0
        self._wait: npt.NDArray[np.float64] = np.zeros(self.shape)
        self._pending = sorted(self.episodes, key=lambda e: e.onset)
        self._pending_idx = 0
        self._active: list[Episode] = []
        self._recovering: list[Episode] = []
        self._onset_queue: dict[int, int] = {}
        self.recovered_at: dict[int, float] = {}
        self._emergency_vehicles: dict[str, tuple[int, int]] = {}
        self._stalled: dict[int, tuple[str, str, float]] = {}
        self._injected = 0
        self._planned: dict[int, float] = {}
        self.plans_applied = 0
        self._init_tallies(n_i)
        self._figures: dict[str, Any] | None = None
        self._workdir = tempfile.TemporaryDirectory(prefix="edgeqi-sumo-")
        self._tripinfo = Path(self._workdir.name) / "tripinfo.xml"
        self._start(trips)
        self._last_phase = [self.traci.trafficlight.getPhase(t) for t in self.net.tls]
        for _ in range(int(PREROLL_S / STEP_S)):
            self._step()
        self._observe()
        self.throughput.fill(0)  # the preroll's traffic is already on the roads at time zero

    def _init_tallies(self, n_i: int) -> None:
        """The run's vehicle counts, from zero."""
        self.throughput: npt.NDArray[np.int64] = np.zeros(n_i, dtype=np.int64)
        """Vehicles that left each junction's watched approaches (into the junction)."""
        self._on_approach: list[list[set[str]]] = [[set() for _ in range(4)] for _ in range(n_i)]
        self.teleported = 0
        self._teleporting: set[str] = set()
        """Off the network until SUMO puts them back further on (or their trip ends there)."""
        self.departed = 0
        self.arrived = 0
        self.collisions = 0
        self.sumo_seconds = 0.0

    # -- SUMO -------------------------------------------------------------------------

    def _start(self, trips: list[Path]) -> None:
        while _ACTIVE:
            _ACTIVE.pop().finish()
        self.traci = sumo_tools.libsumo()
        w = self.scn.world
        self.traci.start(
            [
                sumo_tools.binary("sumo"),
                "--net-file",
                str(self.net.path),
                "--route-files",
                ",".join(str(p) for p in trips),
                "--begin",
                "0",
                "--step-length",
                str(STEP_S),
                "--seed",
                str(self.scn.seed),
                "--time-to-teleport",
                str(w.time_to_teleport_s),
                "--collision.action",
                "warn",
                "--ignore-route-errors",
                "true",
                "--tripinfo-output",
                str(self._tripinfo),
                "--tripinfo-output.write-unfinished",
                "true",
                "--no-step-log",
                "true",
                "--no-warnings",
                "true",
                "--duration-log.disable",
                "true",
            ]
        )
        _ACTIVE.append(self)
        tl = self.traci.trafficlight
        self.programs = [
            SignalProgram(tl.getAllProgramLogics(t)[0], links, self.workload.cycle_s)
            for t, links in zip(self.net.tls, self.net.link_approach, strict=True)
        ]
        for tls, prog in zip(self.net.tls, self.programs, strict=True):
            prog.apply(self.traci, tls, 0.5)  # the fixed-time baseline: an even split
        self.traci.vehicletype.copy("DEFAULT_VEHTYPE", EMERGENCY_TYPE)
        self.traci.vehicletype.setVehicleClass(EMERGENCY_TYPE, "emergency")
        self._routes: set[str] = set()

    def _step(self) -> None:
        import time

        started = time.perf_counter()
        self.traci.simulationStep()
        sim = self.traci.simulation
        self.departed += sim.getDepartedNumber()
        self.arrived += sim.getArrivedNumber()
        starting = sim.getStartingTeleportIDList()
        self.teleported += len(starting)
        if starting or self._teleporting:
            self._teleporting.update(starting)
            self._teleporting.difference_update(sim.getEndingTeleportIDList())
            self._teleporting.difference_update(sim.getArrivedIDList())
        self.collisions += sim.getCollidingVehiclesNumber()
        self._adopt_plans()
        self.sumo_seconds += time.perf_counter() - started

    def _adopt_plans(self) -> None:
        """A pending plan takes effect when its junction's cycle starts (phase 0 begins)."""
        tl = self.traci.trafficlight
        for i, tls in enumerate(self.net.tls):
            phase = tl.getPhase(tls)
            if phase == 0 and self._last_phase[i] != 0:
                if i in self._planned:
                    self.programs[i].apply(self.traci, tls, self._planned.pop(i))
                    tl.setPhase(tls, 0)
                    self.plans_applied += 1
                self._shift_to_offset(i, tls)
            self._last_phase[i] = phase

    def _shift_to_offset(self, i: int, tls: str) -> None:
        """Move the cycle start to ``offset_s`` (the green wave) by lengthening this cycle's
        first green once: cycle starts at ``t = -offset (mod cycle)``, as in the native world."""
        cycle = self.workload.cycle_s
        later = (self._applied_offset[i] - float(self.offset_s[i])) % cycle
        if later >= STEP_S:
            tl = self.traci.trafficlight
            tl.setPhaseDuration(tls, tl.getPhaseDuration(tls) + later)
            self.offsets_applied += 1
        self._applied_offset[i] = float(self.offset_s[i])

    # -- the World interface -------------------------------------------------------------

    def advance(self, t: float, dt: float) -> None:
        """Episodes due at ``t``, then SUMO steps to ``t + dt``, then the approach views."""
        self._apply_episodes(t)
        for _ in range(max(1, round(dt / STEP_S))):
            self._step()
        self._observe()
        if self._recovering:
            self._check_recovery(t + dt)

    def _observe(self) -> None:
        lane = self.traci.lane
        veh = self.traci.vehicle
        self.emergency.fill(False)
        for vid, where in list(self._emergency_vehicles.items()):
            try:
                on = veh.getRoadID(vid)
            except self.traci.TraCIException:
                del self._emergency_vehicles[vid]  # arrived
                continue
            i, a = where
            self.emergency[i, a] |= on == self.net.approaches[i][a].edge
        edge = self.traci.edge
        for i, row in enumerate(self.net.approaches):
            for a, ap in enumerate(row):
                if not ap.lanes:
                    continue
                on_edge = set(edge.getLastStepVehicleIDs(ap.edge))
                self.throughput[i] += len(self._on_approach[i][a] - on_edge)
                self.joined[i, a] += len(on_edge - self._on_approach[i][a])
                self._on_approach[i][a] = on_edge
                halting = 0
                waiting = 0.0
                for ln in ap.lanes:
                    halting += lane.getLastStepHaltingNumber(ln)
                    waiting += lane.getWaitingTime(ln)
                self.queue[i, a] = halting
                self._wait[i, a] = waiting / halting if halting else 0.0
        np.minimum(self.queue_low, self.queue, out=self.queue_low)

    def wait_s(self, t: float) -> npt.NDArray[np.float64]:
        """Mean accumulated waiting time of the halting vehicles on each approach."""
        return self._wait

    def set_green_split(self, intersection: int, split_phase0: float) -> None:
        """Adopt an agreed plan at the junction's next cycle start; clamped to [0.1, 0.9]."""
        self._planned[intersection] = min(0.9, max(0.1, split_phase0))

    def hour_of_day(self, t: float) -> float:
        return ((self.start_epoch_s + t) % 86400.0) / 3600.0

    def effect_end(self, e: Episode) -> float:
        if e.kind is EpisodeKind.EMERGENCY or e.kind is EpisodeKind.CAMERA_FAULT:
            return e.end
        return max(e.end, self.recovered_at.get(e.id, float("inf")))

    # -- anomalies ----------------------------------------------------------------------

    def _apply_episodes(self, t: float) -> None:
        while (
            self._pending_idx < len(self._pending) and self._pending[self._pending_idx].onset <= t
        ):
            e = self._pending[self._pending_idx]
            self._pending_idx += 1
            self._active.append(e)
            self._onset_queue[e.id] = int(self.queue[e.intersection, e.approach])
            self._begin(e)
        for e in [e for e in self._active if e.end <= t]:
            self._active.remove(e)
            self._recovering.append(e)
            self._end(e)
        for e in self._active:
            if e.kind is EpisodeKind.SURGE:
                self._surge(e, t)

    def _begin(self, e: Episode) -> None:
        if e.kind is EpisodeKind.INCIDENT:
            self._stall(e)
            self.incident[e.intersection, e.approach] = True
        elif e.kind is EpisodeKind.EMERGENCY:
            vid = self._inject(e, EMERGENCY_TYPE)
            if vid is not None:
                self._emergency_vehicles[vid] = (e.intersection, e.approach)

    def _stall(self, e: Episode) -> None:
        """A vehicle that stops on the approach's rightmost lane ``STALL_BEFORE_STOP_LINE_M``
        before the stop line until the episode ends: the lane is blocked behind it."""
        vid = self._inject(e, "DEFAULT_VEHTYPE", lane="0")
        if vid is None:
            return
        ap = self.net.approaches[e.intersection][e.approach]
        length = self.traci.lane.getLength(ap.lanes[0])
        self.traci.vehicle.setLaneChangeMode(vid, 0)
        stop = (ap.edge, max(1.0, length - STALL_BEFORE_STOP_LINE_M))
        self.traci.vehicle.setStop(vid, *stop, laneIndex=0, duration=86400.0)
        self._stalled[e.id] = (vid, *stop)

    def _end(self, e: Episode) -> None:
        if e.kind is EpisodeKind.INCIDENT:
            if e.id in self._stalled:
                self._release(*self._stalled.pop(e.id))
            where = (e.intersection, e.approach)
            still = any(
                o.kind is EpisodeKind.INCIDENT and (o.intersection, o.approach) == where
                for o in self._active
            )
            self.incident[where] = still

    def _release(self, vid: str, edge: str, pos: float) -> None:
        """The stalled vehicle drives on; a stop it has not reached yet is cancelled."""
        veh = self.traci.vehicle
        if vid not in veh.getIDList():
            return
        if veh.isStopped(vid):
            veh.resume(vid)
        else:
            veh.setStop(vid, edge, pos, laneIndex=0, duration=0.0)
        veh.setLaneChangeMode(vid, LANE_CHANGE_DEFAULT)

    def _surge(self, e: Episode, t: float) -> None:
        """Extra arrivals on the approach: (surge_factor - 1) x its base rate, Poisson."""
        level = float(diurnal_factor(self.hour_of_day(t), self.workload))
        extra = (self.workload.anomalies.surge_factor - 1.0) * self.workload.base_rate_veh_per_h
        for _ in range(int(self.rng.poisson(extra * level / 3600.0 * STEP_S))):
            self._inject(e, "DEFAULT_VEHTYPE")

    def _inject(self, e: Episode, vtype: str, lane: str = "best") -> str | None:
        ap = self.net.approaches[e.intersection][e.approach]
        if ap.through is None:
            return None
        route = f"edgeqi_through_{ap.edge}"
        if route not in self._routes:
            self.traci.route.add(route, list(ap.through))
            self._routes.add(route)
        vid = f"edgeqi_{e.kind.value}_{e.id}_{self._injected}"
        self._injected += 1
        self.traci.vehicle.add(
            vid, route, typeID=vtype, depart="now", departLane=lane, departSpeed="max"
        )
        return vid

    def _check_recovery(self, t: float) -> None:
        left = []
        for e in self._recovering:
            q = int(self.queue[e.intersection, e.approach])
            if q <= self._onset_queue[e.id] + RECOVERY_MARGIN_VEH:
                self.recovered_at[e.id] = t
            else:
                left.append(e)
        self._recovering = left

    # -- results ------------------------------------------------------------------------

    def in_teleport(self) -> int:
        return len(self._teleporting)

    def running(self) -> int:
        return int(self.traci.vehicle.getIDCount()) if self._figures is None else 0

    def finish(self) -> dict[str, Any]:
        """Close SUMO (once) and return the traffic engineers' figures of the run."""
        if self._figures is not None:
            return self._figures
        running = self.running()
        self.traci.close()
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        self._figures = self._summarise(running)
        self._workdir.cleanup()
        return self._figures

    def _summarise(self, running: int) -> dict[str, Any]:
        loss, stops = [], []
        for trip in ET.parse(self._tripinfo).getroot().iter("tripinfo"):
            if float(trip.get("depart", "-1")) < PREROLL_S:
                continue  # vehicles of the preroll are not the run's
            loss.append(float(trip.get("timeLoss", "0")))
            stops.append(int(trip.get("waitingCount", "0")))
        delay = np.array(loss) if loss else np.zeros(1)
        return {
            "vehicles": len(loss),
            "delay_s_mean": round(float(delay.mean()), 3),
            "delay_s_p95": round(float(np.percentile(delay, 95)), 3),
            "stops_per_vehicle": round(float(np.mean(stops)) if stops else 0.0, 4),
            "throughput_veh": {self.net.tls[i]: int(v) for i, v in enumerate(self.throughput)},
            "departed": self.departed,
            "arrived": self.arrived,
            "running_at_end": running,
            "teleported": self.teleported,
            "in_teleport_at_end": self.in_teleport(),
            "collisions": self.collisions,
            "plans_applied": self.plans_applied,
            "offsets_applied": self.offsets_applied,
        }


def fixed_time_figures(
    scn: ScenarioConfig, start_epoch_s: float, rng: np.random.Generator
) -> dict[str, Any]:
    """The same demand and anomalies under the fixed-time programme: the engineers' baseline."""
    world = SumoWorld(scn, start_epoch_s, rng)
    t = 0.0
    while t < scn.duration_s:
        world.advance(t, STEP_S)
        t += STEP_S
    return world.finish()
