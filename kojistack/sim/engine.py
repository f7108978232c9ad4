"""The discrete-event engine: arrivals, kojid polls, task runs, builder boots, spot interruptions,
fleet ticks, kojira's repo regenerations, and the samples and records the metrics are computed from.

Builder timeline (cloud-init/payload/builder/bin/kojistack-bootstrap; figures in docs/simulator.md):
launch -> `boot_s` (EC2 start, OS boot, cloud-init, key + CSR handed over; the instance sits in
Pending:Wait) -> the fleet registers it (the controller on its next loop) while the builder
installs packages for `packages_s` -> `start_s` after both (cert poll, kojid started) -> kojid's
first poll, then one every 15 s.

Event-driven: a kojid poll is simulated only when it can change something (a task was assigned to
the host, a task of it opened, closed or started waiting, the host was enabled or disabled); in
between, its check-in time follows its poll phase. The scheduler runs at the first poll, 60 s
after its last run, of a host that is ready and holds nothing assigned, exactly as before; the
engine finds that poll from the hosts' phases instead of simulating every idle poll. Every count
the samples need is kept up to date on each transition, so a run costs about the same per task
whatever the queue length.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import TypedDict

from .. import names
from ..controller import decide
from .koji_model import CLOSED, KOJID_POLL_S, OPEN, RUN_INTERVAL_S, Host, Hub, Task
from .workloads import TaskSpec, Workload

HUB_HOST = names.HUB_HOST
# the channels, as the stack names them (kojistack/names.py; the controller reads names.env)
BUILDER_CHANNELS = frozenset({names.CHANNEL_DEFAULT})
HUB_CHANNELS = frozenset({names.CHANNEL_LIGHT, names.CHANNEL_CREATEREPO})
LIGHT_CHANNEL = names.CHANNEL_LIGHT
CREATEREPO_CHANNEL = names.CHANNEL_CREATEREPO
ARCHES = ("x86_64", "aarch64")


def policy(**tunables: object) -> decide.Policy:
    """The controller's policy with the stack's channels (as settings.from_env builds it on the hub)."""
    return decide.Policy((names.CHANNEL_DEFAULT,), (names.CHANNEL_LIGHT, names.CHANNEL_CREATEREPO),
                         names.CHANNEL_LIGHT, **tunables)  # type: ignore[arg-type]


class HubKojidKnobs(TypedDict):
    """SimConfig fields that size the hub's kojid (light channel)."""

    light_capacity: float
    light_maxjobs: int


# kojira (util/kojira, koji 1.35.3): its loop sleeps `sleeptime` (15 s); a stale build tag gets a
# newRepo task (hub kojihub/repos.py: channel createrepo, priority 15; kojid NewRepoTask weight 0.1)
# whose createrepo children (one per arch, arch noarch, weight 1.5) run in the createrepo channel.
# The default hub (m7i.large, 8 GiB) reports about this MemTotal; the hub sizes its kojid's maxjobs
# from it (cloud-init/payload/hub/python/kojistack_hub/sizing.py light_slots: (MiB - 3072) / 24 = 189;
# tests/hub/test_configs.py holds the two equal). Before issue 14 the hub shipped 20 / 50.
HUB_MEM_TOTAL_KIB = 7_800_000
SHIPPED_BEFORE: HubKojidKnobs = {"light_capacity": 20.0, "light_maxjobs": 50}

KOJIRA_SLEEP_S = 15.0
NEWREPO_PRIORITY = 15
NEWREPO_WEIGHT = 0.1
CREATEREPO_WEIGHT = 1.5
NEWREPO_OWN_S = 10.0            # repo_init and the merge after the children (assumption)
MID_WAVE_S = 10.0               # a parent's own work between waves (BuildTask reads the SRPM header)


