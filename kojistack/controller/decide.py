"""The controller's decisions, as pure functions over an observed state.

Nothing here does I/O or reads a clock: the shell (`loop.py`) observes Koji and AWS into an
`Observed`, calls `plan()`, and carries out the returned `Plan`. The simulator (`kojistack.sim`)
calls the same functions. Every rule of the builder fleet lives here:

- demand: FREE, ASSIGNED and OPEN tasks in the builders' channels per arch (waiting parents
  weigh 0, a FREE task at least buildArch's 1.5, noarch counted once, tasks no group serves
  reported, not scaled for); target: the builders Koji's scheduler fills with them (`Fill`), with
  room for `spare_room` more tasks while there is work, plus headroom, clamped to min/max;
- scale-in: idle builders (no task for `Policy.idle_seconds`), out-of-date ones first, then
  (packing) lightly loaded busy surplus builders, which finish their running tasks first; disable,
  then terminate with a decrement once Koji confirms no task; a running build is never stopped;
  a group whose max is 0 (stack deletion) is drained completely;
- a scheduler run is forced when FREE builder work waits while a ready builder has room for it;
- the terminate hook as a backstop: disable, heartbeat while tasks run up to a limit, complete;
- repair: tasks OPEN/ASSIGNED on a host whose instance is gone are freed, its host disabled;
  tasks ASSIGNED to one of our hosts that Koji shows disabled are freed (`stranded`);
- registration: a CSR is signed only when its key hash equals the instance's own tag and no
  other instance carries that hash; slots come from a fixed pool per arch and are re-used;
- light hosts (`light_plan`, part of every `Plan`): the light channel's capacity beyond the hub's
  own kojid, one Auto Scaling group of small hosts whose kojid serves only the light channel,
  registered like builders (slots light-NNN, channel `light` only), scaled to the active
  light-channel tasks (`light_target`), surplus ones disabled and terminated once empty: a waiting
  build parent is never stopped.

The controller keeps no memory between loops: a drain in progress is visible as the instance tag
names.TAG_DRAIN_STARTED (seconds since the epoch), so a restarted controller finishes it.
"""

import functools
import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import Optional

# Koji task states (koji.TASK_STATES), kept here so this module imports nothing.
FREE, OPEN, CLOSED, CANCELED, ASSIGNED, FAILED = 0, 1, 2, 3, 4, 5
ACTIVE_STATES = (FREE, OPEN, ASSIGNED)

# Auto Scaling lifecycle states the rules look at.
PENDING_WAIT = "Pending:Wait"
IN_SERVICE = "InService"
TERMINATING_WAIT = "Terminating:Wait"
#: states in which the instance still runs a kojid that may hold tasks
LIVE_STATES = frozenset(
    {"Pending", PENDING_WAIT, "Pending:Proceed", IN_SERVICE, "Standby", "EnteringStandby",
     "Terminating", TERMINATING_WAIT, "Detaching"}
)
#: EC2 states in which the machine (and its kojid) can still be running
RUNNING_EC2_STATES = frozenset({"pending", "running"})

ARCH_SLOT_PREFIX = {"x86_64": "x86-64", "aarch64": "aarch64"}
#: two to four digits (settings.MAX_SLOTS). Built from the prefixes, not retyped: the one declaration
#: is kojistack/names.py SLOT_RE, and settings.from_env refuses a names.env whose SLOT_RE differs
SLOT_PATTERN = re.compile("^(" + "|".join(ARCH_SLOT_PREFIX.values()) + ")-[0-9]{2,4}$")
NOARCH = "noarch"

# Tag keys (names.TAG_SLOT, TAG_CSR_SHA256, TAG_DRAIN_STARTED, and on the builder *group*
# TAG_IDLE_MINUTES and TAG_SPARE_TASKS, the BuilderIdleMinutes and BuilderSpareTasks parameters read
# every loop, so changing one touches only the group's tags, never the hub) are declared in
# kojistack/names.py and reach the controller as settings.Names: the decisions here never see a tag key.


@dataclass(frozen=True)
class Task:
    """One Koji task in state FREE, OPEN or ASSIGNED (others are not observed)."""

    id: int
    method: str
    arch: str
    channel: str
    state: int
    weight: float
    host: Optional[str] = None  # host name, None when FREE
    waiting: bool = False  # a parent waiting on children adds nothing to task_load


@dataclass(frozen=True)
class Host:
    """One Koji host (build machine); builders' hosts are named after their slot."""

    name: str
    enabled: bool
    ready: bool = False
    capacity: float = 2.0
    #: seconds since the epoch when its latest task finished (None: never ran one)
    last_task_end: Optional[float] = None
    #: the host is in the light channel (its enabled capacity counts as light slots beyond light hosts)
    light: bool = False


@dataclass(frozen=True)
class Instance:
    """One instance of a builder group, as Auto Scaling, EC2 and SSM see it."""

    id: str
    arch: str
    lifecycle: str  # Auto Scaling LifecycleState, e.g. "Pending:Wait", "InService"
    launched_at: float
    ec2_state: str = "running"
    healthy: bool = True
    up_to_date: bool = True  # launched from the group's current launch template version
    slot: Optional[str] = None  # tag names.TAG_SLOT, set by the controller at registration
    drain_started: Optional[float] = None  # tag names.TAG_DRAIN_STARTED
    tag_key_sha256: Optional[str] = None  # tag names.TAG_CSR_SHA256, set by the instance itself
    csr_key_sha256: Optional[str] = None  # SHA-256 of the public key in SSM .../csr/<id>
    #: step named in the instance's failure record (SSM .../bootstrap/<id>), None when there is none.
    #: Builders may not touch Auto Scaling (IAM scopes nothing to "the calling instance" for
    #: CompleteLifecycleAction/SetInstanceHealth), so the controller abandons or replaces them.
    bootstrap_failure: Optional[str] = None
    vcpus: int = 2


@dataclass(frozen=True)
class Group:
    """One builder Auto Scaling group (`${STACK}-builders-<arch>`)."""

    name: str
    arch: str
    min_size: int
    max_size: int
    desired: int
    capacity_per_builder: float  # Koji capacity (weight units) of one builder
    launch_failures: int = 0  # failed scaling activities in the last metric period
    idle_seconds: Optional[float] = None  # from the group's TAG_IDLE_MINUTES; None: Policy.idle_seconds
    spare_tasks: Optional[int] = None  # from the group's TAG_SPARE_TASKS; None: Policy.spare_tasks


@dataclass(frozen=True)
class Observed:
    """Everything one loop observed. `now` is seconds since the epoch."""

    now: float
    tasks: tuple[Task, ...]
    hosts: tuple[Host, ...]
    instances: tuple[Instance, ...]
    groups: tuple[Group, ...]
    #: the light hosts' group (None: the stack has none) and its instances (`arch` LIGHT)
    light: Optional["LightGroup"] = None
    light_instances: tuple[Instance, ...] = ()


