"""Decision-table tests for kojistack.controller.decide: one table per rule of issue 4."""

from collections.abc import Iterable
from dataclasses import replace

import pytest

from kojistack import names
from kojistack.controller import decide as d
from kojistack.controller.decide import (
    ASSIGNED,
    FREE,
    IN_SERVICE,
    OPEN,
    PENDING_WAIT,
    TERMINATING_WAIT,
    Group,
    Host,
    Instance,
    Observed,
    Task,
)
from support.channels import policy

NOW = 1_800_000_000.0
POLICY = policy(idle_seconds=600, drain_limit_seconds=3600)
#: Koji's fill rule alone: no spare room, FREE tasks at the hub's 1.0
FILL_ONLY = replace(POLICY, spare_tasks=0, spare_fraction=0.0, queued_task_weight=1.0)


def group(arch: str = "x86_64", lo: int = 0, hi: int = 10, desired: int = 0, cap: float = 4.0) -> Group:
    return Group(f"s-builders-{arch}", arch, lo, hi, desired, cap)


def inst(n: int, arch: str = "x86_64", lifecycle: str = IN_SERVICE, **kw) -> Instance:
    slot = kw.pop("slot", d.slot_name(arch, n))
    return Instance(id=f"i-{arch[:3]}{n:03d}", arch=arch, lifecycle=lifecycle,
                    launched_at=kw.pop("launched_at", NOW - 7200), slot=slot, vcpus=4, **kw)


def host(name: str, enabled: bool = True, last: float | None = NOW - 3600) -> Host:
    return Host(name=name, enabled=enabled, ready=True, capacity=4.0, last_task_end=last)


def task(i: int, arch: str = "x86_64", state: int = FREE, weight: float = 1.0, host_name: str | None = None,
         channel: str = "default", method: str = "buildArch", waiting: bool = False) -> Task:
    return Task(i, method, arch, channel, state, weight, host_name, waiting)


def obs(tasks: Iterable[Task] = (), hosts: Iterable[Host] = (), instances: Iterable[Instance] = (),
        groups: Iterable[Group] = (group(),)) -> Observed:
    return Observed(NOW, tuple(tasks), tuple(hosts), tuple(instances), tuple(groups))


# --- demand -------------------------------------------------------------------------------------

@pytest.mark.parametrize("tasks,expected_target,why", [
    ([], 0, "empty queue wants nothing"),
    ([task(1)], 1, "one task, one builder"),
    ([task(i) for i in range(4)], 1, "weights sum to one builder's capacity"),
    ([task(i) for i in range(5)], 2, "one over capacity needs a second builder"),
    ([task(i, weight=2.5) for i in range(3)], 2, "weights: a builder takes tasks while below capacity (2.5 + 2.5)"),
    ([task(1, weight=3.0), task(2, weight=6.5)], 2, "a task above CapacityOvercommit needs that much room"),
    ([task(i, state=OPEN, host_name=f"x86-64-0{1 + i % 2}") for i in range(6)], 2, "running tasks count too"),

    ([task(i, state=ASSIGNED, host_name="x86-64-01") for i in range(3)] + [task(9)], 1, "assigned + free"),
    ([task(1, waiting=True, weight=5.0, state=OPEN, host_name="x86-64-01")], 0, "a waiting parent weighs 0"),
    ([task(1, channel="light", method="build")], 0, "light channel is the hub's"),
    ([task(1, channel="createrepo", arch="noarch", method="createrepo")], 0, "createrepo channel is the hub's"),
    ([task(i) for i in range(100)], 10, "clamped to max"),
])
def test_demand_target(tasks, expected_target, why):
    targets, _ = d.demand(obs(tasks), FILL_ONLY)
    assert targets["x86_64"].target == expected_target, why


def test_demand_min_size_and_headroom():
    targets, _ = d.demand(obs(groups=[group(lo=2)]), POLICY)
    assert targets["x86_64"].target == 2
    targets, _ = d.demand(obs([task(1)]), replace(POLICY, headroom_weight=4.0))
    assert targets["x86_64"].target == 2  # 1 + 4 over 4 per builder


