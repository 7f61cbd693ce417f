"""Algorithm 1 on constructed inputs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edgeqi.scheduling import (
    Constraints,
    Outcome,
    Priority,
    Scheduler,
    SchedulerConfig,
    Task,
)

GOOD = Constraints(battery_soc=0.8, latency_ms=20.0, bandwidth_kbps=5000.0)
LOW_BATTERY = Constraints(battery_soc=0.1, latency_ms=20.0, bandwidth_kbps=5000.0)
SLOW_LINK = Constraints(battery_soc=0.8, latency_ms=900.0, bandwidth_kbps=5000.0)


def task(
    name: str, priority: Priority, deadline: float = 10.0, network: bool = False, **kw: float
) -> Task:
    return Task(
        name=name,
        priority=priority,
        created_at=0.0,
        deadline=deadline,
        duration_s=kw.get("duration", 0.1),
        energy_j=kw.get("energy", 0.5),
        needs_network=network,
        reduced_duration_s=kw.get("reduced", 0.05),
        reduced_energy_j=kw.get("reduced_energy", 0.2),
    )


def test_most_urgent_runs_first() -> None:
    s = Scheduler(SchedulerConfig())
    s.submit(task("low", Priority.LOW))
    s.submit(task("crit_late", Priority.CRITICAL, deadline=9.0))
    s.submit(task("crit_soon", Priority.CRITICAL, deadline=1.0))
    s.submit(task("normal", Priority.NORMAL))
    order = [d.task.name for d in s.step(0.0, GOOD)]
    assert order == ["crit_soon", "crit_late", "normal", "low"]


def test_runs_are_sequential_on_one_processor() -> None:
    s = Scheduler(SchedulerConfig())
    for k in range(3):
        s.submit(task(f"t{k}", Priority.NORMAL, duration=0.5))
    ds = s.step(2.0, GOOD)
    assert [(d.start, d.finish) for d in ds] == [(2.0, 2.5), (2.5, 3.0), (3.0, 3.5)]
    assert s.busy_until == 3.5


def test_low_battery_runs_critical_reduced_and_defers_the_rest() -> None:
    s = Scheduler(SchedulerConfig(battery_threshold=0.2))
    s.submit(task("detect", Priority.CRITICAL))
    s.submit(task("upload", Priority.NORMAL, deadline=100.0))
    ds = {d.task.name: d for d in s.step(0.0, LOW_BATTERY)}
    assert ds["detect"].outcome is Outcome.RUN_REDUCED
    assert ds["detect"].energy_j == 0.2
    assert ds["detect"].finish == 0.05
    assert ds["upload"].outcome is Outcome.DEFER_ENERGY
    assert s.pending() == 1
    # Battery recovers: the deferred task is re-admitted and runs at full precision.
    again = s.step(5.0, GOOD)
    assert [(d.task.name, d.outcome) for d in again] == [("upload", Outcome.RUN)]
    assert s.stats.readmitted == 1


def test_deferred_task_dropped_and_counted_when_deadline_passes() -> None:
    s = Scheduler(SchedulerConfig())
    s.submit(task("upload", Priority.HIGH, deadline=3.0))
    assert s.step(0.0, LOW_BATTERY)[0].outcome is Outcome.DEFER_ENERGY
    ds = s.step(4.0, LOW_BATTERY)
    assert [d.outcome for d in ds] == [Outcome.DROPPED]
    assert s.stats.dropped == 1
    assert s.pending() == 0


def test_slow_link_defers_network_work_only() -> None:
    s = Scheduler(SchedulerConfig(latency_threshold_ms=200.0))
    s.submit(task("send", Priority.NORMAL, network=True))
    s.submit(task("compute", Priority.NORMAL))
    ds = {d.task.name: d.outcome for d in s.step(0.0, SLOW_LINK)}
    assert ds == {"send": Outcome.DEFER_NETWORK, "compute": Outcome.RUN}
    assert [d.task.name for d in s.step(1.0, GOOD)] == ["send"]


def test_thin_link_defers_network_work() -> None:
    s = Scheduler(SchedulerConfig(min_bandwidth_kbps=100.0))
    s.submit(task("send", Priority.HIGH, network=True))
    thin = Constraints(battery_soc=0.9, latency_ms=10.0, bandwidth_kbps=50.0)
    assert s.step(0.0, thin)[0].outcome is Outcome.DEFER_NETWORK


def test_critical_alert_is_not_held_back_by_a_slow_link_unless_configured() -> None:
    s = Scheduler(SchedulerConfig())
    s.submit(task("alert", Priority.CRITICAL, network=True))
    assert s.step(0.0, SLOW_LINK)[0].outcome is Outcome.RUN
    strict = Scheduler(SchedulerConfig(defer_critical_on_network=True))
    strict.submit(task("alert", Priority.CRITICAL, network=True))
    assert strict.step(0.0, SLOW_LINK)[0].outcome is Outcome.DEFER_NETWORK


def test_fifo_ignores_constraints_and_priority() -> None:
    s = Scheduler(SchedulerConfig(constraint_aware=False))
    s.submit(task("low", Priority.LOW, network=True))
    s.submit(task("crit", Priority.CRITICAL))
    ds = s.step(0.0, Constraints(battery_soc=0.05, latency_ms=900.0, bandwidth_kbps=1.0))
    assert [(d.task.name, d.outcome) for d in ds] == [("low", Outcome.RUN), ("crit", Outcome.RUN)]


def test_fifo_misses_a_critical_deadline_that_priority_order_meets() -> None:
    def load(s: Scheduler) -> None:
        s.submit(task("bulk", Priority.LOW, deadline=60.0, duration=1.5))
        s.submit(task("detect", Priority.CRITICAL, deadline=1.0, duration=0.2))

    fifo, aware = Scheduler(SchedulerConfig(constraint_aware=False)), Scheduler(SchedulerConfig())
    load(fifo)
    load(aware)
    fifo.step(0.0, GOOD)
    aware.step(0.0, GOOD)
    assert fifo.stats.critical_missed == 1
    assert aware.stats.critical_missed == 0


def test_queue_overflow_drops_least_urgent() -> None:
    s = Scheduler(SchedulerConfig(max_deferred=2))
    s.submit(task("a", Priority.HIGH, deadline=50.0))
    s.submit(task("b", Priority.LOW, deadline=50.0))
    s.submit(task("c", Priority.NORMAL, deadline=50.0))
    ds = s.step(0.0, LOW_BATTERY)
    dropped = [d.task.name for d in ds if d.outcome is Outcome.DROPPED]
    assert dropped == ["b"]
    assert s.pending() == 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(Priority)),
            st.floats(0.0, 20.0),
            st.booleans(),
            st.floats(0.0, 1.0),
            st.floats(0.0, 1000.0),
        ),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_every_task_ends_exactly_once(
    specs: list[tuple[Priority, float, bool, float, float]], aware: bool
) -> None:
    s = Scheduler(SchedulerConfig(constraint_aware=aware, max_deferred=8))
    ended: dict[int, int] = {}
    now = 0.0
    tasks = []
    for k, (prio, deadline, net, soc, latency) in enumerate(specs):
        t = task(str(k), prio, deadline=deadline, network=net)
        tasks.append(t)
        s.submit(t)
        for d in s.step(now, Constraints(soc, latency, 1000.0)):
            if d.outcome in (Outcome.RUN, Outcome.RUN_REDUCED, Outcome.DROPPED):
                ended[id(d.task)] = ended.get(id(d.task), 0) + 1
        now += 0.5
    for d in s.step(1e6, GOOD):  # far past every deadline: all that waits is dropped
        ended[id(d.task)] = ended.get(id(d.task), 0) + 1
    assert s.pending() == 0
    assert all(ended.get(id(t)) == 1 for t in tasks)
    st_ = s.stats
    assert st_.run + st_.run_reduced + st_.dropped == st_.submitted == len(tasks)


def test_supersedable_task_that_cannot_start_in_time_is_dropped_not_run_late() -> None:
    s = Scheduler(SchedulerConfig())
    ok = Constraints(0.9, 10.0, 5000.0)

    def detect(at: float, late_ok: bool = False) -> Task:
        return Task("detect", Priority.CRITICAL, at, at + 2.0, 3.0, 1.0, supersedable=not late_ok)

    outcomes = []
    for at in (0.0, 2.0, 4.0):
        s.submit(detect(at))
        outcomes += [(d.outcome, d.missed_deadline) for d in s.step(at, ok)]
    # 0: runs to 3.0 (late); 2: starts at 3.0 < 4.0, runs to 6.0 (late); 4: cannot start
    # before its deadline 6.0: dropped, and the processor's backlog stops growing.
    assert outcomes == [(Outcome.RUN, True), (Outcome.RUN, True), (Outcome.DROPPED, True)]
    assert s.busy_until == 6.0 and s.stats.critical_missed == 3
    s.submit(detect(5.0, late_ok=True))
    assert [d.outcome for d in s.step(5.0, ok)] == [Outcome.RUN], "other work still runs late"