#: hub.conf CapacityOvercommit as koji 1.35.3 ships it (kojistack leaves it): the scheduler gives a
#: host a task while capacity - load > max(0, weight - CapacityOvercommit) and the host holds fewer
#: than maxjobs tasks (kojihub/scheduler.py do_schedule); kojid takes it while its load <= capacity
CAPACITY_OVERCOMMIT = 5.0
#: builder/kojid BuildArchTask's base weight (before the per-hour adjustment)
BUILD_ARCH_WEIGHT = 1.5
#: Policy.spare_tasks and spare_fraction as shipped (settings: KOJISTACK_BUILDER_SPARE_TASKS,
#: KOJISTACK_BUILDER_SPARE_FRACTION). A builder group's TAG_SPARE_TASKS (the BuilderSpareTasks
#: parameter, whose default is this value: tests/template/test_updates.py) overrides spare_tasks
SPARE_TASKS = 2
SPARE_FRACTION = 0.05


@dataclass(frozen=True)
class Policy:
    """The tunables. Defaults match the stack's parameters' defaults. The channels have none: they
    are names the stack shares (kojistack/names.py, names.env on the hub; settings.from_env)."""

    builder_channels: tuple[str, ...]  # served by the builders
    hub_channels: tuple[str, ...]  # served by the hub's own kojid
    light_channel: str  # coordination tasks: served by the hub's own kojid and the light hosts
    idle_seconds: float = 600.0
    headroom_weight: float = 0.0
    drain_limit_seconds: float = 6 * 3600.0
    primary_arch: str = "x86_64"
    max_slots: int = 99
    #: pack: when there are more builders than the demand needs, also drain busy surplus builders
    #: (least loaded first, at most `pack_below` of their capacity in use, nothing ASSIGNED): they
    #: finish what they run, take nothing new, and go as soon as they are empty (Koji's scheduler
    #: spreads tasks over every ready host, so idle-only scale-in keeps half-used builders)
    pack: bool = True
    pack_below: float = 0.5
    #: room the builders of an arch keep, while it has builder work, for more tasks of
    #: `queued_task_weight`: a build that arrives while a new builder boots (3 minutes and more on
    #: EC2) starts at once instead of waiting for that boot. Arrivals grow with the work, so the
    #: room does: `spare_fraction` of the arch's tasks (queued and running), at least `spare_tasks`
    #: (the fraction matters at scale, beyond 40 tasks of an arch: docs/simulator.md, finding 9);
    #: `spare_tasks` 0 keeps no room, the fraction's neither (`spare_room`)
    spare_tasks: int = SPARE_TASKS
    spare_fraction: float = SPARE_FRACTION
    #: what a FREE task weighs at least: the hub shows a new task at 1.0 until kojid opens it and
    #: its handler sets its own weight (builder/kojid BuildArchTask: 1.5 and up, the builders' main
    #: work), so counting 1.0 would under-size every scale-out
    queued_task_weight: float = BUILD_ARCH_WEIGHT


@dataclass(frozen=True)
class Registration:
    """Register `instance_id` as koji host `slot`, sign its CSR, complete its launch hook."""

    instance_id: str
    arch: str
    slot: str
    capacity: float
    host_exists: bool
    #: the host's Koji channels, and only these; () = the builders' channels (KojiPort.channels)
    channels: tuple[str, ...] = ()
    #: the host's arch in Koji when `arch` is a group key, not an arch (light hosts: LightGroup.host_arch)
    koji_arch: str = ""


@dataclass(frozen=True)
class Refusal:
    """A CSR that is not signed; the launch hook is completed with ABANDON."""

    instance_id: str
    reason: str


@dataclass(frozen=True)
class Termination:
    """Terminate a drained, empty builder (TerminateInstanceInAutoScalingGroup)."""

    instance_id: str
    slot: Optional[str]
    decrement: bool


@dataclass(frozen=True)
class Metric:
    """One CloudWatch datum; `arch` becomes the `Arch` dimension."""

    name: str
    arch: str
    value: float
    unit: str = "Count"


@dataclass(frozen=True)
class Demand:
    """Per-arch figures behind a desired capacity."""

    queued_weight: float = 0.0
    running_weight: float = 0.0
    target: int = 0


@dataclass(frozen=True)
class Plan:
    """What one loop does. Each field is a set of idempotent actions."""

    desired: Mapping[str, int]  # arch -> desired capacity to set (only where it changes)
    register: tuple[Registration, ...] = ()
    refuse: tuple[Refusal, ...] = ()
    start_drain: tuple[Instance, ...] = ()  # disable host + tag drain-started
    #: drains called off because demand rose again: enable the host, set the drain tag empty (a
    #: busy draining builder serves new work at once; a new one would take a boot)
    cancel_drain: tuple[Instance, ...] = ()
    disable_hosts: tuple[str, ...] = ()  # hosts to disable (drains, vanished instances)
    terminate: tuple[Termination, ...] = ()
    complete_terminate: tuple[str, ...] = ()  # instance ids in Terminating:Wait: CONTINUE
    heartbeat: tuple[str, ...] = ()  # instance ids in Terminating:Wait still busy
    forget_failures: tuple[str, ...] = ()  # instance ids whose failure record is acted on: delete it
    free_tasks: tuple[int, ...] = ()
    #: force a scheduler run now (scheduler.doRun): FREE builder work waits while a ready builder
    #: holds nothing, e.g. one that just started (kojid would trigger a run only after RunInterval)
    run_scheduler: bool = False
    metrics: tuple[Metric, ...] = ()
    notes: tuple[str, ...] = field(default=())
    light: "LightPlan" = field(default_factory=lambda: LightPlan())


# --- slots -------------------------------------------------------------------------------------

def slot_name(arch: str, number: int) -> str:
    """`x86_64`, 3 -> `x86-64-03`."""
    return f"{ARCH_SLOT_PREFIX[arch]}-{number:02d}"


_SLOT_ARCH = {v: k for k, v in ARCH_SLOT_PREFIX.items()}


@functools.lru_cache(maxsize=4096)
def slot_arch(name: str) -> Optional[str]:
    """The arch a slot name belongs to, or None for hosts that are not builder slots."""
    if not SLOT_PATTERN.fullmatch(name):
        return None
    return _SLOT_ARCH[name.rsplit("-", 1)[0]]


def is_live(inst: Instance) -> bool:
    """True while the instance may still run kojid (its slot is held)."""
    return inst.lifecycle in LIVE_STATES and inst.ec2_state in RUNNING_EC2_STATES


def free_slots(arch: str, instances: Iterable[Instance], max_slots: int = 99) -> list[str]:
    """Slot names of `arch` not held by a live instance, lowest first (hosts are re-used)."""
    held = {i.slot for i in instances if i.slot and is_live(i)}
    return [s for s in (slot_name(arch, n) for n in range(1, max_slots + 1)) if s not in held]


# --- registration ------------------------------------------------------------------------------