def test_noarch_counted_once_on_primary_arch_without_spare_capacity():
    groups = [group("x86_64"), group("aarch64")]
    targets, unservable = d.demand(obs([task(1, arch="noarch")], groups=groups), POLICY)
    assert (targets["x86_64"].target, targets["aarch64"].target) == (1, 0)
    assert unservable == {}


def test_noarch_goes_where_capacity_is_idle():
    groups = [group("x86_64"), group("aarch64", desired=1)]
    state = obs([task(1, arch="noarch")], hosts=[host("aarch64-01")], instances=[inst(1, "aarch64")], groups=groups)
    targets, _ = d.demand(state, POLICY)
    assert (targets["x86_64"].queued_weight, targets["aarch64"].queued_weight) == (0.0, 1.5)
    assert (targets["x86_64"].target, targets["aarch64"].target) == (0, 1)


def test_unservable_arch_is_a_metric_not_scale_out():
    targets, unservable = d.demand(obs([task(1, arch="ppc64le", weight=2.0)]), POLICY)
    assert targets["x86_64"].target == 0
    assert unservable == {"ppc64le": 2.0}
    p = d.plan(obs([task(1, arch="ppc64le", weight=2.0)]), POLICY)
    assert d.Metric("UnservableTaskWeight", "ppc64le", 2.0, "None") in p.metrics
    assert p.desired == {}


def test_channel_nobody_serves_is_unservable():
    targets, unservable = d.demand(obs([task(1, channel="image", arch="x86_64", weight=2.0)]), POLICY)
    assert targets["x86_64"].target == 0 and unservable == {"x86_64": 2.0}


def test_burst_scales_out_at_once():
    state = obs([task(i) for i in range(12)], groups=[group(desired=0)])
    assert d.plan(state, FILL_ONLY).desired == {"x86_64": 3}
    # as shipped: each FREE task will weigh at least 1.5 (three per builder of 4), and room for two more
    assert d.plan(state, POLICY).desired == {"x86_64": 5}


# --- issue 14 item 7: size the fleet as Koji fills it ---------------------------------------------

def _full_builders(n: int, per: int, weight: float, cap: float = 8.0):
    insts = [inst(i) for i in range(1, n + 1)]
    hosts = [host(i.slot, last=NOW - 10) for i in insts]
    tasks = [task(100 * k + j, state=OPEN, weight=weight, host_name=i.slot)
             for k, i in enumerate(insts, 1) for j in range(per)]
    return tasks, hosts, insts, [group(hi=50, desired=n, cap=cap)]


def test_builders_are_counted_as_koji_fills_them():
    """Koji's scheduler gives a host a task while capacity - load > 0 (CapacityOvercommit 5), so a
    full builder of capacity 8 runs six buildArch tasks of 1.5 (load 9). Ten such builders need
    no eleventh and twelfth for their own work (weight / capacity said 12); one more is the room
    kept for two more tasks."""
    tasks, hosts, insts, groups = _full_builders(10, 6, 1.5)
    targets, _ = d.demand(obs(tasks, hosts, insts, groups), POLICY)
    assert targets["x86_64"].target == 11


def test_a_free_task_counts_as_what_kojid_will_make_it():
    """The hub shows a new task at weight 1.0; kojid's buildArch handler makes it 1.5 and more when
    it opens: eight queued tasks need two builders of capacity 8 (six of 1.5 fill one), not one."""
    targets, _ = d.demand(obs([task(i) for i in range(8)], groups=[group(cap=8.0)]), POLICY)
    assert targets["x86_64"].target == 2


