"""Decision tables for the light hosts (`decide.light_plan`): registered in channel `light` only,
scaled to the light channel's active tasks beyond the hub's own kojid, surplus drained and
terminated once empty, a waiting build parent never stopped."""

from dataclasses import replace

import pytest

from kojistack import names
from kojistack.controller import decide as d
from kojistack.controller.decide import (
    FREE,
    IN_SERVICE,
    LIGHT,
    OPEN,
    PENDING_WAIT,
    TERMINATING_WAIT,
    Host,
    Instance,
    LightGroup,
    Observed,
    Task,
)
from support.channels import policy

NOW = 1_800_000_000.0
POLICY = policy(idle_seconds=600, drain_limit_seconds=3600)
SLOTS = d.light_host_slots(8192)          # m7g.large
HUB = Host(names.HUB_HOST, enabled=True, ready=True, capacity=10.0, light=True)


def light(n: int, lifecycle: str = IN_SERVICE, **kw) -> Instance:
    slot = kw.pop("slot", d.light_slot_name(n))
    return Instance(id=f"i-light{n:03d}", arch=LIGHT, lifecycle=lifecycle, launched_at=NOW - 3600, slot=slot, **kw)


def lhost(n: int, enabled: bool = True) -> Host:
    return Host(d.light_slot_name(n), enabled=enabled, ready=True, capacity=float(SLOTS), light=True)


def parent(i: int, state: int = OPEN, host: str | None = names.HUB_HOST, waiting: bool = True) -> Task:
    return Task(i, "build", "noarch", POLICY.light_channel, state, 0.2, host if state != FREE else None, waiting)


def obs(tasks=(), hosts=(HUB,), insts=(), lo: int = 0, hi: int = 10, desired: int | None = None) -> Observed:
    insts = tuple(insts)
    group = LightGroup("s-light", lo, hi, len(insts) if desired is None else desired, SLOTS)
    return Observed(NOW, tuple(tasks), tuple(hosts), (), (), light=group, light_instances=insts)


def test_slots_of_a_light_host_come_from_its_memory():
    assert SLOTS == d.light_slots(int(8192 * d.MEM_TOTAL_SHARE)) == (7618 - 1024) // 24 == 274
    assert d.light_slot_name(7) == "light-007" and d.LIGHT_SLOT_PATTERN.fullmatch("light-1000")
    assert not d.LIGHT_SLOT_PATTERN.fullmatch("light-07") and d.slot_arch("light-007") is None


def test_no_light_group_no_light_plan():
    p = d.plan(Observed(NOW, (parent(1),), (HUB,), (), ()), POLICY)
    assert p.light == d.LightPlan() and not [m for m in p.metrics if m.arch == LIGHT]


def test_light_metrics():
    tasks = [parent(i) for i in range(10)] + [parent(20, host="light-001"), parent(21, state=FREE)]
    p = d.plan(obs(tasks, (HUB, lhost(1), lhost(2, enabled=False)), [light(1), light(2, drain_started=NOW - 60)]),
               POLICY)
    got = {m.name: m.value for m in p.metrics if m.arch == LIGHT}
    assert got == {"LightChannelTasks": 12.0, "LightHostsInService": 1.0, "LightHostsDraining": 1.0,
                   "DesiredLightHosts": 1.0}
    assert set(got) == set(d.LIGHT_METRIC_NAMES)


def test_parents_beyond_the_hub_ask_for_light_hosts():
    ten = [parent(i) for i in range(10)]                      # the hub's 10 slots are full
    assert d.light_plan(obs(ten), POLICY).desired is None
    p = d.light_plan(obs(ten + [parent(11, state=FREE)]), POLICY)
    assert (p.active, p.target, p.desired) == (11, 1, 1)
    many = ten + [parent(100 + i, state=FREE) for i in range(SLOTS + 1)]
    assert d.light_plan(obs(many), POLICY).desired == 2
    # a disabled (or drained) hub kojid offers no slot: its parents count against light hosts
    off = replace(HUB, enabled=False)
    assert d.light_plan(obs(ten, hosts=(off,)), POLICY).desired == 1
    assert d.light_plan(obs(ten * 1000, hosts=(off,)), POLICY).desired == 10  # the group's max


def test_a_pending_light_host_is_registered_in_the_light_channel_only():
    new = light(2, PENDING_WAIT, slot=None, tag_key_sha256="ab", csr_key_sha256="ab")
    p = d.light_plan(obs([], insts=[light(1), new], hosts=(HUB, lhost(1))), POLICY)
    (reg,) = p.register
    assert (reg.instance_id, reg.arch, reg.slot, reg.channels, reg.koji_arch) == (new.id, LIGHT, "light-002",
                                                                                  ("light",), "aarch64")
    assert reg.capacity == float(SLOTS) and not reg.host_exists
    forged = light(3, PENDING_WAIT, slot=None, tag_key_sha256="ab", csr_key_sha256="cd")
    p = d.light_plan(obs([], insts=[forged]), POLICY)
    assert [r.instance_id for r in p.refuse] == [forged.id] and not p.register
    d.check_cn("light-002", LIGHT)
    with pytest.raises(ValueError):
        d.check_cn("x86-64-01", LIGHT)
    with pytest.raises(ValueError):
        d.check_cn("light-002", "x86_64")


