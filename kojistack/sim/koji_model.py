"""A model of Koji's queue, its hub-side scheduler (1.34+) and kojid's take-task loop.

Read from koji-1.35.3 (`kojihub/scheduler.py`, `koji/daemon.py`, `builder/kojid`):
- The scheduler runs from a ready host's `host.getTasks()` when that host has nothing assigned, at
  most once per RunInterval (60 s). It takes FREE tasks in (priority, create time) order, at most
  1,000 per run, and assigns each to the lowest-ranked ready host of its bin (channel x arch; a
  host serves its arches plus noarch) that holds fewer than maxjobs tasks and has
  capacity - load > max(0, weight - CapacityOvercommit (5)). Load sums the weights of tasks that
  are not waiting; waiting parents still count towards maxjobs. Rank = load + tasks (the hub also
  adds a normalised "demand" term that only breaks ties; it is left out here).
- Timeouts: a host not heard from for ReadyTimeout (180 s) is marked not ready; an ASSIGNED task
  older than AssignTimeout (300 s) is freed (a soft refusal of that host for SoftRefusalTimeout,
  900 s, if the host checked in meanwhile); an OPEN task on a host silent for HostTimeout (900 s)
  is freed. Only enabled hosts are checked.
- kojid polls every `sleeptime` (15 s): it reports `ready` (enabled, load <= capacity, fewer than
  maxjobs tasks), then opens its ASSIGNED tasks one by one while still ready. When a handler
  starts, the task's weight becomes the handler's (buildArch 1.5 + 0.75/h, build 0.2).
"""

from __future__ import annotations

import bisect
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
    parent: "Task | None" = None
    child_specs: tuple = ()
    children: list["Task"] = field(default_factory=list)
    create_ts: float = 0.0
    state: int = FREE
    weight: float = NEW_TASK_WEIGHT
    waiting: bool = False
    host: "Host | None" = None
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

    @property
    def sort_key(self) -> tuple:
        return (self.priority, self.create_ts, self.id)


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
    update_ts: float | None = None
    tasks: list[Task] = field(default_factory=list)      # ASSIGNED and OPEN tasks on this host
    alive: bool = True                                    # kojid running
    idle_since: float = 0.0
    last_task_end: float | None = None

    def load(self) -> float:
        """kojid's task_load: the weights of its open tasks that are not waiting."""
        return sum(t.weight for t in self.tasks if t.state == OPEN and not t.waiting)

    def scheduler_load(self) -> float:
        """The scheduler's view: weights of all active (ASSIGNED or OPEN) tasks not waiting."""
        return sum(t.weight for t in self.tasks if not t.waiting)

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.state == OPEN]

    def serves(self, task: Task) -> bool:
        return task.channel in self.channels and (task.arch == "noarch" or task.arch in self.arches)