def test_a_busy_arch_keeps_room_for_more_tasks():
    """A builder at exactly its capacity takes nothing more; while the arch has work, the next
    builds should not wait for a boot: room for at least `spare_tasks` (2) more tasks of 1.5, here
    one more builder. A builder with room for both needs none; an arch without work keeps nothing."""
    tasks, hosts, insts, groups = _full_builders(1, 5, 1.6)             # load 8.0 of 8
    assert d.demand(obs(tasks, hosts, insts, groups), POLICY)[0]["x86_64"].target == 2
    tasks, hosts, insts, groups = _full_builders(1, 4, 1.6)             # load 6.4: room for one more
    assert d.demand(obs(tasks, hosts, insts, groups), POLICY)[0]["x86_64"].target == 1
    assert d.demand(obs([], hosts, insts, groups), POLICY)[0]["x86_64"].target == 0


def test_the_room_kept_grows_with_the_work():
    """Builds arrive in proportion to the work in flight, so the room kept for them does: at least
    two tasks, and `spare_fraction` (5 %) of the arch's queued and running tasks. Six queued tasks
    of 1.5 fill a builder of 8: four need one builder (room for two more), a hundred need 17 and
    room for five more tasks, an 18th builder (a fixed room of two would keep 17)."""
    def target(n: int) -> int:
        tasks = [task(i) for i in range(n)]
        return d.demand(obs(tasks, groups=[group(cap=8.0, hi=50)]), POLICY)[0]["x86_64"].target
    assert d.spare_room(4, POLICY) == 2 and d.spare_room(40, POLICY) == 2 and d.spare_room(100, POLICY) == 5
    assert target(4) == 1
    assert target(5) == 2
    assert target(100) == 18


@pytest.mark.parametrize("work,policy_room,group_room,expected,why", [
    ("full", 2, None, 2, "no group room: the policy's two tasks, one more builder"),
    ("full", 2, 2, 2, "the group's room of two (BuilderSpareTasks as shipped): one more builder"),
    ("full", 2, 0, 1, "the group's room of 0 overrides the policy's: no builder kept for arrivals"),
    ("full", 0, 2, 2, "the group's room of 2 overrides the policy's 0"),
    ("full", 2, 6, 2, "room for six tasks of 1.5 fills one more builder of 8"),
    ("full", 2, 7, 3, "the seventh needs a third"),
    ("partly full", 0, 2, 1, "a builder at 6.4 of 8 takes two more tasks of 1.5 (Koji overcommits the last)"),
    ("partly full", 2, 3, 2, "but not three: a room of three needs a second builder"),
    ("none", 2, 8, 0, "an arch without work keeps no room, whatever the group's"),
    ("100 queued", 2, None, 18, "at scale the fraction's room: 5 % of 100, five tasks, an 18th builder"),
    ("100 queued", 2, 1, 18, "a room of one: the fraction's all the same"),
    ("100 queued", 2, 8, 18, "a room above the fraction's, eight tasks: two on the 17th builder, six on an 18th"),
    ("100 queued", 2, 0, 17, "a room of 0 keeps none, the fraction's neither: Koji's fill alone"),
])
def test_the_group_sets_the_room_kept(work, policy_room, group_room, expected, why):
    """Issue 14, item 7: the room kept for arriving builds is the builder group's (its tag
    names.TAG_SPARE_TASKS, the BuilderSpareTasks parameter) when set, else the policy's. The same
    work gets a different target for a different room; 0 keeps none at all (the fraction, rounded
    up, would otherwise keep a task of room for any work, and make 0 the same as 1)."""
    if work == "100 queued":
        tasks, hosts, insts, groups = [task(i) for i in range(100)], [], [], [group(cap=8.0, hi=50)]
    else:
        tasks, hosts, insts, groups = _full_builders(1, 4 if work == "partly full" else 5, 1.6)
        tasks = [] if work == "none" else tasks
    groups = [replace(g, spare_tasks=group_room) for g in groups]
    targets, _ = d.demand(obs(tasks, hosts, insts, groups), replace(POLICY, spare_tasks=policy_room))
    assert targets["x86_64"].target == expected, why