def check_csr(inst: Instance, instances: Sequence[Instance]) -> Optional[str]:
    """Why `inst`'s CSR must not be signed, or None if its origin is proven.

    Proof: the SHA-256 of the CSR's public key equals the tag the instance put on itself (IAM lets
    an instance tag only itself), and no other instance carries that hash (a replayed CSR).
    Returns "" (empty) when there is nothing to decide yet (no CSR or no tag so far).
    """
    if inst.csr_key_sha256 is None or inst.tag_key_sha256 is None:
        return ""
    if inst.csr_key_sha256.lower() != inst.tag_key_sha256.lower():
        return "CSR key does not match the instance's own CSR-key tag (names.TAG_CSR_SHA256)"
    for other in instances:
        if other.id != inst.id and (other.tag_key_sha256 or "").lower() == inst.tag_key_sha256.lower():
            return f"CSR key already used by instance {other.id} (replay)"
    return None


def check_cn(cn: str, arch: str) -> None:
    """Raise ValueError unless `cn` is a slot name of `arch` (the only CNs the builder CA signs);
    `arch` LIGHT: a light host's slot name."""
    if arch == LIGHT:
        if not LIGHT_SLOT_PATTERN.fullmatch(cn):
            raise ValueError(f"refusing to sign CN {cn!r}: not a light host slot name")
        return
    if not SLOT_PATTERN.fullmatch(cn) or slot_arch(cn) != arch:
        raise ValueError(f"refusing to sign CN {cn!r}: not a {arch} builder slot name")


def _proven(inst: Instance, instances: Sequence[Instance], refusals: list[Refusal]) -> bool:
    """True when `inst` waits in Pending:Wait with a proven CSR; a forged or failed one is added to
    `refusals`; one that has not handed its CSR over yet is neither."""
    if inst.lifecycle != PENDING_WAIT or not is_live(inst):
        return False
    if inst.bootstrap_failure is not None:
        refusals.append(Refusal(inst.id, f"its bootstrap failed at step {inst.bootstrap_failure}"))
        return False
    reason = check_csr(inst, instances)
    if reason:
        refusals.append(Refusal(inst.id, reason))
    return reason is None


def registrations(state: Observed, policy: Policy) -> tuple[list[Registration], list[Refusal]]:
    """Slots for instances in Pending:Wait whose CSR is proven; refusals for forged ones."""
    regs: list[Registration] = []
    refusals: list[Refusal] = []
    hosts = {h.name for h in state.hosts}
    taken: set[str] = set()
    for inst in sorted(state.instances, key=lambda i: (i.launched_at, i.id)):
        if not _proven(inst, state.instances + state.light_instances, refusals):
            continue
        slot = inst.slot
        if slot is None:
            pool = [s for s in free_slots(inst.arch, state.instances, policy.max_slots) if s not in taken]
            if not pool:
                refusals.append(Refusal(inst.id, f"no free {inst.arch} slot (all {policy.max_slots} in use)"))
                continue
            slot = pool[0]
        taken.add(slot)
        regs.append(Registration(inst.id, inst.arch, slot, builder_capacity(inst.vcpus), slot in hosts))
    return regs, refusals


# --- the light channel ----------------------------------------------------------------------------
# Build parents wait in the light channel, one kojid process each, and a waiting parent holds one
# of its host's maxjobs (koji/daemon.py readyForTask). Light capacity is therefore memory: the hub's
# own kojid gets (MemTotal - reserve) / LIGHT_TASK_MIB slots (cloud-init/payload/hub/python/
# kojistack_hub/sizing.py, held equal by tests/sim/test_light.py), and beyond that light hosts,
# small instances whose kojid serves only the light channel, are scaled like the builders.
LIGHT_TASK_MIB = 24
LIGHT_HOST_RESERVE_MIB = 1024


