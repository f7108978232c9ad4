"""The scheduler and kojid rules the engine relies on (koji 1.35.3, kojihub/scheduler.py and
koji/daemon.py), one rule per test."""

from kojistack.sim.koji_model import (
    ASSIGN_TIMEOUT_S,
    ASSIGNED,
    FREE,
    FREE_TASK_LIMIT,
    OPEN,
    RUN_INTERVAL_S,
    Host,
    Hub,
    Task,
)


def _hub(capacity=8.0, maxjobs=10, arches=("x86_64",)):
    hub = Hub()
    host = Host("x86-64-01", frozenset(arches), frozenset({"default"}), capacity, maxjobs, ready=True, update_ts=0.0)
    hub.hosts[host.name] = host
    return hub, host


def _task(i, arch="x86_64", priority=20, weight=1.5, channel="default"):
    return Task(i, "buildArch", arch, channel, priority, 60.0, weight)


def test_the_scheduler_runs_at_most_once_per_run_interval():
    hub, _ = _hub()
    assert hub.run_scheduler(100.0)
    assert not hub.run_scheduler(100.0 + RUN_INTERVAL_S - 1)
    assert hub.run_scheduler(100.0 + RUN_INTERVAL_S)
    assert hub.runs == 2


def test_a_forced_run_leaves_the_run_interval_clock_alone():
    # scheduler.doRun(force=True) calls TaskScheduler.run(force=True), which skips check_ts, the only
    # writer of last_run_ts (koji 1.35.3 kojihub/scheduler.py 281-335); the fake hub's doRun agrees
    # (tests/fakes/kojihub.py m_scheduler_doRun records only unforced runs)
    hub, _ = _hub()
    assert hub.run_scheduler(100.0)
    assert hub.run_scheduler(130.0, force=True)
    assert hub.run_scheduler(100.0 + RUN_INTERVAL_S), "a forced run pushed the next regular run back"
    assert hub.runs == 3


def test_a_host_is_filled_while_capacity_minus_load_is_positive():
    hub, host = _hub(capacity=2.0)
    for i in range(4):
        hub.create(_task(i), 0.0)
    hub.run_scheduler(0.0)                      # FREE tasks weigh 1.0: loads 0 and 1 leave room, 2 does not
    assert [t.state for t in hub.tasks.values()] == [ASSIGNED, ASSIGNED, FREE, FREE]


def test_kojid_opens_tasks_while_its_load_is_within_capacity():
    hub, host = _hub(capacity=2.0)
    for i in range(2):
        hub.create(_task(i, weight=2.5), 0.0)
    hub.poll(host, 1.0)                         # runs the scheduler (both assigned at weight 1.0), then
    assert [t.state for t in hub.tasks.values()] == [OPEN, ASSIGNED]   # opens one: load 2.5 > 2, not ready
    assert host.load() == 2.5 and not host.ready


def test_maxjobs_bounds_tasks_per_host_and_waiting_parents_count():
    hub, host = _hub(maxjobs=1)
    parent = _task(1)
    hub.create(parent, 0.0)
    hub.poll(host, 0.0)
    hub.set_waiting(parent, True)               # weighs nothing, still holds the slot
    hub.create(_task(2), 1.0)
    hub.poll(host, RUN_INTERVAL_S + 1)
    assert host.load() == 0.0 and hub.tasks[2].state == FREE


def test_children_go_before_older_parents_and_only_1000_free_tasks_are_looked_at():
    hub, host = _hub(capacity=3.0)
    for i in range(FREE_TASK_LIMIT):
        hub.create(_task(i, arch="ppc64le"), float(i))      # nobody serves these
    host.update_ts = 2000.0                                  # checked in recently: ready
    late_child = _task(5000, priority=19)
    late = _task(5001)
    hub.create(late, 2000.0)
    hub.create(late_child, 2001.0)
    hub.run_scheduler(2002.0)
    assert late_child.state == ASSIGNED                      # priority 19 sorts first
    assert late.state == FREE                                # beyond the first 1,000 FREE tasks


def test_an_assignment_not_taken_is_freed_after_the_timeout_with_a_soft_refusal():
    hub, host = _hub(capacity=2.0)
    t = _task(1)
    hub.create(t, 0.0)
    hub.run_scheduler(0.0)
    host.update_ts = 10.0                       # the host checked in but did not open it
    hub.run_scheduler(ASSIGN_TIMEOUT_S + 1)
    assert t.state == FREE and t.refused == {host.name: ASSIGN_TIMEOUT_S + 1}
    hub.run_scheduler(2 * ASSIGN_TIMEOUT_S)     # the refusal keeps it off this host for a while
    assert t.state == FREE


def test_a_freed_task_keeps_the_weight_kojid_gave_it():
    """The hub's Task.free sets only state and host (koji 1.35.3 kojihub.py 322-343), so a task
    freed after kojid opened it (a lost builder, freeTask) is placed again at the weight kojid's
    handler set, not at a new task's 1.0 (the controller's observation relies on the same:
    kojiport.observe reads the FREE tasks that ever started for their weight)."""
    hub, host = _hub(capacity=8.0)
    t = _task(1, weight=2.5)
    hub.create(t, 0.0)
    assert t.weight == 1.0                      # a new task: schema.sql task.weight DEFAULT 1.0
    hub.run_scheduler(0.0)
    hub.poll(host, 15.0)
    assert t.state == OPEN and t.weight == 2.5
    hub.free_task(t, 30.0)
    assert t.state == FREE and t.weight == 2.5 and t.restarts == 1