# --- scale-in -----------------------------------------------------------------------------------

def test_empty_queue_drains_idle_builders_but_not_busy_ones():
    instances = [inst(1), inst(2), inst(3)]
    hosts = [host("x86-64-01"), host("x86-64-02"), host("x86-64-03")]
    tasks = [task(7, state=OPEN, host_name="x86-64-02")]
    p = d.plan(obs(tasks, hosts, instances, [group(desired=3)]), POLICY)
    drained = {i.slot for i in p.start_drain}
    assert drained == {"x86-64-01", "x86-64-03"}
    assert "x86-64-02" not in p.disable_hosts
    assert p.desired == {}  # scale-in only through terminations with a decrement


@pytest.mark.parametrize("last_end,launched,drained", [
    (NOW - 599, NOW - 7200, False),  # a task ended less than idle time ago
    (NOW - 601, NOW - 7200, True),
    (None, NOW - 300, False),  # a new builder that never ran a task gets the idle time too
    (None, NOW - 900, True),
])
def test_idle_time(last_end, launched, drained):
    state = obs(hosts=[host("x86-64-01", last=last_end)], instances=[inst(1, launched_at=launched)],
                groups=[group(desired=1)])
    assert bool(d.plan(state, POLICY).start_drain) is drained


def test_out_of_date_builders_retire_first():
    instances = [inst(1), inst(2, up_to_date=False), inst(3)]
    hosts = [host("x86-64-01", last=NOW - 5000), host("x86-64-02", last=NOW - 700), host("x86-64-03", last=NOW - 4000)]
    tasks = [task(i) for i in range(8)]  # target 2 of 3 -> surplus 1
    p = d.plan(obs(tasks, hosts, instances, [group(desired=3)]), POLICY)
    assert [i.slot for i in p.start_drain] == ["x86-64-02"]


def test_idle_out_of_date_builder_is_retired_even_without_surplus():
    state = obs([task(i) for i in range(4)], [host("x86-64-01")], [inst(1, up_to_date=False)], [group(desired=1)])
    assert [i.slot for i in d.plan(state, POLICY).start_drain] == ["x86-64-01"]


def test_min_size_is_kept():
    state = obs(hosts=[host("x86-64-01")], instances=[inst(1)], groups=[group(lo=1, desired=1)])
    assert d.plan(state, POLICY).start_drain == ()


def test_draining_builder_is_disabled_then_terminated_when_empty_with_decrement():
    draining = inst(1, drain_started=NOW - 30)
    p = d.plan(obs(hosts=[host("x86-64-01")], instances=[draining], groups=[group(desired=1)]), POLICY)
    assert p.disable_hosts == ("x86-64-01",) and p.terminate == ()
    p = d.plan(obs(hosts=[host("x86-64-01", enabled=False)], instances=[draining], groups=[group(desired=1)]), POLICY)
    assert p.terminate == (d.Termination(draining.id, "x86-64-01", True),)
    assert p.desired == {}


def test_draining_builder_that_caught_a_task_waits():
    draining = inst(1, drain_started=NOW - 30)
    state = obs([task(1, state=OPEN, host_name="x86-64-01")], [host("x86-64-01", enabled=False)], [draining],
                [group(desired=1)])
    p = d.plan(state, POLICY)
    assert p.terminate == () and p.free_tasks == ()


def test_restart_mid_drain_finishes_from_tags_alone():
    """A new controller sees only the drain tag and the disabled host, and terminates."""
    state = obs(hosts=[host("x86-64-01", enabled=False)], instances=[inst(1, drain_started=NOW - 9999)],
                groups=[group(desired=1)])
    assert [t.instance_id for t in d.plan(state, POLICY).terminate] == ["i-x86001"]