def test_a_replayed_builder_csr_is_refused_to_a_light_host():
    builder = Instance("i-b1", "x86_64", IN_SERVICE, NOW - 100, slot="x86-64-01", tag_key_sha256="ab")
    replay = light(1, PENDING_WAIT, slot=None, tag_key_sha256="ab", csr_key_sha256="ab")
    state = replace(obs([], insts=[replay]), instances=(builder,))
    assert "replay" in d.light_plan(state, POLICY).refuse[0].reason


def test_drains_are_called_back_before_launching():
    hosts = (HUB, lhost(1), lhost(2, enabled=False))
    insts = [light(1), light(2, drain_started=NOW - 60)]
    held = [parent(i) for i in range(10)] + [parent(20 + i, host="light-001") for i in range(SLOTS)]
    p = d.light_plan(obs(held + [parent(99, state=FREE)], hosts, insts), POLICY)
    assert [i.id for i in p.cancel_drain] == ["i-light002"] and p.desired is None
    assert "light-002" not in p.disable_hosts and not p.terminate


def test_surplus_least_loaded_host_is_drained_then_terminated_once_empty():
    hosts = (HUB, lhost(1), lhost(2))
    insts = [light(1), light(2)]
    tasks = [parent(i) for i in range(10)] + [parent(20, host="light-001"), parent(21, host="light-001"),
                                              parent(22, host="light-002")]
    p = d.light_plan(obs(tasks, hosts, insts), POLICY)
    assert p.target == 1 and [i.slot for i in p.start_drain] == ["light-002"]
    assert p.disable_hosts == ("light-002",) and not p.terminate and p.desired is None
    # next loops: disabled, still holding its waiting parent: kept; once empty: terminated with a decrement
    drained = [light(1), light(2, drain_started=NOW - 20)]
    hosts = (HUB, lhost(1), lhost(2, enabled=False))
    p = d.light_plan(obs(tasks, hosts, drained), POLICY)
    assert not p.terminate and not p.start_drain and not p.disable_hosts
    p = d.light_plan(obs(tasks[:-1], hosts, drained), POLICY)
    assert p.terminate == (d.Termination("i-light002", "light-002", True),)


def test_a_waiting_parent_is_never_stopped_even_in_terminating_wait():
    hosts = (HUB, lhost(1, enabled=False))
    waiting = [parent(1, host="light-001")]
    p = d.light_plan(obs(waiting, hosts, [light(1, TERMINATING_WAIT, drain_started=NOW - 60)]), POLICY)
    assert p.heartbeat == ("i-light001",) and not p.complete_terminate and not p.terminate


def test_a_deleted_light_group_does_not_wait_for_parents_at_its_terminate_hook():
    """Stack deletion sets the group's max to 0 (and the builders' groups: children may never run
    again): light hosts in Terminating:Wait are let go at once, not held up to the drain limit."""
    hosts = (HUB, lhost(1, enabled=False))
    waiting = [parent(1, host="light-001")]
    p = d.light_plan(obs(waiting, hosts, [light(1, TERMINATING_WAIT, drain_started=NOW - 60)], hi=0), POLICY)
    assert p.complete_terminate == ("i-light001",) and not p.heartbeat


def test_a_vanished_light_host_has_its_tasks_freed():
    p = d.light_plan(obs([parent(5, host="light-003")], (HUB, lhost(3))), POLICY)
    assert p.free_tasks == (5,) and p.disable_hosts == ("light-003",)


def test_a_drained_light_host_s_assigned_parents_are_freed():
    """A light host drained while the scheduler had given it parents it had not opened yet: kojid
    on a disabled host never opens them and the scheduler never reclaims them (koji 1.35.3
    koji/daemon.py readyForTask, kojihub/scheduler.py check_active_tasks). Before, the drain waited
    for them forever: the buildkite-like peer's mass rebuild, seed 2, ended with 15 builds never
    finished and a light host kept 14 days. The waiting parent it holds is left alone."""
    held = [parent(5, host="light-001"), parent(6, d.ASSIGNED, host="light-001", waiting=False),
            parent(7, d.ASSIGNED, host="light-001", waiting=False)]
    p = d.light_plan(obs(held, (HUB, lhost(1, enabled=False)), [light(1, drain_started=NOW - 60)], desired=1),
                     POLICY)
    assert p.free_tasks == (6, 7) and not p.terminate
    p = d.light_plan(obs(held, (HUB, lhost(1)), [light(1)], desired=1), POLICY)
    assert p.free_tasks == ()


def test_group_max_zero_drains_every_light_host():
    hosts = (HUB, lhost(1))
    p = d.light_plan(obs([parent(5, host="light-001")], hosts, [light(1)], hi=0, desired=1), POLICY)
    assert [i.slot for i in p.start_drain] == ["light-001"] and p.desired == 0