def light_slots(mem_mib: int, reserve_mib: int = LIGHT_HOST_RESERVE_MIB) -> int:
    """maxjobs (= capacity) of a light-channel kojid on a machine with `mem_mib` of memory."""
    return max(1, (mem_mib - reserve_mib) // LIGHT_TASK_MIB)


def light_target(active_light_tasks: int, hub_slots: int, slots_per_host: int, max_hosts: int) -> int:
    """Light hosts needed so every active light-channel task (FREE, ASSIGNED, OPEN, waiting or
    not) has a slot: those beyond the hub's own kojid, over one light host's slots."""
    beyond = active_light_tasks - hub_slots
    return _clamp(math.ceil(beyond / slots_per_host) if beyond > 0 else 0, 0, max_hosts)


# --- light hosts ---------------------------------------------------------------------------------
# The light channel's capacity beyond the hub's own kojid: an Auto Scaling group of small hosts
# (kojistack/template/light.py) whose kojid serves only the light channel, with light_slots(MemTotal)
# job slots each (cloud-init/payload/builder/bin/kojistack-kojid-conf, held equal by
# tests/machines/builder). They boot and register like builders (CSR tag proof, the builder CA, the
# launch hook) under slot names light-NNN, in Koji channel `light` only. Every loop `light_plan`
# sets the group to `light_target` hosts: it calls back drains before launching, drains the least
# loaded surplus hosts (disabled: no new parent; the ones they hold finish their builds), and
# terminates a drained host with a decrement once Koji shows no task on it. A waiting build
# parent is never stopped: it would restart its whole build.
#: the light hosts' group key (their Instance.arch) and slot prefix; their channel is
#: Policy.light_channel (names.env, kojistack/names.py CHANNEL_LIGHT)
LIGHT = "light"
#: a light host's slot (Koji host name and certificate CN): one declaration, kojistack/names.py
#: LIGHT_SLOT_RE; settings.from_env refuses a names.env whose LIGHT_SLOT_RE differs
LIGHT_SLOT_PATTERN = re.compile("^" + LIGHT + "-[0-9]{3,4}$")
#: MemTotal over the instance type's memory (DescribeInstanceTypes MemoryInfo.SizeInMiB): the
#: kernel keeps the rest. m7i.large: 8,192 MiB, MemTotal about 7,800,000 kB (kojistack/sim/engine.py
#: HUB_MEM_TOTAL_KIB). The controller sizes a light host before it boots; the host itself counts
#: its own MemTotal, so an estimate too high only asks for a host late, never overfills one.
MEM_TOTAL_SHARE = 0.93


@dataclass(frozen=True)
class LightGroup:
    """The light hosts' Auto Scaling group (`${STACK}-light`)."""

    name: str
    min_size: int
    max_size: int
    desired: int
    slots_per_host: int  # light_slots of one light host (light_host_slots of its instance type)
    host_arch: str = "aarch64"  # the arch its hosts register with in Koji (noarch tasks go anywhere)


@dataclass(frozen=True)
class LightPlan:
    """What one loop does to the light hosts (same meaning as the Plan fields of the same name)."""

    desired: Optional[int] = None  # the group's desired capacity to set (None: leave it)
    register: tuple[Registration, ...] = ()
    refuse: tuple[Refusal, ...] = ()
    start_drain: tuple[Instance, ...] = ()
    cancel_drain: tuple[Instance, ...] = ()
    disable_hosts: tuple[str, ...] = ()
    terminate: tuple[Termination, ...] = ()
    complete_terminate: tuple[str, ...] = ()
    heartbeat: tuple[str, ...] = ()
    forget_failures: tuple[str, ...] = ()
    free_tasks: tuple[int, ...] = ()
    active: int = 0  # active light-channel tasks (FREE, ASSIGNED, OPEN)
    target: int = 0  # light hosts wanted


def light_slot_name(number: int) -> str:
    """3 -> `light-003`."""
    return f"{LIGHT}-{number:03d}"


def light_host_slots(size_in_mib: int) -> int:
    """light_slots of a light host whose instance type has `size_in_mib` of memory."""
    return light_slots(int(size_in_mib * MEM_TOTAL_SHARE))


def light_capacity(slots: int) -> float:
    """Koji capacity of a light host: its slots (a FREE parent weighs 1.0 until kojid opens it; Koji
    requires capacity > 1)."""
    return float(max(2, slots))


def hub_light_slots(state: Observed) -> int:
    """Job slots of the light channel's other hosts (the hub's own kojid): enabled, not light hosts."""
    return sum(int(h.capacity) for h in state.hosts
               if h.light and h.enabled and not LIGHT_SLOT_PATTERN.fullmatch(h.name))


def _light_registrations(state: Observed, g: LightGroup, channel: str) -> tuple[list[Registration], list[Refusal]]:
    regs: list[Registration] = []
    refusals: list[Refusal] = []
    hosts = {h.name for h in state.hosts}
    held = {i.slot for i in state.light_instances if i.slot and is_live(i)}
    numbers = (n for n in itertools.count(1) if light_slot_name(n) not in held)
    for inst in sorted(state.light_instances, key=lambda i: (i.launched_at, i.id)):
        if not _proven(inst, state.instances + state.light_instances, refusals):
            continue
        slot = inst.slot or light_slot_name(next(numbers))
        regs.append(Registration(inst.id, LIGHT, slot, light_capacity(g.slots_per_host), slot in hosts,
                                 channels=(channel,), koji_arch=g.host_arch))
    return regs, refusals


def light_plan(state: Observed, policy: Policy) -> LightPlan:
    """The light hosts' part of one loop (see the section comment above), in named steps: the
    target, drains called back, the group's desired capacity, new drains, drains in progress."""
    g = state.light
    if g is None:
        return LightPlan()
    busy = host_tasks(state)
    active = sum(1 for t in state.tasks if t.channel == policy.light_channel and t.state in ACTIVE_STATES)
    target = 0 if g.max_size <= 0 else _clamp(
        light_target(active, hub_light_slots(state), g.slots_per_host, g.max_size), g.min_size, g.max_size)
    regs, refusals = _light_registrations(state, g, policy.light_channel)
    live = [i for i in state.light_instances if is_live(i) and i.lifecycle not in (TERMINATING_WAIT, "Terminating")]
    kept = [i for i in live if i.drain_started is None]
    draining = sorted((i for i in live if i.drain_started is not None and i.lifecycle == IN_SERVICE and i.slot),
                      key=lambda i: i.id)
    back = draining[:max(0, target - len(kept))]  # a draining host is cheaper than a new one
    n_kept = len(kept) + len(back)
    drains = _light_drains(state, kept, busy, n_kept - target)
    terms, complete, beats, disable = _light_progress(state, policy, g, back, busy)
    free, vanished = _light_repairs(state, busy, regs, back)
    return LightPlan(
        desired=_light_desired(g, len(live), n_kept, target), register=tuple(regs), refuse=tuple(refusals),
        start_drain=tuple(drains) + _hook_drains(state.light_instances),
        cancel_drain=tuple(back),
        disable_hosts=tuple(sorted((set(disable) | set(vanished) | {i.slot for i in drains if i.slot})
                                   - {r.slot for r in regs} - {i.slot for i in back})),
        terminate=tuple(terms), complete_terminate=tuple(complete), heartbeat=tuple(beats),
        forget_failures=_forget_failures(state.light_instances, refusals, terms),
        free_tasks=tuple(free), active=active, target=target,
    )


def _hook_drains(instances: Iterable[Instance]) -> tuple[Instance, ...]:
    """Instances a terminate hook holds (Terminating:Wait, live) that carry no drain tag yet: tag
    and disable them (any termination: health replacement, spot, rebalance, stack delete)."""
    return tuple(i for i in sorted(instances, key=lambda i: i.id)
                 if i.lifecycle == TERMINATING_WAIT and i.drain_started is None and is_live(i))


def _forget_failures(instances: Iterable[Instance], refusals: Iterable[Refusal],
                     terms: Iterable[Termination]) -> tuple[str, ...]:
    """Ids of instances whose failure record is acted on now (refused or terminated): delete it."""
    failed = {i.id for i in instances if i.bootstrap_failure is not None}
    return tuple(sorted(({r.instance_id for r in refusals} | {t.instance_id for t in terms}) & failed))


def _light_desired(g: "LightGroup", live: int, n_kept: int, target: int) -> Optional[int]:
    """The light group's desired capacity to set, or None to leave it: up for the hosts missing
    beyond those kept and called back, never down (surplus hosts leave by drains), 0 at max 0."""
    if n_kept < target:
        want = min(g.max_size, max(g.desired, live + target - n_kept))
        return want if want != g.desired else None
    if g.max_size <= 0 and g.desired != 0:
        return 0
    return None


def _light_drains(state: Observed, kept: Sequence[Instance], busy: Mapping[str, list[Task]],
                  surplus: int) -> list[Instance]:
    """The `surplus` kept light hosts to drain: InService with a Koji host, fewest tasks first."""
    if surplus <= 0:
        return []
    hosts = {h.name for h in state.hosts}
    ready = [i for i in kept if i.lifecycle == IN_SERVICE and i.slot in hosts]
    ready.sort(key=lambda i: (len(busy.get(i.slot or "", ())), i.slot))
    return ready[:surplus]


def _light_progress(state: Observed, policy: Policy, g: "LightGroup", back: Sequence[Instance],
                    busy: Mapping[str, list[Task]]) -> tuple[list[Termination], list[str], list[str], list[str]]:
    """Drains in progress end like the builders' (_chosen_drains, _terminating_waits): disabled
    first, terminated with a decrement once Koji shows nothing on the host; the terminate hook is
    the backstop. Hosts called back (`back`) count as kept."""
    back_ids = {i.id for i in back}
    pseudo = replace(state, instances=tuple(replace(i, drain_started=None) if i.id in back_ids else i
                                            for i in state.light_instances),
                     groups=(Group(g.name, LIGHT, g.min_size, g.max_size, g.desired, float(g.slots_per_host)),))
    # a group whose max is 0 is being deleted (CloudFormation sets min, max and desired to 0 first) or
    # switched off: its terminate hooks wait for no parent (their children may never run again: the
    # builder groups go too); kojid's SIGTERM frees the parents, which the hub's kojid may take again
    hooks = policy if g.max_size > 0 else replace(policy, drain_limit_seconds=0.0)
    terms, complete, beats, disable = drain_progress(pseudo, hooks, busy)
    terms += failed_in_service(pseudo, {t.instance_id for t in terms})
    return terms, complete, beats, disable


#: published with dimension Arch=light, only by a stack that has the light hosts' group
LIGHT_METRIC_NAMES = ("LightChannelTasks", "LightHostsInService", "LightHostsDraining", "DesiredLightHosts")


def light_metrics(state: Observed, lp: LightPlan) -> list[Metric]:
    """The light channel's active tasks and the light hosts, for the dashboard and `status`."""
    if state.light is None:
        return []
    live = [i for i in state.light_instances if is_live(i)]
    return [Metric("LightChannelTasks", LIGHT, float(lp.active)),
            Metric("LightHostsInService", LIGHT, float(sum(1 for i in live if i.lifecycle == IN_SERVICE
                                                           and i.drain_started is None))),
            Metric("LightHostsDraining", LIGHT, float(sum(1 for i in live if i.drain_started is not None
                                                          or i.lifecycle == TERMINATING_WAIT))),
            Metric("DesiredLightHosts", LIGHT, float(lp.target))]


def _light_repairs(state: Observed, busy: Mapping[str, list[Task]], regs: Sequence[Registration] = (),
                   back: Sequence[Instance] = ()) -> tuple[list[int], list[str]]:
    """(tasks to free, hosts to disable) of light slots no live light host holds (`repairs` for
    builders); the tasks to free include those `stranded` on a disabled light host other than
    the ones this loop registers or calls back (`regs`, `back`: enabled again)."""
    enabled_now = [r.slot for r in regs] + [i.slot or "" for i in back]
    held = {i.slot for i in state.light_instances if i.slot and is_live(i)}
    free: list[int] = []
    disable: list[str] = []
    for h in sorted(state.hosts, key=lambda h: h.name):
        if not LIGHT_SLOT_PATTERN.fullmatch(h.name) or h.name in held:
            continue
        free.extend(sorted(t.id for t in busy.get(h.name, [])))
        if h.enabled:
            disable.append(h.name)
    return sorted(set(free) | set(stranded(state, busy, LIGHT_SLOT_PATTERN.fullmatch, enabled_now))), disable


def builder_capacity(vcpus: int) -> float:
    """Koji capacity of a builder: its vCPUs (Koji requires capacity > 1)."""
    return float(max(2, vcpus))


# --- demand ------------------------------------------------------------------------------------

def task_weight(task: Task) -> float:
    """Weight a task puts on a builder: a waiting parent adds nothing."""
    return 0.0 if task.waiting else task.weight


def demand(state: Observed, policy: Policy) -> tuple[dict[str, Demand], dict[str, float]]:
    """Per-arch demand of the builder groups, and the weight of FREE tasks no group can serve.

    Only tasks in `policy.builder_channels` count (coordination tasks run in the light channel on
    the hub); FREE tasks in a channel neither builders nor the hub serve are unservable. Running
    tasks count for their host's arch. A FREE task weighs at least `policy.queued_task_weight`; a
    FREE noarch task counts once: for the arch with spare in-service capacity, else the primary
    arch. The target is the builders Koji would fill with that work (`Fill`), with room for
    `spare_room` more tasks while there is work (at least the group's `spare_tasks` when its tag
    set one, else `policy.spare_tasks`), and `policy.headroom_weight` of room.
    """
    groups = {g.arch: g for g in state.groups if g.max_size > 0}
    tally = _Tally(groups, policy)
    for t in state.tasks:
        tally.add(t)
    spare = _spare_capacity(state, groups, tally.running)
    for t in sorted(tally.noarch_free, key=lambda t: t.id):
        arch = _noarch_home(t, spare, groups, policy)
        if arch is None:
            tally.unservable[NOARCH] = tally.unservable.get(NOARCH, 0.0) + task_weight(t)
            continue
        tally.queue(arch, queued_weight(t, policy))
        spare[arch] = spare.get(arch, 0.0) - queued_weight(t, policy)
    result = {arch: Demand(tally.queued[arch], tally.running[arch],
                           _clamp(_target(tally.fill[arch], policy, g.spare_tasks), g.min_size, g.max_size))
              for arch, g in groups.items()}
    for g in state.groups:
        if g.max_size <= 0:
            result[g.arch] = Demand(0.0, 0.0, 0)
    return result, tally.unservable


def queued_weight(t: Task, policy: Policy) -> float:
    """What a FREE task will weigh once kojid opens it: at least `policy.queued_task_weight`."""
    return max(task_weight(t), policy.queued_task_weight)


class Fill:
    """Builders of one arch as Koji's scheduler fills them with a stream of tasks, one after the
    other: a builder takes a task while it holds fewer than maxjobs tasks and capacity - load >
    max(0, weight - CAPACITY_OVERCOMMIT), so a full builder carries its capacity plus most of its
    last task (kojistack-kojid-conf sets maxjobs to the vCPUs, as the capacity)."""

    __slots__ = ("capacity", "maxjobs", "builders", "load", "tasks", "total")

    def __init__(self, capacity: float) -> None:
        self.capacity, self.maxjobs = capacity, max(1, int(capacity))
        self.builders, self.load, self.tasks = 0, 0.0, 0
        self.total = 0  # tasks placed on all builders (`tasks` counts the last builder's)

    def add(self, weight: float) -> None:
        if weight <= 0.0:
            return  # a waiting parent needs no room (it still holds one of its host's maxjobs)
        self.total += 1
        if self.builders == 0 or not admits(self.capacity, self.maxjobs, self.load, self.tasks, weight):
            self.builders, self.load, self.tasks = self.builders + 1, 0.0, 0
        self.load += weight
        self.tasks += 1


def admits(capacity: float, maxjobs: int, load: float, tasks: int, weight: float) -> bool:
    """Koji's scheduler would give a host with this load and task count a task of `weight`."""
    return tasks < maxjobs and capacity - load > max(0.0, weight - CAPACITY_OVERCOMMIT) + 1e-9


class _Tally:
    """demand()'s one pass over the observed tasks: weights queued and running per arch, each
    arch's `Fill`, FREE noarch tasks (placed afterwards), unservable weight per arch."""

    def __init__(self, groups: Mapping[str, Group], policy: Policy) -> None:
        self.policy = policy
        self.queued = {a: 0.0 for a in groups}
        self.running = {a: 0.0 for a in groups}
        self.fill = {a: Fill(g.capacity_per_builder) for a, g in groups.items()}
        self.unservable: dict[str, float] = {}
        self.noarch_free: list[Task] = []

    def queue(self, arch: str, weight: float) -> None:
        self.queued[arch] += weight
        self.fill[arch].add(weight)

    def add(self, t: Task) -> None:
        policy = self.policy
        if t.channel not in policy.builder_channels:
            if t.state == FREE and t.channel not in policy.hub_channels:  # a channel no host serves
                self.unservable[t.arch] = self.unservable.get(t.arch, 0.0) + task_weight(t)
        elif t.state in (OPEN, ASSIGNED) and t.host:
            arch = slot_arch(t.host)
            if arch in self.running:
                self.running[arch] += task_weight(t)
                self.fill[arch].add(task_weight(t))
        elif t.state != FREE:
            pass
        elif t.arch == NOARCH:
            self.noarch_free.append(t)
        elif t.arch in self.queued:
            self.queue(t.arch, queued_weight(t, policy))
        else:
            self.unservable[t.arch] = self.unservable.get(t.arch, 0.0) + task_weight(t)


def spare_room(tasks: int, policy: Policy, spare_tasks: Optional[int] = None) -> int:
    """Tasks of room an arch keeps while it has `tasks` (queued and running, > 0): at least
    `spare_tasks` (its group's; None: `policy.spare_tasks`), and `policy.spare_fraction` of the
    tasks. A `spare_tasks` of 0 keeps no room at all, the fraction's neither: the fraction rounds
    up, so it would keep a task of room for any work, and 0 would be 1."""
    least = policy.spare_tasks if spare_tasks is None else spare_tasks
    if least <= 0:
        return 0
    return max(least, math.ceil(round(policy.spare_fraction * tasks, 9)))


def _target(fill: Fill, policy: Policy, spare_tasks: Optional[int] = None) -> int:
    """Builders for an arch's work as Koji fills them, with room for `spare_room` more tasks
    while there is work, and at least `policy.headroom_weight` of room (even with none)."""
    if fill.builders:
        for _ in range(spare_room(fill.total, policy, spare_tasks)):
            fill.add(policy.queued_task_weight)
    if policy.headroom_weight > 0:
        room = max(0.0, fill.capacity - fill.load) if fill.builders else 0.0
        return fill.builders + math.ceil(round(max(0.0, policy.headroom_weight - room) / fill.capacity, 9))
    return fill.builders


def _spare_capacity(state: Observed, groups: Mapping[str, Group], running: Mapping[str, float]) -> dict[str, float]:
    spare = {}
    for arch, g in groups.items():
        serving = [i for i in state.instances if i.arch == arch and i.lifecycle == IN_SERVICE
                   and i.drain_started is None and is_live(i)]
        spare[arch] = len(serving) * g.capacity_per_builder - running[arch]
    return spare


def _noarch_home(t: Task, spare: Mapping[str, float], groups: Mapping[str, Group], policy: Policy) -> Optional[str]:
    for arch in sorted(groups, key=lambda a: (a != policy.primary_arch, a)):
        if spare.get(arch, 0.0) >= task_weight(t) and spare.get(arch, 0.0) > 0:
            return arch
    if policy.primary_arch in groups:
        return policy.primary_arch
    return min(groups) if groups else None


def _clamp(n: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, n))