def test_max_zero_drains_everything_busy_ones_after_their_tasks():
    instances = [inst(1), inst(2)]
    hosts = [host("x86-64-01", last=NOW), host("x86-64-02", last=NOW)]
    tasks = [task(1, state=OPEN, host_name="x86-64-02")]
    p = d.plan(obs(tasks, hosts, instances, [group(lo=0, hi=0, desired=0)]), POLICY)
    assert {i.slot for i in p.start_drain} == {"x86-64-01", "x86-64-02"}
    # next loop: both disabled and tagged; only the empty one is terminated, without decrement
    instances = [replace(i, drain_started=NOW) for i in instances]
    hosts = [replace(h, enabled=False) for h in hosts]
    p = d.plan(obs(tasks, hosts, instances, [group(lo=0, hi=0, desired=0)]), POLICY)
    assert p.terminate == (d.Termination("i-x86001", "x86-64-01", False),)


# --- terminate hook -----------------------------------------------------------------------------

@pytest.mark.parametrize("tasks,started,ec2_state,expect", [
    ([], NOW - 10, "running", "complete"),
    ([task(1, state=OPEN, host_name="x86-64-01")], NOW - 10, "running", "heartbeat"),
    ([task(1, state=OPEN, host_name="x86-64-01")], NOW - 3601, "running", "complete"),  # drain limit
    ([task(1, state=OPEN, host_name="x86-64-01")], NOW - 10, "shutting-down", "complete"),  # machine gone
])
def test_terminate_hook(tasks, started, ec2_state, expect):
    i = inst(1, lifecycle=TERMINATING_WAIT, drain_started=started, ec2_state=ec2_state)
    p = d.plan(obs(tasks, [host("x86-64-01", enabled=False)], [i], [group(desired=0)]), POLICY)
    assert (i.id in p.complete_terminate, i.id in p.heartbeat) == (expect == "complete", expect == "heartbeat")


def test_terminate_hook_first_sight_tags_and_disables():
    i = inst(1, lifecycle=TERMINATING_WAIT)
    p = d.plan(obs([task(1, state=OPEN, host_name="x86-64-01")], [host("x86-64-01")], [i], [group()]), POLICY)
    assert p.start_drain == (i,) and "x86-64-01" in p.disable_hosts and p.heartbeat == (i.id,)


# --- repair -------------------------------------------------------------------------------------

def test_vanished_instance_tasks_are_freed_and_host_disabled():
    tasks = [task(1, state=OPEN, host_name="x86-64-01"), task(2, state=ASSIGNED, host_name="x86-64-01"),
             task(3, state=OPEN, host_name="x86-64-02")]
    hosts = [host("x86-64-01"), host("x86-64-02"), host(names.HUB_HOST)]
    tasks.append(task(4, state=OPEN, host_name=names.HUB_HOST, channel="light"))
    p = d.plan(obs(tasks, hosts, [inst(2)], [group(desired=1)]), POLICY)
    assert p.free_tasks == (1, 2)
    assert "x86-64-01" in p.disable_hosts and names.HUB_HOST not in p.disable_hosts


def test_dead_machine_still_in_service_is_repaired():
    p = d.plan(obs([task(1, state=OPEN, host_name="x86-64-01")], [host("x86-64-01")],
                   [inst(1, ec2_state="terminated")], [group(desired=1)]), POLICY)
    assert p.free_tasks == (1,)


def test_a_disabled_builder_s_assigned_tasks_are_freed_its_open_ones_run_on():
    """koji 1.35.3: kojid on a disabled host never opens an ASSIGNED task (koji/daemon.py
    readyForTask, "Host is disabled") and the scheduler never reclaims it (kojihub/scheduler.py
    check_active_tasks: "# host disabled? # TODO"), so the drain would wait for it forever."""
    draining = inst(1, drain_started=NOW - 60)
    tasks = [task(1, state=OPEN, weight=1.5, host_name="x86-64-01"),
             task(2, state=ASSIGNED, weight=1.5, host_name="x86-64-01")]
    hosts = [host("x86-64-01", enabled=False), host("x86-64-02")]
    p = d.plan(obs(tasks, hosts, [draining, inst(2)], [group(desired=2)]), FILL_ONLY)
    assert not p.cancel_drain and p.free_tasks == (2,) and p.run_scheduler and not p.terminate
    # enabled, the host opens it itself: nothing to free
    p = d.plan(obs(tasks, [host("x86-64-01")], [inst(1)], [group(desired=1)]), POLICY)
    assert p.free_tasks == ()