class Hub:
    """The task table, the hosts and the scheduler; the engine calls in with the current time."""

    def __init__(self) -> None:
        self.tasks: dict[int, Task] = {}    # active tasks (FREE, ASSIGNED, OPEN); closed ones leave
        self.free: list[Task] = []          # FREE tasks in scheduler order
        self.hosts: dict[str, Host] = {}
        self.last_run = -1e18
        self.runs = 0
        self.on_open = None                 # engine callback(task, now)

    # --- queue -----------------------------------------------------------------------------
    def create(self, task: Task, now: float) -> None:
        task.create_ts = now
        task.queued_since = now
        self.tasks[task.id] = task
        bisect.insort(self.free, task, key=lambda t: t.sort_key)

    def free_task(self, task: Task, now: float) -> None:
        """Return a task to FREE (freeTasks, timeouts); a started run is lost."""
        if task.host is not None:
            task.host.tasks.remove(task)
        if task.state == OPEN:
            task.restarts += 1
            for child in task.children:      # a restarted parent does not keep its children
                if child.state != CLOSED:
                    self.cancel(child)
            task.children = []
        if task.state == OPEN:
            task.queued_since = now          # a FREE/ASSIGNED spell goes on; a lost run starts a new one
        task.state, task.host, task.weight, task.waiting = FREE, None, NEW_TASK_WEIGHT, False
        task.run_token += 1
        bisect.insort(self.free, task, key=lambda t: t.sort_key)

    def cancel(self, task: Task) -> None:
        if task.state == FREE:
            self.free.remove(task)
        elif task.host is not None:
            task.host.tasks.remove(task)
        task.state, task.host = CLOSED, None
        task.run_token += 1
        self.tasks.pop(task.id, None)

    def close(self, task: Task, now: float) -> None:
        task.host.tasks.remove(task)
        task.host.last_task_end = now
        if not task.host.tasks:
            task.host.idle_since = now
        task.state, task.host, task.end_ts = CLOSED, None, now
        del self.tasks[task.id]

    # --- kojid ------------------------------------------------------------------------------
    def _ready_for_task(self, host: Host) -> bool:
        return host.enabled and host.load() <= host.capacity and len(host.open_tasks()) < host.maxjobs

    def poll(self, host: Host, now: float) -> None:
        """One pass of kojid's loop: updateHost, getTasks (maybe a scheduler run), take tasks."""
        host.ready = self._ready_for_task(host)
        host.update_ts = now
        if not host.ready:
            return
        assigned = [t for t in host.tasks if t.state == ASSIGNED]
        if not assigned:
            self.run_scheduler(now)
            assigned = [t for t in host.tasks if t.state == ASSIGNED]
        for task in sorted(assigned, key=lambda t: t.sort_key):
            if not self._ready_for_task(host):
                host.ready = False
                break
            self._open(task, now)

    def _open(self, task: Task, now: float) -> None:
        task.state, task.weight = OPEN, task.open_weight
        task.wait_s += now - task.queued_since
        task.starts += 1
        if task.first_start_ts is None:
            task.first_start_ts = now
        if self.on_open is not None:
            self.on_open(task, now)

    # --- scheduler ----------------------------------------------------------------------------
    def run_scheduler(self, now: float, force: bool = False) -> bool:
        """TaskScheduler.run(): check hosts, assign FREE tasks, check active tasks."""
        if not force and now - self.last_run < RUN_INTERVAL_S:
            return False
        self.last_run = now
        self.runs += 1
        hosts = [h for h in self.hosts.values() if h.enabled]
        for h in hosts:                                   # check_hosts
            if h.ready and (h.update_ts is None or now - h.update_ts > READY_TIMEOUT_S):
                h.ready = False
        self._assign(hosts, now)
        self._check_active(hosts, now)
        return True

    def _assign(self, hosts: list[Host], now: float) -> None:
        state = {h.name: [h.scheduler_load(), len(h.tasks)] for h in hosts}
        full_bins: set[tuple[str, str]] = set()
        bins: dict[tuple[str, str], list[Host]] = {}
        taken: list[Task] = []
        for task in self.free[:FREE_TASK_LIMIT]:
            key = (task.channel, task.arch)
            if key in full_bins:
                continue
            if key not in bins:
                bins[key] = [h for h in hosts if h.serves(task)]
            min_avail = max(0.0, task.weight - CAPACITY_OVERCOMMIT)
            best, best_rank, any_room = None, 0.0, False
            for h in bins[key]:
                load, n = state[h.name]
                if not (h.ready and n < h.maxjobs and h.capacity - load > min_avail):
                    continue
                any_room = True
                ts = task.refused.get(h.name)
                if ts is not None and now - ts < SOFT_REFUSAL_TIMEOUT_S:
                    continue
                if best is None or load + n < best_rank:
                    best, best_rank = h, load + n
            if not any_room and min_avail == 0.0:
                full_bins.add(key)
            if best is None:
                continue
            state[best.name][0] += task.weight
            state[best.name][1] += 1
            task.state, task.host, task.assign_ts = ASSIGNED, best, now
            best.tasks.append(task)
            taken.append(task)
        if taken:
            gone = set(map(id, taken))
            self.free = [t for t in self.free if id(t) not in gone]

    def _check_active(self, hosts: list[Host], now: float) -> None:
        for h in hosts:
            for task in list(h.tasks):
                if task.state == ASSIGNED and now - task.assign_ts > ASSIGN_TIMEOUT_S:
                    if h.update_ts is not None and h.update_ts > task.assign_ts:
                        task.refused[h.name] = now
                    self.free_task(task, now)
                elif task.state == OPEN and h.update_ts is not None and now - h.update_ts > HOST_TIMEOUT_S:
                    self.free_task(task, now)