@dataclass(frozen=True)
class SimConfig:
    """Everything about the system under test that is not the workload or the fleet policy."""

    period_s: float = 20.0              # controller loop period (controller settings.py default)
    boot_s: float = 80.0                # launch -> CSR handed over (Pending:Wait)
    packages_s: float = 90.0            # CSR handed over -> packages installed (parallel to registration)
    start_s: float = 15.0               # registered and installed -> kojid's first poll
    vcpus: int = 8                      # one size per group: 2xlarge
    builder_maxjobs: int | None = None  # None: the vCPUs (cloud-init/payload/builder/bin/kojistack-kojid-conf)
    light_capacity: float = 189.0       # the hub's own kojid: capacity = maxjobs (kojistack-ready)
    light_maxjobs: int = 189            # kojistack_hub light-slots for HUB_MEM_TOTAL_KIB (kojid.conf.in)
    light_hosts: bool = True            # light hosts beyond the hub's kojid (the stack's LightGroup)
    spot_rate_per_hour: float = 0.0     # interruptions per builder-hour
    spot_notice_s: float = 120.0        # EC2's two-minute warning; kojid is stopped at once
    min_size: int = 0
    max_size: int | None = None         # None: the workload's max per arch
    idle_s: float = 600.0               # controller scale-in idle time (stack default)
    headroom_weight: float = 0.0
    sample_s: float = 60.0
    seed: int = 1
    limit_s: float = 14 * 86400.0       # stop this long after the last arrival even if tasks remain
    kojira: bool = True                 # model kojira's newRepo/createrepo work on the hub's kojid
    createrepo_s: float = 120.0         # one createrepo_c --update of the build tag (assumption)


@dataclass(eq=False)
class Instance:
    """One builder instance (EC2 + Auto Scaling view)."""

    id: str
    arch: str
    launched_at: float
    lifecycle: str = "Pending"
    ec2_state: str = "running"
    slot: str | None = None
    drain_started: float | None = None
    csr_ready: bool = False
    ended_at: float | None = None
    interrupted: bool = False
    installed_at: float = 0.0           # packages in place (kojid can start once also registered)
    role: str = "builder"               # "builder" or "light" (a light-channel host)

    @property
    def ended(self) -> float:
        """When it was terminated: every instance of a finished run's Record has ended (Engine.run)."""
        if self.ended_at is None:
            raise RuntimeError(f"instance {self.id} is still running")
        return self.ended_at


@dataclass
class Sample:
    """The system at one sample time, per arch."""

    t: float
    queued: dict[str, int]
    running: dict[str, int]
    builders: dict[str, int]
    booting: dict[str, int]
    parents_queued: int
    light_hosts: int = 0


@dataclass
class Record:
    """What a run leaves for the metrics."""

    tasks: list[Task] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    end_s: float = 0.0
    last_close_s: float = 0.0
    busy_weight_s: dict[str, float] = field(default_factory=dict)
    max_load_over_capacity: float = -1e9  # worst (load before an open - capacity); Koji needs <= 0
    max_jobs_over: int = -10**9           # worst (tasks held - maxjobs) at an open; Koji needs <= 0
    truncated: bool = False             # stopped at the time limit with tasks unfinished
    polls: int = 0                      # kojid polls simulated
    events: int = 0
    newrepos: int = 0                   # kojira's newRepo tasks