# --- scale-in, drains, the terminate hook, repair ------------------------------------------------

def host_tasks(state: Observed) -> dict[str, list[Task]]:
    """OPEN/ASSIGNED tasks per host name (any channel: a draining host must finish them all)."""
    out: dict[str, list[Task]] = {}
    for t in state.tasks:
        if t.state in (OPEN, ASSIGNED) and t.host:
            out.setdefault(t.host, []).append(t)
    return out


def idle_since(inst: Instance, host: Optional[Host]) -> float:
    """When the builder last became idle: its latest task's end, or its launch."""
    end = host.last_task_end if host and host.last_task_end is not None else 0.0
    return max(inst.launched_at, end)


def choose_drains(state: Observed, policy: Policy, targets: Mapping[str, Demand],
                  busy: Optional[Mapping[str, list[Task]]] = None) -> list[tuple[Instance, bool]]:
    """Builders to start draining, each with whether its termination lowers the group's size.

    Per group: surplus = builders kept (live, not draining, not terminating) minus the target.
    Idle builders go first (`_idle_drains`), then, with packing, lightly loaded busy ones
    (`_pack_drains`). A group whose max is 0 drains every builder, idle or not (the busy ones
    finish their tasks first).
    """
    busy = host_tasks(state) if busy is None else busy
    hosts = {h.name: h for h in state.hosts}
    chosen: list[tuple[Instance, bool]] = []
    for g in state.groups:
        kept = _kept(state, g)
        if g.max_size <= 0:
            chosen.extend((i, False) for i in kept if i.lifecycle == IN_SERVICE)
            continue
        surplus = len(kept) - targets[g.arch].target if g.arch in targets else 0
        idle = _idle_builders(state, policy, g, kept, hosts, busy)
        drains, surplus = _idle_drains(idle, surplus)
        chosen.extend(drains)
        if policy.pack and surplus > 0:
            chosen.extend(_pack_drains(kept, {i.id for i, _ in drains}, surplus, hosts, busy, g, policy))
    return chosen