def test_a_drain_called_back_keeps_its_assigned_tasks():
    """A draining builder taken back this loop is enabled again and opens what it was given."""
    tasks = [task(1, state=OPEN, weight=2.0, host_name="x86-64-01"),
             task(2, state=ASSIGNED, weight=1.5, host_name="x86-64-01")] + [task(10 + i, weight=2.0) for i in range(4)]
    p = d.plan(obs(tasks, [host("x86-64-01", enabled=False)], [inst(1, drain_started=NOW - 60)],
                   [group(desired=1)]), POLICY)
    assert [i.slot for i in p.cancel_drain] == ["x86-64-01"] and p.free_tasks == ()


# --- registration -------------------------------------------------------------------------------

KEY_A, KEY_B = "a" * 64, "b" * 64


def pending(n: int, tag: str | None, csr: str | None, arch: str = "x86_64") -> Instance:
    return Instance(id=f"i-new{n}", arch=arch, lifecycle=PENDING_WAIT, launched_at=NOW - n, tag_key_sha256=tag,
                    csr_key_sha256=csr, vcpus=8)


def test_registration_takes_lowest_free_slot_and_reuses_hosts():
    state = obs(hosts=[host("x86-64-01"), host("x86-64-02")], instances=[inst(1), pending(1, KEY_A, KEY_A)],
                groups=[group(desired=2)])
    (reg,) = d.plan(state, POLICY).register
    assert (reg.slot, reg.host_exists, reg.capacity) == ("x86-64-02", True, 8.0)


def test_two_registrations_get_distinct_slots():
    state = obs(instances=[pending(1, KEY_A, KEY_A), pending(2, KEY_B, KEY_B)], groups=[group(desired=2)])
    assert sorted(r.slot for r in d.plan(state, POLICY).register) == ["x86-64-01", "x86-64-02"]


@pytest.mark.parametrize("tag,csr,outcome", [
    (KEY_A, KEY_A, "register"),
    (KEY_A, KEY_B, "refuse"),  # forged: someone else's key under this instance id
    (None, KEY_A, "wait"),  # the instance has not tagged itself yet
    (KEY_A, None, "wait"),  # no CSR yet
])
def test_csr_origin(tag, csr, outcome):
    p = d.plan(obs(instances=[pending(1, tag, csr)], groups=[group(desired=1)]), POLICY)
    assert (bool(p.register), bool(p.refuse)) == (outcome == "register", outcome == "refuse")


def test_replayed_csr_is_refused():
    old = inst(1, tag_key_sha256=KEY_A)
    p = d.plan(obs(hosts=[host("x86-64-01")], instances=[old, pending(2, KEY_A, KEY_A)], groups=[group(desired=2)]),
               POLICY)
    assert p.register == () and "replay" in p.refuse[0].reason


def test_registration_after_restart_keeps_its_slot():
    i = replace(pending(1, KEY_A, KEY_A), slot="x86-64-07")
    (reg,) = d.plan(obs(instances=[i], groups=[group(desired=1)]), POLICY).register
    assert reg.slot == "x86-64-07"


@pytest.mark.parametrize("cn,arch,ok", [
    ("x86-64-01", "x86_64", True), ("aarch64-99", "aarch64", True), ("kojiadmin", "x86_64", False),
    ("x86-64-1", "x86_64", False), ("aarch64-01", "x86_64", False), ("x86-64-01\n", "x86_64", False),
])
def test_cn_pattern(cn, arch, ok):
    if ok:
        d.check_cn(cn, arch)
    else:
        with pytest.raises(ValueError):
            d.check_cn(cn, arch)


