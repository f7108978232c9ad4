"""The fleets the simulator compares: the controller (its real `decide.plan`), fixed fleets, and
the zero-boot oracle (the real-boot oracle is derived from it in `metrics`).

`ControllerFleet` is the only place the simulator meets the controller: every loop it builds the
`decide.Observed` the controller's shell would build from Koji and Auto Scaling, calls
`decide.plan`, and carries the `Plan` out as the shell would (register, drain, disable, terminate
with or without a decrement, free tasks, set desired capacity).
"""

from __future__ import annotations

import math

from kojistack.controller import decide

from .engine import ARCHES, BUILDER_CHANNELS, HUB_CHANNELS, LIGHT_CHANNEL, Engine, Instance, policy
from .koji_model import ASSIGNED, FREE, OPEN, Host, Task

TICK_ORACLE_S = 15.0


def group_name(arch: str) -> str:
    """The builder group's deterministic name, with a fixed stand-in stack name."""
    return f"sim-builders-{arch}"


class ControllerFleet:
    """Autoscaling by the controller's own decisions, one `decide.plan` per controller period."""

    name = "controller"

    def __init__(self, policy: decide.Policy | None = None) -> None:
        self.policy = policy
        self.plans = 0
        self.rows: dict = {}


    def start(self, eng: Engine) -> None:
        if self.policy is None:
            self.policy = policy(idle_seconds=eng.cfg.idle_s, headroom_weight=eng.cfg.headroom_weight,
                                        max_slots=max(99, eng.max_size))
        for arch in ARCHES:
            eng.set_desired(arch, eng.cfg.min_size)
        eng.at(0.0, self._tick, eng)

    def on_pending(self, eng: Engine, inst: Instance) -> None:
        """The controller registers Pending:Wait instances on its next loop."""

    def tail(self, eng: Engine) -> float:
        assert self.policy is not None  # set by start()
        return self.policy.idle_seconds + 3 * eng.cfg.period_s

    def _tick(self, eng: Engine) -> None:
        assert self.policy is not None  # set by start()
        self.plans += 1
        self.apply(eng, decide.plan(observe(eng, self.rows), self.policy))
        eng.at(eng.now + eng.cfg.period_s, self._tick, eng)

    def apply(self, eng: Engine, plan: decide.Plan) -> None:
        """Carry out a plan the way the controller's shell does."""
        carry_out(eng, plan, lambda inst, reg: eng.register(inst, reg.slot, reg.capacity))
        if plan.run_scheduler:                       # scheduler.doRun(force=True)
            eng.force_scheduler_run()
        for arch, n in sorted(plan.desired.items()):
            eng.set_desired(arch, n)


def carry_out(eng: Engine, plan, register) -> None:
    """The actions a builders' plan and a light plan share, in the shell's order (register with
    `register(instance, registration)`, refuse, drains, disable, terminate, free tasks)."""
    by_id = {i.id: i for i in eng.instances}
    hosts = eng.hub.hosts
    for reg in plan.register:
        register(by_id[reg.instance_id], reg)
    for ref in plan.refuse:
        eng.terminate(by_id[ref.instance_id], decrement=False)
    for inst in plan.start_drain:
        by_id[inst.id].drain_started = eng.now
    for inst in plan.cancel_drain:
        by_id[inst.id].drain_started = None
        if inst.slot in hosts:
            eng.set_enabled(hosts[inst.slot], True)
    for name in plan.disable_hosts:
        if name in hosts:
            eng.set_enabled(hosts[name], False)
    for term in plan.terminate:
        eng.terminate(by_id[term.instance_id], term.decrement)
    for task_id in plan.free_tasks:
        task = eng.hub.tasks.get(task_id)
        if task is not None and task.state in (OPEN, ASSIGNED):
            eng.hub.free_task(task, eng.now)

def observe(eng: Engine, cache: dict | None = None) -> decide.Observed:
    """What the controller's shell would observe now: Koji's active tasks and hosts, the groups.

    Each simulated task, host and instance keeps its last frozen row with the values it was made
    from, and re-uses it while they are unchanged (`cache` is accepted for callers that pass one)."""
    tasks = [task_row(t) for t in _observed_tasks(eng)]
    hosts = [host_row(h) for h in eng.hub.hosts.values()]
    instances = [instance_row(i, i.arch, eng.cfg.vcpus) for i in eng.live()]
    capacity = decide.builder_capacity(eng.cfg.vcpus)
    groups = tuple(decide.Group(group_name(a), a, eng.cfg.min_size, eng.max_size, eng.desired[a], capacity)
                   for a in ARCHES)
    return decide.Observed(eng.now, tuple(tasks), tuple(hosts), tuple(instances), groups)


def task_row(t: Task) -> decide.Task:
    """The frozen decide.Task of a simulated task, re-used while its observed values are unchanged."""
    task_key = (t.state, t.weight, t.host, t.waiting)
    row = t.__dict__.get("_row")
    if row is None or row[0] != task_key:
        row = t.__dict__["_row"] = (task_key, decide.Task(t.id, t.method, t.arch, t.channel, t.state, t.weight,
                                                          t.host.name if t.host else None, t.waiting))
    return row[1]