def _kept(state: Observed, g: Group) -> list[Instance]:
    """The group's builders that stay unless chosen: live, not draining, not terminating."""
    return [i for i in state.instances if i.arch == g.arch and is_live(i) and i.drain_started is None
            and i.lifecycle not in (TERMINATING_WAIT, "Terminating")]


def _idle_builders(state: Observed, policy: Policy, g: Group, kept: Sequence[Instance], hosts: Mapping[str, Host],
                   busy: Mapping[str, list[Task]]) -> list[tuple[bool, float, str, Instance]]:
    """(up to date, idle since, slot, instance) of the kept builders idle long enough to drain:
    InService, host enabled, no OPEN/ASSIGNED task for the group's idle time; out-of-date first,
    then longest idle."""
    limit = policy.idle_seconds if g.idle_seconds is None else g.idle_seconds
    idle = []
    for i in kept:
        if i.lifecycle != IN_SERVICE or not i.slot or busy.get(i.slot):
            continue
        host = hosts.get(i.slot)
        if host is None or not host.enabled:
            continue
        since = idle_since(i, host)
        if state.now - since >= limit:
            idle.append((i.up_to_date, since, i.slot, i))
    idle.sort(key=lambda x: (x[0], x[1], x[2]))
    return idle


def _idle_drains(idle: Sequence[tuple[bool, float, str, Instance]], surplus: int
                 ) -> tuple[list[tuple[Instance, bool]], int]:
    """(drains, surplus left): idle builders up to the surplus, with a decrement; idle out-of-date
    ones beyond it without one, so the group replaces them from the current launch template."""
    chosen: list[tuple[Instance, bool]] = []
    for up_to_date, _since, _slot, inst in idle:
        if surplus > 0:
            chosen.append((inst, True))
            surplus -= 1
        elif not up_to_date:
            chosen.append((inst, False))
    return chosen, surplus


def _pack_drains(kept: Sequence[Instance], chosen_ids: Set[str], surplus: int, hosts: Mapping[str, Host],
                 busy: Mapping[str, list[Task]], g: Group, policy: Policy) -> list[tuple[Instance, bool]]:
    """Busy builders to drain beyond the idle ones: builders that hold nothing go by the idle rule,
    so only the surplus beyond them is packed, least loaded first (`_pack`)."""
    empty = sum(1 for i in kept if i.id not in chosen_ids and not busy.get(i.slot or ""))
    n = surplus - empty
    return [(inst, True) for inst in _pack(kept, busy, hosts, g, policy)[:n]] if n > 0 else []


