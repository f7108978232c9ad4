"""The simulator's model of koji's scheduler (kojistack/sim/koji_model.py `Hub.run_scheduler`) and the
fake hub's (tests/fakes/kojihub.py `FakeHub.run_scheduler`) assign the same FREE tasks to the same hosts.

Both follow koji 1.35.3 kojihub/scheduler.py `TaskScheduler.run` (281-297); the rules each case
exercises, with the lines they come from:
- FREE tasks in (priority, create time) order, at most 1,000 per run (get_tasks, 550-562);
- a host serves the bins channel x (its arches + noarch) and only enabled hosts count (get_hosts,
  600-614; _get_hosts, 616-645); hosts whose last check-in is older than ReadyTimeout are marked
  not ready first (check_hosts, 493-513);
- a host can take a task while ready, with fewer than maxjobs active tasks (maxjobs from the host's
  data, else MaxJobs 15) and capacity - load > max(0, weight - CapacityOvercommit 5), where load
  sums active tasks that are not waiting (do_schedule, 344-389); live refusals exclude a host
  (get_refusals, 576-598);
- the lowest-ranked candidate wins, rank = load + tasks + demand, demand being each task's weight
  spread over its candidates and normalised to 1 (374-423). Ties among equal hosts go to the host
  registered first in both models (koji's host query has no ORDER BY: the order is the table's).
"""

import random

import pytest

from fakes.kojihub import ASSIGNED, FakeHub
from kojistack.sim import koji_model as km

NOW = 10_000.0


def sim_assign(hosts, tasks, busy):
    hub = km.Hub()
    by_name = {}
    for i, (name, arches, channels, capacity, maxjobs, ready, fresh) in enumerate(hosts):
        h = km.Host(name, frozenset(arches), frozenset(channels), capacity, maxjobs, ready=ready,
                    update_ts=NOW if fresh else NOW - 1000.0, order=i)
        hub.hosts[name] = by_name[name] = h
    tid = 0
    for host, weight, waiting, state in busy:       # tasks already on hosts
        tid += 1
        t = km.Task(tid, "buildArch", "noarch", "default", 20, 1.0, weight, state=state, weight=weight,
                    waiting=waiting, assign_ts=NOW)
        t.host = by_name[host]
        hub.tasks[tid] = t
        hub._attach(t, by_name[host])
    first = tid + 1
    for arch, channel, priority, create, weight in tasks:
        tid += 1
        t = km.Task(tid, "buildArch", arch, channel, priority, 1.0, weight, weight=weight)
        hub.create(t, create)
    hub.run_scheduler(NOW, force=True)
    return {t.id - first: t.host.name for t in hub.tasks.values() if t.state == km.ASSIGNED and t.id >= first}


def fake_assign(hosts, tasks, busy):
    hub = FakeHub(clock=lambda: NOW)
    for name, arches, channels, capacity, maxjobs, ready, fresh in hosts:
        hid = hub.seed_host(name, " ".join(arches), tuple(channels), capacity)
        h = hub.hosts[hid]
        h.ready, h.update_ts, h.data = ready, NOW if fresh else NOW - 1000.0, {"maxjobs": maxjobs}
    for host, weight, waiting, state in busy:
        t = hub.tasks[hub.seed_task("buildArch", weight=weight, state=state, host=host)]
        t.waiting, t.assign_ts = waiting, NOW
    ids = []
    for arch, channel, priority, create, weight in tasks:
        tid = hub.seed_task("buildArch", arch=arch, channel=channel, weight=weight, priority=priority)
        hub.tasks[tid].create_ts = create
        ids.append(tid)
    hub.run_scheduler(record=False)
    names = {h.id: h.name for h in hub.hosts.values()}
    return {i: names[hub.tasks[tid].host_id] for i, tid in enumerate(ids) if hub.tasks[tid].state == ASSIGNED}


def both(hosts, tasks, busy=()):
    sim, fake = sim_assign(hosts, tasks, busy), fake_assign(hosts, tasks, busy)
    assert sim == fake, f"simulator {sim} != fake hub {fake}"
    return sim


X, A = ("x86_64",), ("aarch64",)
D = ("default",)


def host(name, arches=X, channels=D, capacity=4.0, maxjobs=15, ready=True, fresh=True):
    return (name, arches, channels, capacity, maxjobs, ready, fresh)


