"""A model of Koji's queue, its hub-side scheduler (1.34+) and kojid's take-task loop.

Read from koji-1.35.3 (`kojihub/scheduler.py`, `koji/daemon.py`, `builder/kojid`):
- The scheduler runs from a ready host's `host.getTasks()` when that host has nothing assigned, at
  most once per RunInterval (60 s). It takes FREE tasks in (priority, create time) order, at most
  1,000 per run, and assigns each to the lowest-ranked ready host of its bin (channel x arch; a
  host serves its arches plus noarch) that holds fewer than maxjobs tasks and has
  capacity - load > max(0, weight - CapacityOvercommit (5)). Load sums the weights of tasks that
  are not waiting; waiting parents still count towards maxjobs. Rank = load + tasks + demand, where
  demand (fixed for the run) spreads each FREE task's weight over the hosts that could take it and
  is normalised to sum to 1 (scheduler.py 374-423). tests/sim/test_scheduler_agrees.py holds this
  model equal to the fake hub's scheduler (tests/fakes/kojihub.py).
- Timeouts: a host not heard from for ReadyTimeout (180 s) is marked not ready; an ASSIGNED task
  older than AssignTimeout (300 s) is freed (a soft refusal of that host for SoftRefusalTimeout,
  900 s, if the host checked in meanwhile); an OPEN task on a host silent for HostTimeout (900 s)
  is freed. Only enabled hosts are checked.
- kojid polls every `sleeptime` (15 s): it reports `ready` (enabled, load <= capacity, fewer than
  maxjobs tasks), then opens its ASSIGNED tasks one by one while still ready. When a handler
  starts, the task's weight becomes the handler's (buildArch 1.5 + 0.75/h capped at +4.5, build 0.2).

Costs (so 100k tasks and 1,000 hosts simulate in seconds): FREE tasks sit in one sorted list per
bin (a run merges them and skips, as one step, a stretch of a bin nobody has room for); each host keeps its load and
task counts up to date on every transition instead of summing its tasks; a run picks hosts from a
per-bin heap by rank. The engine simulates a kojid poll only when it can change something
(`Host.dirty`); between those a host's check-in time is its poll phase (`Host.last_checkin`).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

FREE, OPEN, CLOSED, ASSIGNED = 0, 1, 2, 4            # koji.TASK_STATES
RUN_INTERVAL_S = 60.0
KOJID_POLL_S = 15.0
READY_TIMEOUT_S = 180.0
ASSIGN_TIMEOUT_S = 300.0
SOFT_REFUSAL_TIMEOUT_S = 900.0
HOST_TIMEOUT_S = 900.0
CAPACITY_OVERCOMMIT = 5.0
FREE_TASK_LIMIT = 1000
NEW_TASK_WEIGHT = 1.0                                 # the hub's weight for a new task
_EPS = 1e-9                                           # sums kept incrementally: compare with a tolerance


@dataclass(eq=False)
class Task:
    """One Koji task and its history in the simulation."""

    id: int
    method: str
    arch: str
    channel: str
    priority: int
    duration_s: float                 # own run time (a parent: work before spawning children)
    open_weight: float                # weight once a handler runs it
    post_s: float = 0.0
    parent: Task | None = None
    child_specs: tuple = ()           # waves of children: a tuple of tuples of TaskSpec
    children: list[Task] = field(default_factory=list)
    create_ts: float = 0.0
    state: int = FREE
    weight: float = NEW_TASK_WEIGHT
    waiting: bool = False
    host: Host | None = None
    assign_ts: float = 0.0
    queued_since: float = 0.0         # start of the current FREE/ASSIGNED spell
    wait_s: float = 0.0               # total time FREE or ASSIGNED (all runs)
    first_start_ts: float | None = None
    end_ts: float | None = None
    starts: int = 0
    restarts: int = 0
    capped: bool = False              # waited while its arch's fleet was at its max
    refused: dict = field(default_factory=dict)   # host name -> refusal time
    run_token: int = 0                # bumps on every (re)start; stale completion events are ignored
    ran_on: list[str] = field(default_factory=list)   # host of every run, in order
    wave: int = 0                     # index of the next wave of children to spawn

    @property
    def sort_key(self) -> tuple:
        return (self.priority, self.create_ts, self.id)

    @property
    def on_host(self) -> Host:
        """The host of an ASSIGNED or OPEN task (a FREE or CLOSED one has none)."""
        if self.host is None:
            raise RuntimeError(f"task {self.id} ({self.method}) is on no host")
        return self.host


@dataclass(eq=False)
class Host:
    """A koji host: the hub's own kojid or a builder slot."""

    name: str
    arches: frozenset[str]
    channels: frozenset[str]
    capacity: float
    maxjobs: int
    enabled: bool = True
    ready: bool = False
    update_ts: float | None = None    # last simulated check-in (see last_checkin)
    tasks: dict = field(default_factory=dict)            # id -> ASSIGNED or OPEN task on this host
    alive: bool = True                                    # kojid running
    idle_since: float = 0.0
    last_task_end: float | None = None
    open_load: float = 0.0            # weights of OPEN tasks not waiting (kojid's task_load)
    active_load: float = 0.0          # weights of ASSIGNED and OPEN tasks not waiting (the scheduler's)
    n_open: int = 0
    n_assigned: int = 0
    phase: float | None = None        # kojid polls at phase + k * KOJID_POLL_S while alive
    poll_pending: bool = False
    dirty: bool = True                # something changed since the last simulated poll
    order: int = 0                    # registration order: the scheduler's tie-break
    _bins: list | None = field(default=None, repr=False)

    def load(self) -> float:
        """kojid's task_load: the weights of its open tasks that are not waiting."""
        return self.open_load

    def scheduler_load(self) -> float:
        """The scheduler's view: weights of all active (ASSIGNED or OPEN) tasks not waiting."""
        return self.active_load

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.state == OPEN]

    def serves(self, task: Task) -> bool:
        return task.channel in self.channels and (task.arch == "noarch" or task.arch in self.arches)

    def bins(self) -> list[tuple[str, str]]:
        """(channel, arch) bins this host serves (its arches plus noarch), computed once."""
        if self._bins is None:
            self._bins = [(c, a) for c in sorted(self.channels) for a in sorted(self.arches) + ["noarch"]]
        return self._bins

    def last_checkin(self, now: float) -> float | None:
        """When kojid last called updateHost: its latest poll at or before `now` while it runs."""
        if not self.alive or self.phase is None:
            return self.update_ts
        if now < self.phase:
            return self.update_ts
        k = int((now - self.phase) // KOJID_POLL_S)
        return max(self.update_ts or -1e18, self.phase + k * KOJID_POLL_S)

    def next_poll(self, now: float) -> float:
        """kojid's next poll strictly after `now`."""
        if self.phase is None or now < self.phase:
            return self.phase if self.phase is not None else now
        return self.phase + (int((now - self.phase) // KOJID_POLL_S) + 1) * KOJID_POLL_S

    def ready_for_task(self) -> bool:
        return self.enabled and self.open_load <= self.capacity + _EPS and self.n_open < self.maxjobs


def _weight(task: Task) -> float:
    return 0.0 if task.waiting else task.weight


class Hub:
    """The task table, the hosts and the scheduler; the engine calls in with the current time."""

    def __init__(self) -> None:
        self.tasks: dict[int, Task] = {}    # active tasks (FREE, ASSIGNED, OPEN); closed ones leave
        self.free_bins: dict[tuple[str, str], list] = {}   # bin -> [(sort key, task)] sorted: FREE tasks
        self.n_free = 0
        self.by_channel: dict[str, dict[int, Task]] = {}    # active tasks per channel
        self.assigned: dict[int, Task] = {}
        self.hosts: dict[str, Host] = {}
        self.last_run = -1e18
        self.runs = 0
        self.on_open: Callable[[Task, float], None] | None = None   # engine callback(task, now)
        self.on_change: Callable[[Host], None] | None = None        # engine callback(host): it changed

    # --- bookkeeping ------------------------------------------------------------------------
    @property
    def free(self) -> list[Task]:
        """FREE tasks in scheduler order (for tests; the scheduler merges the bins)."""
        return [e[1] for e in sorted(e for b in self.free_bins.values() for e in b)]

    @property
    def free_by_bin(self) -> dict[tuple[str, str], int]:
        return {b: len(entries) for b, entries in self.free_bins.items()}

    def _push_free(self, task: Task) -> None:
        bisect.insort(self.free_bins.setdefault((task.channel, task.arch), []), (task.sort_key, task))
        self.n_free += 1

    def _left_free(self, task: Task) -> None:
        entries = self.free_bins[(task.channel, task.arch)]
        del entries[bisect.bisect_left(entries, (task.sort_key,))]
        self.n_free -= 1

    def _attach(self, task: Task, host: Host) -> None:
        host.tasks[task.id] = task
        host.active_load += _weight(task)
        if task.state == OPEN:
            host.open_load += _weight(task)
            host.n_open += 1
        else:
            host.n_assigned += 1
            self.assigned[task.id] = task
        self._changed(host)

    def _detach(self, task: Task) -> None:
        host = task.on_host
        del host.tasks[task.id]
        host.active_load -= _weight(task)
        if task.state == OPEN:
            host.open_load -= _weight(task)
            host.n_open -= 1
        else:
            host.n_assigned -= 1
            self.assigned.pop(task.id, None)
        if not host.tasks:
            host.open_load = host.active_load = 0.0      # no drift when a host empties
        self._changed(host)

    def _changed(self, host: Host) -> None:
        host.dirty = True
        if self.on_change is not None:
            self.on_change(host)

    def set_waiting(self, task: Task, waiting: bool) -> None:
        """A parent starts or stops waiting on its children (its weight stops or starts counting)."""
        if task.waiting == waiting:
            return
        host = task.host
        if host is not None:
            host.active_load -= _weight(task)
            if task.state == OPEN:
                host.open_load -= _weight(task)
        task.waiting = waiting
        if host is not None:
            host.active_load += _weight(task)
            if task.state == OPEN:
                host.open_load += _weight(task)
            self._changed(host)

    # --- queue -----------------------------------------------------------------------------
    def create(self, task: Task, now: float) -> None:
        task.create_ts = now
        task.queued_since = now
        self.tasks[task.id] = task
        self.by_channel.setdefault(task.channel, {})[task.id] = task
        self._push_free(task)

    def free_task(self, task: Task, now: float) -> None:
        """Return a task to FREE (freeTasks, timeouts); a started run is lost."""
        if task.state == FREE:
            return
        was_open = task.state == OPEN
        if task.host is not None:
            self._detach(task)
        if was_open:
            task.restarts += 1
            for child in task.children:      # a restarted parent does not keep its children
                if child.state != CLOSED:
                    self.cancel(child)
            task.children = []
            task.wave = 0
            task.queued_since = now          # a FREE/ASSIGNED spell goes on; a lost run starts a new one
        # the hub's Task.free sets only state and host (koji 1.35.3 kojihub.py 322-343): the weight
        # kojid set at open stays, and the scheduler places the task again by it. `waiting` is
        # cleared here (the hub leaves the column too; kojid's next run sets it when it waits)
        task.state, task.host, task.waiting = FREE, None, False
        task.run_token += 1
        self._push_free(task)

    def cancel(self, task: Task) -> None:
        for child in task.children:
            if child.state != CLOSED:
                self.cancel(child)
        if task.state == FREE:
            self._left_free(task)
        elif task.host is not None:
            self._detach(task)
        task.state, task.host = CLOSED, None
        task.run_token += 1
        self.tasks.pop(task.id, None)
        self.by_channel[task.channel].pop(task.id, None)

    def close(self, task: Task, now: float) -> None:
        host = task.on_host
        self._detach(task)
        host.last_task_end = now
        if not host.tasks:
            host.idle_since = now
        task.state, task.host, task.end_ts = CLOSED, None, now
        del self.tasks[task.id]
        del self.by_channel[task.channel][task.id]

    # --- kojid ------------------------------------------------------------------------------
    def poll(self, host: Host, now: float) -> None:
        """One pass of kojid's loop: updateHost, getTasks (maybe a scheduler run), take tasks."""
        host.dirty = False
        host.ready = host.ready_for_task()
        host.update_ts = now
        if not host.ready:
            return
        if not host.n_assigned:
            self.run_scheduler(now)
        if not host.n_assigned:
            return
        for task in sorted((t for t in host.tasks.values() if t.state == ASSIGNED), key=lambda t: t.sort_key):
            if not host.ready_for_task():
                host.ready = False
                break
            self._open(task, now)

    def _open(self, task: Task, now: float) -> None:
        host = task.on_host
        self._detach(task)
        task.state, task.weight, task.host = OPEN, task.open_weight, host
        self._attach(task, host)
        task.wait_s += now - task.queued_since
        task.starts += 1
        if task.first_start_ts is None:
            task.first_start_ts = now
        if self.on_open is not None:
            self.on_open(task, now)

    # --- scheduler ----------------------------------------------------------------------------
    def run_scheduler(self, now: float, force: bool = False) -> bool:
        """TaskScheduler.run(): check hosts, assign FREE tasks, check active tasks.

        Only a run that is not forced stamps the RunInterval clock: `run(force=True)` (what
        scheduler.doRun(force=True) calls) skips `check_ts`, the only place that writes
        last_run_ts (kojihub/scheduler.py 281-335), so a forced run leaves the regular cycle alone."""
        if not force:
            if now - self.last_run < RUN_INTERVAL_S - _EPS:
                return False
            self.last_run = now
        self.runs += 1
        hosts = [h for h in self.hosts.values() if h.enabled]
        for h in hosts:                                   # check_hosts
            seen = h.last_checkin(now)
            if h.ready and (seen is None or now - seen > READY_TIMEOUT_S):
                h.ready = False
        self._assign(hosts, now)
        self._check_active(hosts, now)
        return True

    def _assign(self, hosts: list[Host], now: float) -> None:
        """FREE tasks in (priority, create time) order, the first FREE_TASK_LIMIT of them, each to
        the lowest-ranked host of its bin with room. The bins' sorted lists are merged; a run of
        tasks in a bin no host has room for is counted towards the limit without a look at each."""
        if not self.n_free:
            return
        demand = self._demand(hosts, now)
        heaps: dict[tuple[str, str], list] = {}
        for h in hosts:
            if not h.ready:
                continue
            for b in h.bins():
                heaps.setdefault(b, []).append((self._rank(h, demand), h.order, h))
        for host_heap in heaps.values():
            heapq.heapify(host_heap)
        bins = [(b, entries) for b, entries in self.free_bins.items() if entries]
        idx = {b: 0 for b, _ in bins}
        taken: list[Task] = []
        seen = 0
        while seen < FREE_TASK_LIMIT:
            heads = sorted((entries[idx[b]][0], b) for b, entries in bins if idx[b] < len(entries))
            if not heads:
                break
            best_b = heads[0][1]
            best_entries = self.free_bins[best_b]
            second = heads[1][0] if len(heads) > 1 else None
            heap = heaps.get(best_b)
            if not heap:                                  # nobody has room: skip this bin's run
                i = idx[best_b]
                j = len(best_entries) if second is None else bisect.bisect_left(best_entries, (second,), lo=i)
                j = min(j, i + FREE_TASK_LIMIT - seen)
                seen += j - i
                idx[best_b] = j
                continue
            task = best_entries[idx[best_b]][1]
            idx[best_b] += 1
            seen += 1
            placed = self._place(task, heap, now, demand)
            if placed is None:
                continue
            taken.append(task)
            task.state, task.host, task.assign_ts = ASSIGNED, placed, now
            self._attach(task, placed)
            for b in placed.bins():                      # its rank changed in every bin it serves
                if b in heaps:
                    heapq.heappush(heaps[b], (self._rank(placed, demand), placed.order, placed))
        for task in taken:
            entries = self.free_bins[(task.channel, task.arch)]
            del entries[bisect.bisect_left(entries, (task.sort_key,))]
            self.n_free -= 1

    @staticmethod
    def _rank(h: Host, demand: dict) -> float:
        """scheduler.py 422-423 `_rank_host`: _load + _ntasks + _demand."""
        return h.active_load + len(h.tasks) + demand.get(h.name, 0.0)

    def _first_free(self) -> list[Task]:
        """The run's FREE tasks: the first FREE_TASK_LIMIT in (priority, create time) order
        (scheduler.py 550-562 `get_tasks`)."""
        # each bin is sorted and keys are unique, so the merge's head is the smallest FREE_TASK_LIMIT
        # (heapq.nsmallest would consume the whole merge: every FREE task, on every run)
        return [e[1] for e in itertools.islice(heapq.merge(*self.free_bins.values()), FREE_TASK_LIMIT)]

    def _demand(self, hosts: list[Host], now: float) -> dict[str, float]:
        """scheduler.py 374-398: each FREE task of the run spreads its weight evenly over the hosts
        that could take it at the start of the run (ready, in its bin, fewer than maxjobs tasks,
        capacity - load > max(0, weight - overcommit), no live refusal); the sums are normalised
        to add up to 1. It is fixed for the run and enters the rank."""
        if not self.n_free:
            return {}
        by_bin: dict[tuple[str, str], list[Host]] = {}
        for h in hosts:
            if h.ready and len(h.tasks) < h.maxjobs:
                for b in h.bins():
                    by_bin.setdefault(b, []).append(h)
        demand: dict[str, float] = {}
        base: dict[tuple, list[Host]] = {}     # (bin, min_avail) -> hosts with room: shared by most tasks
        share: dict[tuple, float] = {}         # (bin, min_avail) -> demand each of those hosts gets
        for task in self._first_free():
            min_avail = max(0.0, task.weight - CAPACITY_OVERCOMMIT)
            key = ((task.channel, task.arch), min_avail)
            hosts_of = base.get(key)
            if hosts_of is None:
                hosts_of = base[key] = [h for h in by_bin.get(key[0], ())
                                        if h.capacity - h.active_load > min_avail + _EPS]
            if task.refused:
                live = {n for n, ts in task.refused.items() if now - ts < SOFT_REFUSAL_TIMEOUT_S}
                if live:
                    cands = [h for h in hosts_of if h.name not in live]
                    for h in cands:
                        demand[h.name] = demand.get(h.name, 0.0) + task.weight / len(cands)
                    continue
            if hosts_of:
                share[key] = share.get(key, 0.0) + task.weight / len(hosts_of)
        for key, each in share.items():
            for h in base[key]:
                demand[h.name] = demand.get(h.name, 0.0) + each
        total = sum(demand.values())
        return {name: d / total for name, d in demand.items()} if total > 0.0 else demand

    @staticmethod
    def _place(task: Task, heap: list, now: float, demand: dict) -> Host | None:
        """The lowest-ranked host of the bin with room; hosts without room leave the run's heap."""
        min_avail = max(0.0, task.weight - CAPACITY_OVERCOMMIT)
        aside = []
        best = None
        while heap:
            rank, order, h = heap[0]
            if rank != Hub._rank(h, demand):             # stale entry (a newer one was pushed)
                heapq.heappop(heap)
                continue
            if len(h.tasks) >= h.maxjobs or h.capacity - h.active_load <= _EPS:
                heapq.heappop(heap)                       # no room for any task in this run
                continue
            ts = task.refused.get(h.name)
            if h.capacity - h.active_load <= min_avail + _EPS or (
                    ts is not None and now - ts < SOFT_REFUSAL_TIMEOUT_S):
                aside.append(heapq.heappop(heap))        # no room for this task only
                continue
            best = h
            break
        for e in aside:
            heapq.heappush(heap, e)
        return best

    def _check_active(self, hosts: list[Host], now: float) -> None:
        enabled = {h.name for h in hosts}
        for task in list(self.assigned.values()):
            h = task.on_host
            if h.name in enabled and now - task.assign_ts > ASSIGN_TIMEOUT_S:
                seen = h.last_checkin(now)
                if seen is not None and seen > task.assign_ts:
                    task.refused[h.name] = now
                self.free_task(task, now)
        for h in hosts:
            seen = h.last_checkin(now)
            if h.n_open and seen is not None and now - seen > HOST_TIMEOUT_S:
                for task in [t for t in h.tasks.values() if t.state == OPEN]:
                    self.free_task(task, now)