def _pack(kept: Sequence[Instance], busy: Mapping[str, list[Task]], hosts: Mapping[str, Host], g: Group,
          policy: Policy) -> list[Instance]:
    """Busy builders that may be drained to pack work onto fewer: enabled, InService, only OPEN
    tasks (a disabled kojid never opens an ASSIGNED one), load at most `pack_below` of a builder's
    capacity; least loaded first, then the highest slot (new work goes to the low ones)."""
    out = []
    for i in kept:
        tasks = busy.get(i.slot or "")
        host = hosts.get(i.slot or "")
        if i.lifecycle != IN_SERVICE or not tasks or host is None or not host.enabled:
            continue
        if any(t.state != OPEN for t in tasks):
            continue
        load = sum(task_weight(t) for t in tasks)
        if load <= policy.pack_below * g.capacity_per_builder:
            out.append((load, len(tasks), [-ord(c) for c in i.slot or ""], i))
    out.sort(key=lambda x: (x[0], x[1], x[2]))
    return [x[3] for x in out]


def cancel_drains(state: Observed, targets: Mapping[str, Demand], busy: Mapping[str, list[Task]]) -> list[Instance]:
    """Draining builders to take back when the demand is above the builders kept: InService,
    drained by the controller (not a termination hook), still busy (an empty one is terminated),
    most loaded first."""
    out: list[Instance] = []
    for g in state.groups:
        if g.max_size <= 0 or g.arch not in targets:
            continue
        live = [i for i in state.instances if i.arch == g.arch and is_live(i)
                and i.lifecycle not in (TERMINATING_WAIT, "Terminating")]
        kept = sum(1 for i in live if i.drain_started is None)
        deficit = targets[g.arch].target - kept
        if deficit <= 0:
            continue
        back: list[tuple[float, str, Instance]] = []  # (-load, slot, instance): most loaded first
        for i in live:
            if i.drain_started is not None and i.lifecycle == IN_SERVICE and i.slot and busy.get(i.slot):
                back.append((-sum(task_weight(t) for t in busy[i.slot]), i.slot, i))
        back.sort(key=lambda b: (b[0], b[1]))
        out.extend(i for _, _, i in back[:deficit])
    return out


def scheduler_run_needed(state: Observed, policy: Policy, busy: Mapping[str, list[Task]]) -> bool:
    """True when FREE builder work could go to a ready, enabled builder that has room for it by
    the scheduler's own rule (`admits`): one that holds nothing (e.g. just started), or one a task
    has left. kojid would trigger a run only at a check-in after RunInterval (60 s) since the last
    regular run; a forced run does not move that clock (kojihub/scheduler.py `run`: force skips
    `check_ts`), so the regular runs go on as before."""
    free: dict[str, float] = {}
    for t in state.tasks:
        if t.state == FREE and t.channel in policy.builder_channels:
            free[t.arch] = min(free.get(t.arch, t.weight), t.weight)
    if not free:
        return False
    for h in state.hosts:
        arch = slot_arch(h.name)
        if not (arch and h.enabled and h.ready):
            continue
        weight = min((w for a, w in free.items() if a in (arch, NOARCH)), default=None)
        tasks = busy.get(h.name, [])
        if weight is not None and admits(h.capacity, max(1, int(h.capacity)), sum(task_weight(t) for t in tasks),
                                         len(tasks), weight):
            return True
    return False


def _chosen_drains(state: Observed, g: Group, hosts: Mapping[str, Host], busy: Mapping[str, list[Task]],
                   disable: list[str]) -> list[Termination]:
    """Step 1 of drain_progress, for one group: each controller-chosen drain (tag set, InService)
    has its host disabled first (`disable`), then ends in a termination once Koji shows no task on
    it; the desired capacity is decremented while that keeps the group at or above its minimum."""
    live = [i for i in state.instances if i.arch == g.arch and is_live(i)
            and i.lifecycle not in (TERMINATING_WAIT, "Terminating")]
    desired = g.desired
    terms: list[Termination] = []
    for i in sorted(live, key=lambda i: i.id):
        if i.drain_started is None or i.lifecycle != IN_SERVICE:
            continue
        host = hosts.get(i.slot) if i.slot else None
        if host is not None and host.enabled:
            disable.append(host.name)
            continue  # disable first; confirm emptiness on a later loop
        if i.slot and busy.get(i.slot):
            continue
        decrement = desired > g.min_size and desired >= len(live)
        terms.append(Termination(i.id, i.slot, decrement))
        if decrement:
            desired -= 1
        live = [x for x in live if x.id != i.id]
    return terms


def _terminating_waits(state: Observed, policy: Policy, hosts: Mapping[str, Host],
                       busy: Mapping[str, list[Task]], disable: list[str]) -> tuple[list[str], list[str]]:
    """Step 2 of drain_progress: (hooks to complete, heartbeats) for instances in Terminating:Wait.
    The host is disabled (`disable`); heartbeats while tasks run within the drain limit; the hook is
    completed when the host is empty, at the limit, or at once when the machine is already gone."""
    arches = {g.arch for g in state.groups}
    complete: list[str] = []
    beats: list[str] = []
    for i in sorted(state.instances, key=lambda i: i.id):
        if i.lifecycle != TERMINATING_WAIT or i.arch not in arches:
            continue
        host = hosts.get(i.slot) if i.slot else None
        if i.ec2_state not in RUNNING_EC2_STATES or not i.slot or host is None:
            complete.append(i.id)
            continue
        if host.enabled:
            disable.append(host.name)
        started = i.drain_started if i.drain_started is not None else state.now
        if busy.get(i.slot) and state.now - started < policy.drain_limit_seconds:
            beats.append(i.id)
        else:
            complete.append(i.id)
    return complete, beats


def drain_progress(state: Observed, policy: Policy, busy: Optional[Mapping[str, list[Task]]] = None
                   ) -> tuple[list[Termination], list[str], list[str], list[str]]:
    """For builders already draining: (terminations, hooks to complete, heartbeats, hosts to disable).

    A controller-chosen drain (tag set, InService) ends in a termination once Koji shows no task
    (`_chosen_drains`). An instance in Terminating:Wait (any termination, e.g. a health replacement
    or spot) has its host disabled, gets heartbeats while tasks run, and its hook is completed when
    the host is empty, when the drain limit is reached (kojid is stopped by the shutdown, which frees
    its tasks; repair frees any left), or at once when the machine is already gone
    (`_terminating_waits`).
    """
    busy = host_tasks(state) if busy is None else busy
    hosts = {h.name: h for h in state.hosts}
    disable: list[str] = []
    terms = [t for g in state.groups for t in _chosen_drains(state, g, hosts, busy, disable)]
    complete, beats = _terminating_waits(state, policy, hosts, busy, disable)
    return terms, complete, beats, disable


