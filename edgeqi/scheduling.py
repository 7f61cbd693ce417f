"""Algorithm 1: multi-constraint adaptive scheduling.

Tasks carry a priority, a deadline, an energy cost and whether they need the
network. The scheduler takes the most urgent ready task; while the battery is below
``battery_threshold`` only CRITICAL work runs, in reduced mode where the task has a
reduced variant (detection: int8 model, smaller input; a message has none and is sent
as it is), and everything else waits in a low-energy queue until the battery is back
above the threshold; above it every task runs at full precision. When the link is slow
or thin, network work waits in a network queue. Waiting work is re-admitted when its
constraint clears and dropped, counted, when its deadline passes. Every submitted task
ends exactly once: run, run reduced, or dropped; deferral is only an intermediate state.

The FIFO baseline (``constraint_aware=False``) runs everything in arrival order at
full precision, which is what a node without Algorithm 1 does.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import NamedTuple


class Priority(IntEnum):
    CRITICAL = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3


@dataclass(slots=True)
class Task:
    name: str
    priority: Priority
    created_at: float
    deadline: float
    """Absolute time by which the task must have finished."""
    duration_s: float
    energy_j: float
    needs_network: bool = False
    reduced_duration_s: float | None = None
    """Reduced mode (int8, smaller input); ``None`` when the task has no reduced variant."""
    reduced_energy_j: float | None = None
    payload: object = None
    supersedable: bool = False
    """A newer task of its kind replaces it (the next window's detection): dropped, counted,
    when the processor cannot start it before its deadline, instead of run late and
    pushing every later task back."""
    prefer_reduced: bool = False
    """Run the reduced variant whatever the battery (a learned policy chose it)."""


class Outcome(StrEnum):
    RUN = "run"
    RUN_REDUCED = "run_reduced"
    DEFER_ENERGY = "defer_energy"
    DEFER_NETWORK = "defer_network"
    DROPPED = "dropped"


class Constraints(NamedTuple):
    battery_soc: float
    latency_ms: float
    bandwidth_kbps: float


@dataclass(slots=True, frozen=True)
class SchedulerConfig:
    battery_threshold: float = 0.2
    latency_threshold_ms: float = 200.0
    min_bandwidth_kbps: float = 100.0
    max_deferred: int = 256
    """Per deferral queue; on overflow the least urgent waiting task is dropped, counted."""
    constraint_aware: bool = True
    defer_critical_on_network: bool = False
    """DESIGN.md defers any network task on a bad link; a critical alert gains nothing from
    waiting (the transport already queues it) and loses its deadline, so by default it is
    sent at once. Set True for the letter of the paper's Algorithm 1."""


class TaskDecision(NamedTuple):
    task: Task
    outcome: Outcome
    start: float
    finish: float
    energy_j: float
    missed_deadline: bool


@dataclass(slots=True)
class SchedulerStats:
    submitted: int = 0
    run: int = 0
    run_reduced: int = 0
    deferred_energy: int = 0
    deferred_network: int = 0
    readmitted: int = 0
    dropped: int = 0
    deadline_missed: int = 0
    energy_j: float = 0.0
    submitted_by_priority: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    missed_by_priority: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    dropped_by_priority: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    @property
    def critical_total(self) -> int:
        return self.submitted_by_priority[Priority.CRITICAL]

    @property
    def critical_missed(self) -> int:
        """Critical tasks finished after their deadline or dropped."""
        c = Priority.CRITICAL
        return self.missed_by_priority[c] + self.dropped_by_priority[c]


_Entry = tuple[int, float, int, Task]


class Scheduler:
    """One processor, three queues (ready, low-energy, network), deterministic order."""

    def __init__(self, config: SchedulerConfig) -> None:
        self.config = config
        self.busy_until = float("-inf")
        self.stats = SchedulerStats()
        self._ready: list[_Entry] = []
        self._energy_q: list[_Entry] = []
        self._network_q: list[_Entry] = []
        self._order = itertools.count()

    def pending(self) -> int:
        return len(self._ready) + len(self._energy_q) + len(self._network_q)

    def submit(self, task: Task) -> None:
        s = self.stats
        s.submitted += 1
        s.submitted_by_priority[task.priority] += 1
        heapq.heappush(self._ready, self._key(task))

    def _key(self, task: Task) -> _Entry:
        n = next(self._order)
        if self.config.constraint_aware:
            return (int(task.priority), task.deadline, n, task)
        return (0, 0.0, n, task)  # FIFO: arrival order only

    def step(self, now: float, constraints: Constraints) -> list[TaskDecision]:
        out: list[TaskDecision] = []
        if not (self._ready or self._energy_q or self._network_q):
            return out  # nothing to readmit, expire or run: a node's usual last round
        cfg = self.config
        if cfg.constraint_aware:
            self._readmit(now, constraints)
        self._expire(now, out)
        low_battery = constraints.battery_soc < cfg.battery_threshold
        bad_link = (
            constraints.latency_ms > cfg.latency_threshold_ms
            or constraints.bandwidth_kbps < cfg.min_bandwidth_kbps
        )
        while self._ready:
            entry = heapq.heappop(self._ready)
            task = entry[3]
            if now > task.deadline or (
                task.supersedable and max(now, self.busy_until) >= task.deadline
            ):
                self._drop(task, now, out)
                continue
            if cfg.constraint_aware:
                critical = task.priority is Priority.CRITICAL
                if low_battery and not critical:
                    self._defer(self._energy_q, entry, Outcome.DEFER_ENERGY, now, out)
                    continue
                if (
                    task.needs_network
                    and bad_link
                    and (not critical or cfg.defer_critical_on_network)
                ):
                    self._defer(self._network_q, entry, Outcome.DEFER_NETWORK, now, out)
                    continue
                reduced = (
                    low_battery or task.prefer_reduced
                ) and task.reduced_duration_s is not None
            else:
                reduced = False
            out.append(self._execute(task, now, reduced))
        return out

    # -- internals ----------------------------------------------------------------------

    def _execute(self, task: Task, now: float, reduced: bool) -> TaskDecision:
        s = self.stats
        start = max(now, self.busy_until)
        if reduced and task.reduced_duration_s is not None:
            duration = task.reduced_duration_s
            energy = task.reduced_energy_j if task.reduced_energy_j is not None else task.energy_j
            outcome = Outcome.RUN_REDUCED
            s.run_reduced += 1
        else:
            duration, energy, outcome = task.duration_s, task.energy_j, Outcome.RUN
            s.run += 1
        finish = start + duration
        self.busy_until = finish
        missed = finish > task.deadline
        if missed:
            s.deadline_missed += 1
            s.missed_by_priority[task.priority] += 1
        s.energy_j += energy
        return TaskDecision(task, outcome, start, finish, energy, missed)

    def _defer(
        self,
        queue: list[_Entry],
        entry: _Entry,
        outcome: Outcome,
        now: float,
        out: list[TaskDecision],
    ) -> None:
        s = self.stats
        if outcome is Outcome.DEFER_ENERGY:
            s.deferred_energy += 1
        else:
            s.deferred_network += 1
        heapq.heappush(queue, entry)
        out.append(TaskDecision(entry[3], outcome, now, now, 0.0, False))
        if len(queue) > self.config.max_deferred:
            # Evict the least urgent: the largest key.
            worst = max(range(len(queue)), key=lambda i: queue[i][:3])
            victim = queue.pop(worst)
            heapq.heapify(queue)
            self._drop(victim[3], now, out)

    def _drop(self, task: Task, now: float, out: list[TaskDecision]) -> None:
        s = self.stats
        s.dropped += 1
        s.dropped_by_priority[task.priority] += 1
        out.append(TaskDecision(task, Outcome.DROPPED, now, now, 0.0, True))

    def _readmit(self, now: float, c: Constraints) -> None:
        cfg = self.config
        if c.battery_soc >= cfg.battery_threshold:
            self._move_all(self._energy_q)
        if c.latency_ms <= cfg.latency_threshold_ms and c.bandwidth_kbps >= cfg.min_bandwidth_kbps:
            self._move_all(self._network_q)

    def _move_all(self, queue: list[_Entry]) -> None:
        while queue:
            self.stats.readmitted += 1
            heapq.heappush(self._ready, heapq.heappop(queue))

    def _expire(self, now: float, out: list[TaskDecision]) -> None:
        for queue in (self._energy_q, self._network_q):
            if not queue:
                continue
            alive = [e for e in queue if e[3].deadline >= now]
            if len(alive) != len(queue):
                for e in queue:
                    if e[3].deadline < now:
                        self._drop(e[3], now, out)
                queue[:] = alive
                heapq.heapify(queue)
