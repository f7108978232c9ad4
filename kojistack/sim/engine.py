"""The discrete-event engine: arrivals, kojid polls, task runs, builder boots, spot interruptions,
fleet ticks, and the samples and records the metrics are computed from.

Builder timeline (cloud-init/builder/files/bin/kojistack-bootstrap; figures in docs/simulator.md):
launch -> `boot_s` (EC2 start, OS boot, cloud-init, key + CSR handed over; the instance sits in
Pending:Wait) -> the fleet registers it (the controller on its next loop) while the builder
installs packages for `packages_s` -> `start_s` after both (cert poll, kojid started) -> kojid's
first poll, then one every 15 s.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field

from .koji_model import ASSIGNED, CLOSED, KOJID_POLL_S, OPEN, Host, Hub, Task
from .workloads import TaskSpec, Workload

HUB_HOST = "kojihub-builder"
BUILDER_CHANNELS = frozenset({"default"})
HUB_CHANNELS = frozenset({"light", "createrepo"})
ARCHES = ("x86_64", "aarch64")


@dataclass(frozen=True)
class SimConfig:
    """Everything about the system under test that is not the workload or the fleet policy."""

    period_s: float = 20.0              # controller loop period (controller settings.py default)
    boot_s: float = 80.0                # launch -> CSR handed over (Pending:Wait)
    packages_s: float = 90.0            # CSR handed over -> packages installed (parallel to registration)
    start_s: float = 15.0               # registered and installed -> kojid's first poll
    vcpus: int = 8                      # one size per group: 2xlarge
    builder_maxjobs: int | None = None  # None: the vCPUs (cloud-init/builder/files/bin/kojistack-kojid-conf)
    light_capacity: float = 20.0        # the hub's own kojid (cloud-init/hub/files/bin/kojistack-ready)
    light_maxjobs: int = 50             # cloud-init/hub/files/conf/kojid.conf.in
    spot_rate_per_hour: float = 0.0     # interruptions per builder-hour
    spot_notice_s: float = 120.0        # EC2's two-minute warning; kojid is stopped at once
    min_size: int = 0
    max_size: int | None = None         # None: the workload's max per arch
    idle_s: float = 600.0               # controller scale-in idle time (stack default)
    headroom_weight: float = 0.0
    sample_s: float = 60.0
    seed: int = 1
    limit_s: float = 14 * 86400.0       # stop this long after the last arrival even if tasks remain


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


@dataclass
class Sample:
    """The system at one sample time, per arch."""

    t: float
    queued: dict[str, int]
    running: dict[str, int]
    builders: dict[str, int]
    booting: dict[str, int]
    parents_queued: int


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
        self.hub = Hub()
        self.hub.on_open = self._on_open
        self.instances: list[Instance] = []
        self.desired = {a: 0 for a in ARCHES}
        self.rec = Record(busy_weight_s={a: 0.0 for a in ARCHES})
        self.pending_top = len(workload.tasks)
        self.open_tasks = 0
        hub_host = Host(HUB_HOST, frozenset({"x86_64"}), HUB_CHANNELS, cfg.light_capacity, cfg.light_maxjobs)
        self.hub.hosts[HUB_HOST] = hub_host
        self.at(self.rng.uniform(0, KOJID_POLL_S), self._poll, hub_host)
        for spec in workload.tasks:
            self.at(spec.arrival_s, self._arrive, spec, None)
        self.at(0.0, self._sample)
        fleet.start(self)

    # --- event plumbing ----------------------------------------------------------------------
    def at(self, t: float, fn, *args) -> None:
        heapq.heappush(self.events, (t, next(self.seq), fn, args))

    def run(self) -> Record:
        """Run until every task is closed and the fleet has had `tail_s` to settle."""
        stop_at = None
        limit = self.workload.horizon_s + self.cfg.limit_s
        while self.events:
            t, _, fn, args = heapq.heappop(self.events)
            if (stop_at is not None and t > stop_at) or t > limit:
                self.rec.truncated = stop_at is None
                break
            self.now = t
            fn(*args)
            if stop_at is None and self.pending_top == 0 and self.open_tasks == 0:
                self.rec.last_close_s = self.now
                stop_at = self.now + self.fleet.tail(self)
        self.rec.end_s = self.now if stop_at is None else stop_at
        for inst in self.instances:
            if inst.ended_at is None:
                inst.ended_at = self.rec.end_s
        self.rec.instances = list(self.instances)
        return self.rec

    # --- tasks ---------------------------------------------------------------------------------
    def _arrive(self, spec: TaskSpec, parent: Task | None) -> None:
        task = Task(next(self.ids), spec.method, spec.arch, spec.channel, spec.priority, spec.duration_s,
                    spec.weight, spec.post_s, parent, spec.children)
        if parent is None:
            self.pending_top -= 1
        else:
            parent.children.append(task)
        self.open_tasks += 1
        self.rec.tasks.append(task)
        self.hub.create(task, self.now)

    def _on_open(self, task: Task, now: float) -> None:
        host = task.host
        task.ran_on.append(host.name)
        before = host.load() - (0.0 if task.waiting else task.weight)
        self.rec.max_load_over_capacity = max(self.rec.max_load_over_capacity, before - host.capacity)
        self.rec.max_jobs_over = max(self.rec.max_jobs_over, len(host.open_tasks()) - host.maxjobs)
        if task.channel in BUILDER_CHANNELS:
            self._mark_capped(task)
        self.at(now + task.duration_s, self._own_work_done, task, task.run_token)

    def _own_work_done(self, task: Task, token: int) -> None:
        if task.run_token != token or task.state != OPEN:
            return
        if task.child_specs and not task.children:
            task.waiting = True
            for spec in task.child_specs:
                self._arrive(spec, task)
            return
        self._finish(task)

    def _finish(self, task: Task) -> None:
        host = task.host
        if host is not None and host.name != HUB_HOST and task.first_start_ts is not None:
            arch = next(iter(host.arches))
            self.rec.busy_weight_s[arch] += task.weight * task.duration_s
        self.hub.close(task, self.now)
        self.open_tasks -= 1
        parent = task.parent
        if parent is not None and parent.state == OPEN and all(c.state == CLOSED for c in parent.children):
            parent.waiting = False
            self.at(self.now + parent.post_s, self._post_done, parent, parent.run_token)

    def _post_done(self, task: Task, token: int) -> None:
        if task.run_token == token and task.state == OPEN:
            self._finish(task)

    def _mark_capped(self, task: Task) -> None:
        if self.live_count(task.arch) >= self.max_size:
            task.capped = True

    # --- hosts and builders --------------------------------------------------------------------
    def _poll(self, host: Host) -> None:
        if not host.alive:
            return
        self.hub.poll(host, self.now)
        self.at(self.now + KOJID_POLL_S, self._poll, host)

    def live(self, arch: str | None = None) -> list[Instance]:
        return [i for i in self.instances if i.ended_at is None and i.ec2_state == "running"
                and (arch is None or i.arch == arch)]

    def live_count(self, arch: str) -> int:
        return sum(1 for i in self.live(arch) if i.lifecycle not in ("Terminating", "Terminating:Wait"))

    def launch(self, arch: str, boot_s: float | None = None) -> Instance:
        inst = Instance(f"i-{next(self.inst_ids):06d}", arch, self.now)
        self.instances.append(inst)
        boot = self.cfg.boot_s if boot_s is None else boot_s
        inst.installed_at = self.now + (boot + self.cfg.packages_s if boot_s is None else boot)
        self.at(self.now + boot, self._csr_ready, inst)
        if self.cfg.spot_rate_per_hour > 0:
            self.at(self.now + self.rng.expovariate(self.cfg.spot_rate_per_hour / 3600.0), self._spot, inst)
        return inst

    def _csr_ready(self, inst: Instance) -> None:
        if inst.ended_at is None:
            inst.csr_ready, inst.lifecycle = True, "Pending:Wait"
            self.fleet.on_pending(self, inst)

    def register(self, inst: Instance, slot: str, capacity: float, start_s: float | None = None) -> None:
        """Complete the launch hook: the slot's host exists and is enabled; kojid starts later."""
        inst.slot, inst.lifecycle = slot, "InService"
        host = self.hub.hosts.get(slot)
        if host is None:
            host = Host(slot, frozenset({inst.arch}), BUILDER_CHANNELS, capacity,
                        self.cfg.builder_maxjobs or self.cfg.vcpus)
            self.hub.hosts[slot] = host
        host.enabled, host.capacity, host.alive, host.idle_since = True, capacity, False, self.now
        ready_at = max(self.now, inst.installed_at) + (self.cfg.start_s if start_s is None else start_s)
        self.at(ready_at, self._start_kojid, inst, host)

    def _start_kojid(self, inst: Instance, host: Host) -> None:
        if inst.ended_at is not None or inst.interrupted or inst.slot != host.name:
            return
        host.alive = True
        host.idle_since = self.now
        for task in list(host.tasks):          # --force-lock: updateTasks frees stale tasks
            self.hub.free_task(task, self.now)
        self._poll(host)

    def stop_kojid(self, inst: Instance) -> None:
        """SIGTERM: kojid frees its OPEN tasks (they restart from scratch) and reports not ready."""
        host = self.hub.hosts.get(inst.slot) if inst.slot else None
        if host is None or not host.alive:
            return
        host.alive, host.ready = False, False
        for task in [t for t in host.tasks if t.state == OPEN]:
            self.hub.free_task(task, self.now)

    def terminate(self, inst: Instance, decrement: bool) -> None:
        """TerminateInstanceInAutoScalingGroup; without a decrement the group replaces it."""
        if inst.ended_at is not None:
            return
        self.stop_kojid(inst)
        inst.ended_at, inst.ec2_state, inst.lifecycle = self.now, "terminated", "Terminated"
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
            inst.ended_at, inst.ec2_state, inst.lifecycle = self.now, "terminated", "Terminated"
            self.reconcile(inst.arch)

    def set_desired(self, arch: str, n: int) -> None:
        self.desired[arch] = max(0, min(self.max_size, n))
        self.reconcile(arch)

    def reconcile(self, arch: str) -> None:
        """The Auto Scaling group launches up to desired; it never terminates protected builders."""
        missing = self.desired[arch] - self.live_count(arch)
        for _ in range(max(0, missing)):
            self.launch(arch)

    # --- samples -------------------------------------------------------------------------------
    def _sample(self) -> None:
        queued = {a: 0 for a in ARCHES}
        running = {a: 0 for a in ARCHES}
        parents = 0
        for t in self.hub.free:
            if t.channel in BUILDER_CHANNELS and t.arch in queued:
                queued[t.arch] += 1
                if self.live_count(t.arch) >= self.max_size:
                    t.capped = True
            elif t.channel not in BUILDER_CHANNELS:
                parents += 1
        for h in self.hub.hosts.values():
            if h.name == HUB_HOST:
                continue
            arch = next(iter(h.arches))
            for t in h.tasks:
                if t.state == OPEN:
                    running[arch] += 1
                elif t.state == ASSIGNED:
                    queued[arch] += 1
                    if self.live_count(arch) >= self.max_size:
                        t.capped = True
        hub_host = self.hub.hosts[HUB_HOST]
        if len(hub_host.tasks) >= hub_host.maxjobs:      # parents queued now wait for the light channel
            for t in self.hub.free:
                if t.channel not in BUILDER_CHANNELS:
                    t.capped = True
        builders = {a: sum(1 for i in self.live(a) if i.lifecycle == "InService") for a in ARCHES}
        booting = {a: sum(1 for i in self.live(a) if i.lifecycle.startswith("Pending")) for a in ARCHES}
        self.rec.samples.append(Sample(self.now, queued, running, builders, booting, parents))
        self.at(self.now + self.cfg.sample_s, self._sample)