class Engine:
    """One simulation run of a workload against one fleet policy."""

    def __init__(self, workload: Workload, fleet, cfg: SimConfig = SimConfig()) -> None:
        self.workload, self.fleet, self.cfg = workload, fleet, cfg
        self.max_size = cfg.max_size if cfg.max_size is not None else workload.max_per_arch
        self.rng = random.Random(cfg.seed * 7919 + 17)
        self.now = 0.0
        self.events: list = []
        self.seq = itertools.count()
        self.ids = itertools.count(1)
        self.inst_ids = itertools.count(1)
        self.host_order = itertools.count()
        self.hub = Hub()
        self.hub.on_open = self._on_open
        self.hub.on_change = self._wake
        self.instances: list[Instance] = []
        self.live_by_arch: dict[str, dict[str, Instance]] = {a: {} for a in ARCHES}
        self.live_light: dict[str, Instance] = {}
        self.desired = {a: 0 for a in ARCHES}
        self.light_desired = 0
        self.rec = Record(busy_weight_s={a: 0.0 for a in ARCHES})
        self.pending_top = len(workload.tasks)
        self.open_tasks = 0
        self.sched_gen = 0                  # bumps on every scheduler run
        self.atmax: dict[str, list[float]] = {a: [] for a in ARCHES}
        self.light_full: list[float] = []
        self.repo_dirty = False
        self.newrepo_active = False
        hub_host = Host(HUB_HOST, frozenset({"x86_64"}), HUB_CHANNELS, cfg.light_capacity, cfg.light_maxjobs,
                        order=next(self.host_order))
        self.hub.hosts[HUB_HOST] = hub_host
        self._start_polling(hub_host, self.rng.uniform(0, KOJID_POLL_S))
        for spec in workload.tasks:
            self.at(spec.arrival_s, self._arrive, spec, None)
        self.at(0.0, self._sample)
        self.at(0.0, self._sched_due, self.sched_gen)
        if cfg.kojira:
            self.at(self.rng.uniform(0, KOJIRA_SLEEP_S), self._kojira)
        if cfg.light_hosts:
            from .light import LightHosts

            self.light = LightHosts()
            self.at(0.0, self._light_step)
        fleet.start(self)

    # --- event plumbing ----------------------------------------------------------------------
    def at(self, t: float, fn, *args) -> None:
        heapq.heappush(self.events, (t, next(self.seq), fn, args))

    def run(self) -> Record:
        """Run until every task is closed and the fleet has had `tail_s` to settle."""
        stop_at = None
        limit = self.workload.horizon_s + self.cfg.limit_s
        events = self.events
        n = 0
        while events:
            t, _, fn, args = heapq.heappop(events)
            if (stop_at is not None and t > stop_at) or t > limit:
                self.rec.truncated = stop_at is None
                break
            self.now = t
            fn(*args)
            n += 1
            if stop_at is None and self.pending_top == 0 and self.open_tasks == 0 and not self.repo_dirty:
                self.rec.last_close_s = self.now
                stop_at = self.now + self.fleet.tail(self)
        self.rec.events = n
        self.rec.end_s = self.now if stop_at is None else stop_at
        for inst in self.instances:
            if inst.ended_at is None:
                inst.ended_at = self.rec.end_s
        self.rec.instances = list(self.instances)
        return self.rec

    # --- tasks ---------------------------------------------------------------------------------
    def _arrive(self, spec: TaskSpec, parent: Task | None) -> None:
        waves = tuple(w for w in (spec.children, spec.then) if w)
        task = Task(next(self.ids), spec.method, spec.arch, spec.channel, spec.priority, spec.duration_s,
                    spec.weight, spec.post_s, parent, waves)
        if parent is None:
            self.pending_top -= 1
        else:
            parent.children.append(task)
        self.open_tasks += 1
        self.rec.tasks.append(task)
        self.hub.create(task, self.now)

    def _host_arch(self, host: Host) -> str:
        return next(iter(host.arches))

    def _on_open(self, task: Task, now: float) -> None:
        host = task.on_host
        task.ran_on.append(host.name)
        before = host.load() - (0.0 if task.waiting else task.weight)
        self.rec.max_load_over_capacity = max(self.rec.max_load_over_capacity, before - host.capacity)
        self.rec.max_jobs_over = max(self.rec.max_jobs_over, host.n_open - host.maxjobs)
        if task.channel in BUILDER_CHANNELS:
            arch = self._host_arch(host)
            if self.live_count(arch) >= self.max_size or _seen_between(self.atmax[arch], task.queued_since, now):
                task.capped = True
        elif task.channel == LIGHT_CHANNEL and _seen_between(self.light_full, task.queued_since, now):
            task.capped = True
        self.at(now + task.duration_s, self._own_work_done, task, task.run_token)

    def _own_work_done(self, task: Task, token: int) -> None:
        if task.run_token != token or task.state != OPEN:
            return
        if task.wave < len(task.child_specs):
            wave = task.child_specs[task.wave]
            task.wave += 1
            self.hub.set_waiting(task, True)
            for spec in wave:
                self._arrive(spec, task)
            return
        self._finish(task)

    def _finish(self, task: Task) -> None:
        host = task.host
        if host is not None and host.channels == BUILDER_CHANNELS and task.first_start_ts is not None:
            self.rec.busy_weight_s[self._host_arch(host)] += task.weight * task.duration_s
        self.hub.close(task, self.now)
        self.open_tasks -= 1
        if task.method == "newRepo":
            self.newrepo_active = False
        elif task.method == "build" and task.parent is None:
            self.repo_dirty = self.cfg.kojira       # the build is tagged: the build tag's repo is stale
        parent = task.parent
        if parent is not None and parent.state == OPEN and all(c.state == CLOSED for c in parent.children):
            self.hub.set_waiting(parent, False)
            if parent.wave < len(parent.child_specs):
                self.at(self.now + MID_WAVE_S, self._own_work_done, parent, parent.run_token)
            else:
                self.at(self.now + parent.post_s, self._post_done, parent, parent.run_token)

    def _post_done(self, task: Task, token: int) -> None:
        if task.run_token == token and task.state == OPEN:
            self._finish(task)

    def _kojira(self) -> None:
        """kojira's loop: a stale build tag gets one newRepo at a time (hub MaxRepoTasks bounds more)."""
        if self.repo_dirty and not self.newrepo_active:
            self.repo_dirty = False
            self.newrepo_active = True
            self.rec.newrepos += 1
            kids = tuple(TaskSpec("createrepo", "noarch", CREATEREPO_CHANNEL, self.cfg.createrepo_s, CREATEREPO_WEIGHT,
                                  priority=NEWREPO_PRIORITY - 1) for _ in ARCHES)
            spec = TaskSpec("newRepo", "noarch", CREATEREPO_CHANNEL, NEWREPO_OWN_S, NEWREPO_WEIGHT,
                            priority=NEWREPO_PRIORITY, post_s=NEWREPO_OWN_S, children=kids)
            self.pending_top += 1
            self._arrive(spec, None)
        if self.pending_top or self.open_tasks or self.repo_dirty:
            self.at(self.now + KOJIRA_SLEEP_S, self._kojira)

    def _light_step(self) -> None:
        """The light hosts follow the light channel's demand every controller period, whatever
        the builders' policy (they are part of the system, not of the policy compared)."""
        self.light.step(self)
        self.at(self.now + self.cfg.period_s, self._light_step)

    # --- kojid polls and the scheduler's trigger -------------------------------------------------
    def _start_polling(self, host: Host, first: float, schedule: bool = True) -> None:
        host.alive, host.phase, host.dirty = True, first, True
        host.poll_pending = schedule
        if schedule:
            self.at(first, self._poll, host)

    def _wake(self, host: Host) -> None:
        """Something changed on `host`: simulate its next poll."""
        if host.alive and not host.poll_pending and host.phase is not None:
            host.poll_pending = True
            self.at(host.next_poll(self.now), self._poll, host)

    def _poll(self, host: Host) -> None:
        host.poll_pending = False
        if not host.alive:
            return
        self.rec.polls += 1
        runs = self.hub.runs
        self.hub.poll(host, self.now)
        if self.hub.runs != runs:
            self._after_run()
        elif self.now - self.hub.last_run >= RUN_INTERVAL_S - 1e-9 and not self.sched_pending:
            self._sched_due(self.sched_gen)

    sched_pending = False

    def force_scheduler_run(self) -> None:
        """scheduler.doRun(force=True), as the controller calls it: the regular runs keep their
        cycle (a forced run does not stamp the RunInterval clock, Hub.run_scheduler)."""
        self.hub.run_scheduler(self.now, force=True)

    def _after_run(self) -> None:
        self.sched_gen += 1
        self.sched_pending = False
        self.at(self.hub.last_run + RUN_INTERVAL_S, self._sched_due, self.sched_gen)

    def _sched_due(self, gen: int) -> None:
        """The scheduler may run again: find the first poll of a host that would call it."""
        if gen != self.sched_gen:
            return
        best, best_t = None, None
        for h in self.hub.hosts.values():
            if h.alive and h.phase is not None and not h.n_assigned and h.ready_for_task():
                t = h.next_poll(self.now)
                if best_t is None or t < best_t:
                    best, best_t = h, t
        if best is None or best_t is None:
            self.sched_pending = False      # a host that changes (and qualifies) will run it
            return
        self.sched_pending = True
        if not best.poll_pending:
            best.poll_pending = True
            self.at(best_t, self._poll_for_scheduler, best)
        else:
            self.at(best_t, self._resched, gen)

    def _poll_for_scheduler(self, host: Host) -> None:
        self.sched_pending = False
        if not host.alive:
            # the host chosen to run the scheduler stopped before its poll (a builder terminated):
            # every other kojid still polls, and the first one that qualifies runs it
            self._sched_due(self.sched_gen)
            return
        self._poll(host)

    def _resched(self, gen: int) -> None:
        self.sched_pending = False
        if gen == self.sched_gen and self.now - self.hub.last_run >= RUN_INTERVAL_S - 1e-9:
            self._sched_due(gen)

    # --- hosts and builders --------------------------------------------------------------------
    def live(self, arch: str | None = None) -> list[Instance]:
        if arch is None:
            return [i for a in ARCHES for i in self.live_by_arch[a].values()]
        return list(self.live_by_arch[arch].values())

    def live_count(self, arch: str) -> int:
        return len(self.live_by_arch[arch])

    def launch(self, arch: str, boot_s: float | None = None, role: str = "builder") -> Instance:
        inst = Instance(f"i-{next(self.inst_ids):06d}", arch, self.now, role=role)
        self.instances.append(inst)
        (self.live_light if role == "light" else self.live_by_arch[arch])[inst.id] = inst
        boot = self.cfg.boot_s if boot_s is None else boot_s
        inst.installed_at = self.now + (boot + self.cfg.packages_s if boot_s is None else boot)
        self.at(self.now + boot, self._csr_ready, inst)
        if self.cfg.spot_rate_per_hour > 0 and role == "builder":
            self.at(self.now + self.rng.expovariate(self.cfg.spot_rate_per_hour / 3600.0), self._spot, inst)
        return inst

    def _gone(self, inst: Instance) -> None:
        inst.ended_at, inst.ec2_state, inst.lifecycle = self.now, "terminated", "Terminated"
        (self.live_light if inst.role == "light" else self.live_by_arch[inst.arch]).pop(inst.id, None)

    def _csr_ready(self, inst: Instance) -> None:
        if inst.ended_at is None:
            inst.csr_ready, inst.lifecycle = True, "Pending:Wait"
            if inst.role == "builder":                  # light hosts register at the next light step
                self.fleet.on_pending(self, inst)

    def register(self, inst: Instance, slot: str, capacity: float, start_s: float | None = None,
                 channels: frozenset[str] = BUILDER_CHANNELS, maxjobs: int | None = None) -> None:
        """Complete the launch hook: the slot's host exists and is enabled; kojid starts later."""
        inst.slot, inst.lifecycle = slot, "InService"
        host = self.hub.hosts.get(slot)
        if host is None:
            host = Host(slot, frozenset({inst.arch}), channels, capacity,
                        maxjobs or self.cfg.builder_maxjobs or self.cfg.vcpus, order=next(self.host_order))
            self.hub.hosts[slot] = host
        host.enabled, host.capacity, host.idle_since = True, capacity, self.now
        host.alive, host.phase = False, None
        ready_at = max(self.now, inst.installed_at) + (self.cfg.start_s if start_s is None else start_s)
        self.at(ready_at, self._start_kojid, inst, host)

    def set_enabled(self, host: Host, enabled: bool) -> None:
        if host.enabled != enabled:
            host.enabled = enabled
            self._wake(host)

    def _start_kojid(self, inst: Instance, host: Host) -> None:
        if inst.ended_at is not None or inst.interrupted or inst.slot != host.name:
            return
        host.idle_since = self.now
        for task in list(host.tasks.values()):          # --force-lock: updateTasks frees stale tasks
            self.hub.free_task(task, self.now)
        self._start_polling(host, self.now, schedule=False)
        self._poll(host)

    def stop_kojid(self, inst: Instance) -> None:
        """SIGTERM: kojid frees its OPEN tasks (they restart from scratch) and reports not ready."""
        host = self.hub.hosts.get(inst.slot) if inst.slot else None
        if host is None or not host.alive:
            return
        host.update_ts = host.last_checkin(self.now)
        host.alive, host.ready, host.phase = False, False, None
        for task in [t for t in host.tasks.values() if t.state == OPEN]:
            self.hub.free_task(task, self.now)

    def terminate(self, inst: Instance, decrement: bool) -> None:
        """TerminateInstanceInAutoScalingGroup; without a decrement the group replaces it."""
        if inst.ended_at is not None:
            return
        self.stop_kojid(inst)
        self._gone(inst)
        if inst.role == "light":
            if decrement:
                self.light_desired = max(0, self.light_desired - 1)
            self.reconcile_light()
            return
        if decrement:
            self.desired[inst.arch] = max(0, self.desired[inst.arch] - 1)
        self.reconcile(inst.arch)

    def _spot(self, inst: Instance) -> None:
        if inst.ended_at is not None:
            return
        inst.interrupted = True
        self.stop_kojid(inst)
        self.at(self.now + self.cfg.spot_notice_s, self._spot_reclaim, inst)

    def _spot_reclaim(self, inst: Instance) -> None:
        if inst.ended_at is None:
            self._gone(inst)
            self.reconcile(inst.arch)

    def set_desired(self, arch: str, n: int) -> None:
        self.desired[arch] = max(0, min(self.max_size, n))
        self.reconcile(arch)

    def reconcile(self, arch: str) -> None:
        """The Auto Scaling group launches up to desired; it never terminates protected builders."""
        missing = self.desired[arch] - self.live_count(arch)
        for _ in range(max(0, missing)):
            self.launch(arch)

    def set_light_desired(self, n: int, max_size: int) -> None:
        self.light_desired = max(0, min(max_size, n))
        self.reconcile_light()

    def reconcile_light(self) -> None:
        for _ in range(max(0, self.light_desired - len(self.live_light))):
            self.launch(LIGHT_ARCH, role="light")

    # --- samples -------------------------------------------------------------------------------
    def _sample(self) -> None:
        queued = {a: 0 for a in ARCHES}
        running = {a: 0 for a in ARCHES}
        for (channel, arch), n in self.hub.free_by_bin.items():
            if channel in BUILDER_CHANNELS and arch in queued:
                queued[arch] += n
        parents = sum(n for (channel, _a), n in self.hub.free_by_bin.items() if channel == LIGHT_CHANNEL)
        light_room = False
        for h in self.hub.hosts.values():
            if h.channels == BUILDER_CHANNELS:
                arch = self._host_arch(h)
                running[arch] += h.n_open
                queued[arch] += h.n_assigned
            elif LIGHT_CHANNEL in h.channels and h.alive and h.enabled and len(h.tasks) < h.maxjobs:
                light_room = True
        for arch in ARCHES:
            if self.live_count(arch) >= self.max_size:
                self.atmax[arch].append(self.now)
        if parents and not light_room:
            self.light_full.append(self.now)
        builders = {a: 0 for a in ARCHES}
        booting = {a: 0 for a in ARCHES}
        for a in ARCHES:
            for i in self.live_by_arch[a].values():
                if i.lifecycle == "InService":
                    builders[a] += 1
                elif i.lifecycle.startswith("Pending"):
                    booting[a] += 1
        self.rec.samples.append(Sample(self.now, queued, running, builders, booting, parents, len(self.live_light)))
        self.at(self.now + self.cfg.sample_s, self._sample)


LIGHT_ARCH = "aarch64"      # light hosts are small Graviton instances (no build work, only waiting)


def _seen_between(times: list[float], start: float, end: float) -> bool:
    """True when some observation in the sorted `times` lies in [start, end]."""
    i = bisect.bisect_left(times, start)
    return i < len(times) and times[i] <= end