def test_plan_is_deterministic():
    state = obs([task(i) for i in range(9)], [host("x86-64-01")], [inst(1), pending(2, KEY_A, KEY_A)],
                [group(desired=2)])
    assert d.plan(state, POLICY) == d.plan(state, POLICY)


def test_slot_of_a_dead_builder_is_reused_and_not_disabled_in_the_same_loop():
    dead = inst(1, lifecycle=TERMINATING_WAIT, ec2_state="terminated", drain_started=NOW - 5)
    new = pending(1, KEY_A, KEY_A)
    p = d.plan(obs([task(1, state=OPEN, host_name="x86-64-01")], [host("x86-64-01")], [dead, new],
                   [group(desired=1)]), POLICY)
    assert [r.slot for r in p.register] == ["x86-64-01"]
    assert p.free_tasks == (1,) and p.complete_terminate == (dead.id,)
    assert "x86-64-01" not in p.disable_hosts


def test_out_of_date_builder_at_min_size_is_replaced_not_removed():
    old = inst(1, up_to_date=False)
    g = group(lo=1, desired=1)
    p = d.plan(obs(hosts=[host("x86-64-01")], instances=[old], groups=[g]), POLICY)
    assert p.start_drain == (old,)
    p = d.plan(obs(hosts=[host("x86-64-01", enabled=False)], instances=[replace(old, drain_started=NOW)], groups=[g]),
               POLICY)
    assert p.terminate == (d.Termination(old.id, "x86-64-01", False),)  # no decrement: the group replaces it


def test_metrics_per_arch():
    g = replace(group(desired=2), launch_failures=3)
    state = obs([task(1), task(2, state=OPEN, host_name="x86-64-01", weight=2.5)], [host("x86-64-01")],
                [inst(1), inst(2, drain_started=NOW - 5)], [g])
    m = {(x.name, x.arch): x.value for x in d.plan(state, POLICY).metrics}
    assert m[("QueuedTaskWeight", "x86_64")] == 1.5 and m[("RunningTaskWeight", "x86_64")] == 2.5
    assert m[("BuildersInService", "x86_64")] == 1.0 and m[("BuildersDraining", "x86_64")] == 1.0
    assert m[("LaunchFailures", "x86_64")] == 3.0 and m[("DesiredBuilders", "x86_64")] == 2.0
    assert {name for name, _ in m} == set(d.METRIC_NAMES) - {"UnservableTaskWeight"}


# --- issue 14: packing, taking drains back, forced scheduler runs, the light channel --------------

def _busy_three(loads):
    """Three in-service builders (capacity 4) running one task each of the given weights."""
    insts = [inst(n) for n in (1, 2, 3)]
    hosts = [host(i.slot, last=NOW - 10) for i in insts]
    tasks = [task(n, state=OPEN, weight=w, host_name=i.slot)
             for n, (i, w) in enumerate(zip(insts, loads, strict=False), 1)]
    return insts, hosts, tasks


def test_lightly_loaded_busy_surplus_builders_are_packed_away():
    """Koji spreads tasks over every ready host, so idle-only scale-in keeps half-used builders:
    with demand for one builder, the two least loaded busy ones are drained (they finish first)."""
    insts, hosts, tasks = _busy_three([1.5, 1.5, 1.0])
    p = d.plan(obs(tasks, hosts, insts, [group(desired=3)]), FILL_ONLY)
    assert {i.slot for i in p.start_drain} == {"x86-64-03", "x86-64-02"}
    assert set(p.disable_hosts) == {"x86-64-03", "x86-64-02"} and not p.terminate
    assert d.plan(obs(tasks, hosts, insts, [group(desired=3)]), replace(FILL_ONLY, pack=False)).start_drain == ()
    # as shipped, room is kept for two more tasks: one is drained
    assert [i.slot for i in d.plan(obs(tasks, hosts, insts, [group(desired=3)]), POLICY).start_drain] == ["x86-64-03"]