def host_row(h: Host) -> decide.Host:
    """The frozen decide.Host of a simulated host (`light`: it serves the light channel)."""
    host_key = (h.enabled, h.ready, h.capacity, h.last_task_end)
    row = h.__dict__.get("_row")
    if row is None or row[0] != host_key:
        row = h.__dict__["_row"] = (host_key, decide.Host(h.name, h.enabled, h.ready, h.capacity, h.last_task_end,
                                                          light=LIGHT_CHANNEL in h.channels))
    return row[1]


def instance_row(i: Instance, arch: str, vcpus: int) -> decide.Instance:
    """The frozen decide.Instance of a simulated instance (`arch`: its group key; decide.LIGHT for a light host)."""
    inst_key = (i.lifecycle, i.ec2_state, i.slot, i.drain_started, i.csr_ready)
    row = i.__dict__.get("_row")
    if row is None or row[0] != inst_key:
        sha = f"sha256-{i.id}" if i.csr_ready else None
        row = i.__dict__["_row"] = (inst_key, decide.Instance(
            i.id, arch, i.lifecycle, i.launched_at, i.ec2_state, True, True, i.slot, i.drain_started, sha, sha,
            vcpus=vcpus))
    return row[1]


def _observed_tasks(eng: Engine):
    """The active tasks the decisions read: those of the builders' channels, and FREE tasks of a
    channel no host serves. Tasks the hub's own kojid or light hosts hold or will take are read by
    no decision (tests/sim/test_engine.py holds the plans equal with and without them)."""
    served = set(BUILDER_CHANNELS) | set(HUB_CHANNELS)
    for channel, tasks in eng.hub.by_channel.items():
        if channel in BUILDER_CHANNELS:
            yield from tasks.values()
        elif channel not in served:
            yield from (t for t in tasks.values() if t.state == FREE)


def _lowest_free_slot(eng: Engine, arch: str) -> str:
    held = {i.slot for i in eng.live(arch) if i.slot}
    return next(s for s in (decide.slot_name(arch, n) for n in range(1, eng.max_size + 2)) if s not in held)


class FixedFleet:
    """A fixed number of builders per arch, booted before the workload starts; spot losses are
    replaced by the group (with the real boot time)."""

    def __init__(self, name: str, sizes: dict[str, int]) -> None:
        self.name, self.sizes = name, dict(sizes)

    def start(self, eng: Engine) -> None:
        for arch in ARCHES:
            eng.desired[arch] = self.sizes.get(arch, 0)
            for _ in range(self.sizes.get(arch, 0)):
                inst = eng.launch(arch, boot_s=0.0)
                inst.launched_at = 0.0

    def on_pending(self, eng: Engine, inst: Instance) -> None:
        start = 0.0 if inst.launched_at == 0.0 else None
        eng.register(inst, _lowest_free_slot(eng, inst.arch), decide.builder_capacity(eng.cfg.vcpus), start)

    def tail(self, eng: Engine) -> float:
        return 0.0


class OracleFleet:
    """Perfect knowledge and zero boot time: every 15 s it holds exactly the builders the active
    tasks' true weights need (launched ready at once) and terminates idle surplus at once."""

    name = "oracle-zero-boot"

    def start(self, eng: Engine) -> None:
        eng.at(0.0, self._tick, eng)

    def on_pending(self, eng: Engine, inst: Instance) -> None:
        eng.register(inst, _lowest_free_slot(eng, inst.arch), decide.builder_capacity(eng.cfg.vcpus), 0.0)

    def tail(self, eng: Engine) -> float:
        return TICK_ORACLE_S

    def _tick(self, eng: Engine) -> None:
        need = {a: 0.0 for a in ARCHES}
        for t in eng.hub.tasks.values():
            if t.channel in BUILDER_CHANNELS and t.state in (FREE, ASSIGNED, OPEN):
                arch = next(iter(t.host.arches)) if t.host is not None else t.arch
                arch = arch if arch in need else ARCHES[0]      # a FREE noarch task: the primary arch
                need[arch] += 0.0 if t.waiting else t.open_weight
        capacity = decide.builder_capacity(eng.cfg.vcpus)
        for arch in ARCHES:
            target = min(eng.max_size, math.ceil(round(need[arch] / capacity, 9)))
            live = [i for i in eng.live(arch) if i.lifecycle == "InService"]
            surplus = len(live) - target
            for inst in sorted(live, key=lambda i: i.slot or ""):
                host = eng.hub.hosts.get(inst.slot) if inst.slot else None
                if surplus <= 0:
                    break
                if host is not None and not host.tasks:
                    eng.terminate(inst, decrement=True)
                    surplus -= 1
            if target > eng.live_count(arch):
                eng.desired[arch] = target
                for _ in range(target - eng.live_count(arch)):
                    eng.launch(arch, boot_s=0.0)
        eng.at(eng.now + TICK_ORACLE_S, self._tick, eng)