def repairs(state: Observed, busy: Optional[Mapping[str, list[Task]]] = None) -> tuple[list[int], list[str]]:
    """(tasks to free, hosts to disable) for builder slots no live instance holds.

    A vanished builder's OPEN and ASSIGNED tasks would otherwise wait for Koji's HostTimeout, and
    forever if its host was disabled (koji.md §9). Its host is disabled so the scheduler gives it
    nothing; the slot itself is free for the next registration.
    """
    held = {i.slot for i in state.instances if i.slot and is_live(i)}
    busy = host_tasks(state) if busy is None else busy
    free: list[int] = []
    disable: list[str] = []
    for h in sorted(state.hosts, key=lambda h: h.name):
        if slot_arch(h.name) is None or h.name in held:
            continue
        free.extend(sorted(t.id for t in busy.get(h.name, [])))
        if h.enabled:
            disable.append(h.name)
    return free, disable


def stranded(state: Observed, busy: Mapping[str, list[Task]], ours: Callable[[str], object],
             enabled_now: Iterable[str] = ()) -> list[int]:
    """ASSIGNED tasks on our hosts that Koji shows disabled: kojid on a disabled host never opens
    them (koji/daemon.py readyForTask: "Host is disabled") and the scheduler never reclaims them
    (kojihub/scheduler.py check_active_tasks skips a host not enabled: "# host disabled? # TODO";
    koji.md section 9), so a drain would wait for them forever. They are freed for another host.
    A task the scheduler gave a host just before it was disabled is the usual case (a light host
    drained with parents assigned, or the scheduler's run between the controller's observation and
    its disableHost). OPEN tasks run on; hosts this loop enables again (`enabled_now`) keep theirs."""
    keep = set(enabled_now)
    return sorted(t.id for h in state.hosts if not h.enabled and ours(h.name) and h.name not in keep
                  for t in busy.get(h.name, []) if t.state == ASSIGNED)


# --- metrics and the plan ----------------------------------------------------------------------

METRIC_NAMES = (
    "QueuedTaskWeight", "RunningTaskWeight", "BuildersInService", "BuildersDraining",
    "DesiredBuilders", "UnservableTaskWeight", "LaunchFailures", "RefusedRegistrations",
    "FreedTasks",
)


def metrics(state: Observed, targets: Mapping[str, Demand], unservable: Mapping[str, float],
            refused: int, freed: int) -> list[Metric]:
    """The CloudWatch data of one loop (dimension Arch; stack-wide counts use Arch=all)."""
    out: list[Metric] = []
    for g in sorted(state.groups, key=lambda g: g.arch):
        d = targets.get(g.arch, Demand())
        insvc = [i for i in state.instances if i.arch == g.arch and i.lifecycle == IN_SERVICE and is_live(i)]
        out += [
            Metric("QueuedTaskWeight", g.arch, d.queued_weight, "None"),
            Metric("RunningTaskWeight", g.arch, d.running_weight, "None"),
            Metric("BuildersInService", g.arch, float(sum(1 for i in insvc if i.drain_started is None))),
            Metric("BuildersDraining", g.arch, float(sum(
                1 for i in state.instances if i.arch == g.arch and is_live(i)
                and (i.drain_started is not None or i.lifecycle == TERMINATING_WAIT)))),
            Metric("DesiredBuilders", g.arch, float(max(d.target, g.desired if g.max_size > 0 else 0))),
            Metric("LaunchFailures", g.arch, float(g.launch_failures)),
        ]
    for arch in sorted(unservable):
        out.append(Metric("UnservableTaskWeight", arch, unservable[arch], "None"))
    out.append(Metric("RefusedRegistrations", "all", float(refused)))
    out.append(Metric("FreedTasks", "all", float(freed)))
    return out


def desired_capacity(state: Observed, targets: Mapping[str, Demand], terms: Sequence[Termination]) -> dict[str, int]:
    """Desired capacity to set now, per arch, only where it differs from the group's.

    Scale-out is immediate: max(target, live builders). Desired is never set below the live,
    not-yet-terminating builders (they are protected from scale-in, draining ones included);
    scale-in happens only through drains and terminations with a decrement. A group whose max is
    0 is set to 0.
    """
    out: dict[str, int] = {}
    ids = {i.id: i for i in state.instances}
    for g in state.groups:
        decrements = sum(1 for t in terms if t.decrement and t.instance_id in ids
                         and ids[t.instance_id].arch == g.arch)
        current = g.desired - decrements
        if g.max_size <= 0:
            want = 0
        else:
            live = sum(1 for i in state.instances if i.arch == g.arch and is_live(i)
                       and i.lifecycle not in (TERMINATING_WAIT, "Terminating"))
            want = _clamp(max(targets[g.arch].target, live - decrements), g.min_size, g.max_size)
        if want != current:
            out[g.arch] = want
    return out


def failed_in_service(state: Observed, already: set[str]) -> list[Termination]:
    """In-service builders whose bootstrap failed on a later boot: terminated without a decrement,
    so their group launches a replacement (the job SetInstanceHealth did from the builder)."""
    return [Termination(i.id, i.slot, False) for i in sorted(state.instances, key=lambda i: i.id)
            if i.bootstrap_failure is not None and i.lifecycle == IN_SERVICE and is_live(i)
            and i.id not in already]


def plan(state: Observed, policy: Policy) -> Plan:
    """The one entry point: everything the controller does in one loop, from one observation."""
    targets, unservable = demand(state, policy)
    regs, refusals = registrations(state, policy)
    busy = host_tasks(state)
    terms, complete, beats, disable = drain_progress(state, policy, busy)
    terms += failed_in_service(state, {t.instance_id for t in terms})
    drains = choose_drains(state, policy, targets, busy)
    back = cancel_drains(state, targets, busy) if policy.pack else []
    free, vanished = repairs(state, busy)
    free = sorted(set(free) | set(stranded(state, busy, lambda name: slot_arch(name) is not None,
                                           [r.slot for r in regs] + [i.slot or "" for i in back])))
    notes = [f"{a}: queued {d.queued_weight:g}, running {d.running_weight:g}, target {d.target}"
             for a, d in sorted(targets.items())]
    notes += [f"drain {i.id} ({i.slot}): {'surplus' if dec else 'out of date or group max 0'}"
              for i, dec in drains]
    light = light_plan(state, policy)
    return Plan(
        desired=desired_capacity(state, targets, terms),
        register=tuple(regs),
        refuse=tuple(refusals),
        start_drain=tuple(i for i, _ in drains) + _hook_drains(state.instances),
        cancel_drain=tuple(back),
        disable_hosts=tuple(sorted((set(disable) | set(vanished) | {i.slot for i, _ in drains if i.slot})
                                   - {r.slot for r in regs} - {i.slot for i in back})),
        terminate=tuple(terms),
        complete_terminate=tuple(complete),
        heartbeat=tuple(beats),
        forget_failures=_forget_failures(state.instances, refusals, terms),
        free_tasks=tuple(free),
        run_scheduler=bool(free) or scheduler_run_needed(state, policy, busy),
        metrics=tuple(metrics(state, targets, unservable, len(refusals), len(free)) + light_metrics(state, light)),
        notes=tuple(notes),
        light=light,
    )