def test_packing_spares_loaded_assigned_and_waits_for_empty_builders():
    insts, hosts, tasks = _busy_three([3.5, 3.5, 1.0])          # two too loaded to pack
    tasks[2] = replace(tasks[2], state=ASSIGNED)                  # a disabled kojid never opens it
    assert d.plan(obs(tasks, hosts, insts, [group(desired=3)]), POLICY).start_drain == ()
    insts, hosts, tasks = _busy_three([2.5, 2.0, 1.0])
    tasks = tasks[:2]                  # demand for 2, three builders: x86-64-03 is empty, the idle rule takes it
    assert d.plan(obs(tasks, hosts, insts, [group(desired=3)]), POLICY).start_drain == ()


def test_a_drain_is_taken_back_when_demand_rises_again():
    insts, hosts, tasks = _busy_three([1.5, 1.5, 1.5])
    insts[2] = replace(insts[2], drain_started=NOW - 60)
    hosts[2] = replace(hosts[2], enabled=False)
    queue = [task(10 + n) for n in range(6)]                      # 4.5 running + 6 queued: 3 builders
    p = d.plan(obs(tasks + queue, hosts, insts, [group(desired=3)]), POLICY)
    assert [i.slot for i in p.cancel_drain] == ["x86-64-03"]
    assert "x86-64-03" not in p.disable_hosts and not p.terminate


def test_a_scheduler_run_is_forced_when_free_work_meets_an_idle_ready_builder():
    one = [inst(1)]
    assert d.plan(obs([task(1)], [host("x86-64-01")], one), POLICY).run_scheduler
    full = [task(1), task(2, state=OPEN, host_name="x86-64-01", weight=4.0)]
    assert not d.plan(obs(full, [host("x86-64-01")], one), POLICY).run_scheduler
    assert not d.plan(obs([], [host("x86-64-01")], one), POLICY).run_scheduler
    assert not d.plan(obs([task(1)], [host("x86-64-01", enabled=False)], one), POLICY).run_scheduler


def test_a_scheduler_run_is_forced_when_free_work_meets_a_builder_with_room():
    """Not only an empty builder: one a task has left has room by the scheduler's own rule
    (capacity - load > 0, fewer than maxjobs tasks), and the work should not wait up to RunInterval."""
    one = [inst(1)]
    some = [task(1), task(2, state=OPEN, host_name="x86-64-01", weight=2.5)]
    assert d.plan(obs(some, [host("x86-64-01")], one), POLICY).run_scheduler
    at_maxjobs = [task(1)] + [task(10 + j, state=OPEN, host_name="x86-64-01", weight=0.5) for j in range(4)]
    assert not d.plan(obs(at_maxjobs, [host("x86-64-01")], one), POLICY).run_scheduler
    not_ready = replace(host("x86-64-01"), ready=False)
    assert not d.plan(obs(some, [not_ready], one), POLICY).run_scheduler


def test_light_channel_capacity_is_memory():
    """One forked kojid per waiting parent: slots = (memory - reserve) / 24 MiB; light hosts are
    asked for only beyond the hub's own slots."""
    assert d.light_slots(8192) == (8192 - 1024) // 24
    assert d.light_target(150, hub_slots=189, slots_per_host=298, max_hosts=10) == 0
    assert d.light_target(190, hub_slots=189, slots_per_host=298, max_hosts=10) == 1
    assert d.light_target(189 + 298 * 3 + 1, hub_slots=189, slots_per_host=298, max_hosts=10) == 4
    assert d.light_target(10**6, hub_slots=189, slots_per_host=298, max_hosts=10) == 10


def test_a_thousand_builder_slots():
    names = d.free_slots("x86_64", [], max_slots=1000)
    assert len(names) == 1000 and names[99] == "x86-64-100" and d.slot_arch("x86-64-1000") == "x86_64"
    assert d.free_slots("x86_64", []) == names[:99]               # the stack ships 99 per arch