def task(arch="x86_64", channel="default", priority=20, create=0.0, weight=1.0):
    return (arch, channel, priority, create, weight)


def test_priority_then_create_time_decides_who_gets_the_last_slot():
    # 550-562: ORDER BY priority, create_ts; one host with room for one task (maxjobs 1)
    got = both([host("b1", maxjobs=1)], [task(create=1.0), task(priority=10, create=5.0), task(create=0.5)])
    assert got == {1: "b1"}


def test_bins_are_channel_by_arch_and_every_host_serves_noarch():
    # 600-614: host bins are channel:arch for its arches plus noarch
    got = both([host("x", X), host("a", A), host("c", X, ("createrepo",))],
               [task("aarch64"), task("x86_64"), task("noarch", "createrepo"), task("ppc64le")])
    assert got == {0: "a", 1: "x", 2: "c"}


def test_not_ready_stale_and_full_hosts_are_skipped():
    # 383-386 ready and maxjobs; 493-513 a host silent for > ReadyTimeout is marked not ready first
    got = both([host("off", ready=False), host("stale", fresh=False), host("full", maxjobs=1), host("ok")],
               [task(), task()], busy=[("full", 0.5, False, km.OPEN)])
    assert got == {0: "ok", 1: "ok"}


def test_capacity_overcommit_lets_a_heavy_task_onto_a_host_with_some_room():
    # 380, 385, 410: capacity - load > max(0, weight - 5)
    got = both([host("b1", capacity=2.0)], [task(weight=6.0), task(weight=1.0), task(weight=1.0)],
               busy=[("b1", 0.5, False, km.OPEN)])
    assert got == {0: "b1"}       # 2 - 0.5 > 6 - 5; then 2 - 6.5 is not > 0


def test_waiting_parents_count_towards_maxjobs_but_not_load():
    # 352-357: a waiting task adds to _ntasks, not to _load
    got = both([host("p", capacity=2.0, maxjobs=2), host("q", capacity=2.0)], [task(), task(), task()],
               busy=[("p", 5.0, True, km.OPEN), ("q", 0.5, False, km.ASSIGNED)])
    assert sorted(got.values()).count("p") == 1


def test_rank_is_load_plus_tasks_plus_demand_not_load_over_capacity():
    # 422-423: a big idle host and a small idle host rank equal on load + tasks; demand then decides:
    # "big" is the only candidate of the aarch64 task, so it carries more demand and ranks lower second
    got = both([host("big", X + A, capacity=16.0), host("small", X, capacity=2.0)],
               [task("x86_64"), task("x86_64"), task("aarch64", create=1.0)])
    assert got == {0: "small", 1: "big", 2: "big"}


def test_a_busy_host_loses_to_an_idle_one_whatever_its_capacity():
    # 422-423: rank does not divide by capacity (the fake hub's old rule did, against koji)
    got = both([host("big", capacity=16.0), host("small", capacity=4.0)], [task()],
               busy=[("big", 1.0, False, km.OPEN)])
    assert got == {0: "small"}


@pytest.mark.parametrize("seed", range(40))
def test_seeded_random_situations_agree(seed):
    rng = random.Random(seed)
    channels = ("default", "createrepo")
    hosts = [host(f"h{i}", tuple(rng.sample(("x86_64", "aarch64"), rng.choice((1, 2)))),
                  tuple(rng.sample(channels, rng.choice((1, 2)))), rng.choice((2.0, 4.0, 8.0, 16.0)),
                  rng.choice((1, 2, 4, 15)), rng.random() > 0.15, rng.random() > 0.1)
             for i in range(rng.randint(1, 8))]
    busy = [(rng.choice(hosts)[0], rng.choice((0.2, 1.0, 1.5, 3.0)), rng.random() < 0.2,
             rng.choice((km.OPEN, km.ASSIGNED))) for _ in range(rng.randint(0, 10))]
    tasks = [task(rng.choice(("x86_64", "aarch64", "noarch")), rng.choice(channels), rng.choice((10, 19, 20)),
                  float(rng.randint(0, 50)), rng.choice((1.0, 1.0, 1.0, 0.2, 2.0, 6.0)))
             for _ in range(rng.randint(1, 40))]
    both(hosts, tasks, busy)
