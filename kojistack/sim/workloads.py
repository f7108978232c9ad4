"""The fixed, seeded workloads of issue 7 (mass-rebuild, diurnal, steady) as trees of task specs.

A workload is a list of top-level `TaskSpec`s with arrival times. A `build` parent (noarch, light
channel) spawns its `buildArch` children (default channel) when it opens, exactly as Koji's
BuildTask does; the simulator gives each child the priority of its parent minus one, as the hub's
`make_task` does for subtasks. Durations are lognormal with median 4 min and p95 40 min.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import names

WORKLOADS = ("steady", "diurnal", "mass-rebuild")
ALL_WORKLOADS = WORKLOADS + ("fedora-mass-rebuild",)
ARCH_SHARE_X86 = 0.7            # 70 % of buildArch tasks are x86_64, 30 % aarch64 (issue 7)
DURATION_MEDIAN_S = 240.0       # 4 min
DURATION_P95_S = 2400.0         # 40 min
_Z95 = 1.6448536269514722       # standard normal quantile of 0.95
PRIO_DEFAULT = 20               # koji.PRIO_DEFAULT
PARENT_PRE_S = 20.0             # a build parent's own work before it spawns children (assumption)
PARENT_POST_S = 30.0            # ... and after its children finish: import and tagging (assumption)
MASS_REBUILD_TASKS = 3000
MASS_REBUILD_WINDOW_S = 600.0
MASS_REBUILD_MAX_PER_ARCH = 50
DIURNAL_BUILDS_PER_DAY = 600
DIURNAL_PEAK_TO_NIGHT = 5.0
DIURNAL_DAYS = 2
STEADY_BUILDS_PER_HOUR = 20
STEADY_HOURS = 24
FEDORA_BUILDS = 22_000          # about one Fedora mass rebuild (issue 14)
FEDORA_WINDOW_S = 2 * 3600.0    # submitted over two hours (assumption: the rebuild script submits steadily)
FEDORA_MAX_PER_ARCH = 1000
FEDORA_NOARCH_SHARE = 0.25      # share of packages built as noarch (assumption, about Fedora's)
SRPM_FROM_SCM_S = (60.0, 180.0)  # buildSRPMFromSCM: clone, mock init, rpmbuild -bs (assumption: uniform)
SRPM_WEIGHT = 1.0               # builder/kojid BuildSRPMFromSCMTask._taskWeight
BUILD_ARCH_WEIGHT = 1.5         # builder/kojid BuildArchTask.weight()
BUILD_ARCH_ADJ_CAP = 4.5        # builder/kojid BuildArchTask.updateWeight: "cap the adjustment at +4.5"


@dataclass(frozen=True)
class TaskSpec:
    """One task to create: own run time, final weight when open, children spawned after its own
    work, and a second wave (`then`) spawned once the first has finished (a build from SCM: the
    SRPM first, then the buildArch tasks)."""

    method: str
    arch: str
    channel: str
    duration_s: float
    weight: float
    arrival_s: float = 0.0              # top-level tasks only; children are created by their parent
    priority: int = PRIO_DEFAULT
    post_s: float = 0.0                 # own work after the children finish
    children: tuple[TaskSpec, ...] = ()
    then: tuple[TaskSpec, ...] = ()


@dataclass(frozen=True)
class Workload:
    """A named, seeded list of top-level tasks plus the fleet max it is meant to run against."""

    name: str
    seed: int
    tasks: tuple[TaskSpec, ...]
    max_per_arch: int = MASS_REBUILD_MAX_PER_ARCH
    horizon_s: float = 0.0              # last arrival; the simulation runs until the queue drains
    notes: tuple[str, ...] = field(default=())


def build_arch_weight(duration_s: float) -> float:
    """kojid's BuildArchTask weight once open: 1.5 + 0.75 per hour of the package's average build,
    the adjustment capped at +4.5 (builder/kojid, BuildArchTask.updateWeight); the package's
    history is taken to equal this build's duration."""
    return BUILD_ARCH_WEIGHT + min(BUILD_ARCH_ADJ_CAP, duration_s / 4800.0)


def sample_duration(rng: random.Random) -> float:
    """Lognormal build time with median 4 min and p95 40 min (sigma = ln 10 / z0.95 = 1.40)."""
    sigma = math.log(DURATION_P95_S / DURATION_MEDIAN_S) / _Z95
    return rng.lognormvariate(math.log(DURATION_MEDIAN_S), sigma)


def build(arrival_s: float, arches: tuple[str, ...], duration_s: float, srpm_s: float | None = None) -> TaskSpec:
    """A `build` parent (noarch, light channel, weight 0.2) with one buildArch child per arch
    (`("noarch",)` for a noarch package: one buildArch task any builder takes).

    Every arch of one build gets the same duration (same package), so buildArch durations keep the
    lognormal of the issue exactly. With `srpm_s` the build is from SCM: BuildTask first waits for
    a buildSRPMFromSCM child (default channel, noarch, weight 1.0) on a builder, then spawns the
    buildArch children."""
    arch_tasks = tuple(TaskSpec("buildArch", arch, names.CHANNEL_DEFAULT, duration_s, build_arch_weight(duration_s),
                                priority=PRIO_DEFAULT - 1) for arch in arches)
    if srpm_s is None:
        return TaskSpec("build", "noarch", names.CHANNEL_LIGHT, PARENT_PRE_S, 0.2, arrival_s=arrival_s,
                        post_s=PARENT_POST_S, children=arch_tasks)
    srpm = TaskSpec("buildSRPMFromSCM", "noarch", names.CHANNEL_DEFAULT, srpm_s, SRPM_WEIGHT, priority=PRIO_DEFAULT - 1)
    return TaskSpec("build", "noarch", names.CHANNEL_LIGHT, PARENT_PRE_S, 0.2, arrival_s=arrival_s,
                    post_s=PARENT_POST_S, children=(srpm,), then=arch_tasks)


def _arches(rng: random.Random) -> tuple[str, ...]:
    """x86_64 always; aarch64 for 3/7 of builds, so buildArch tasks split 70/30."""
    aarch_share = (1 - ARCH_SHARE_X86) / ARCH_SHARE_X86
    return ("x86_64", "aarch64") if rng.random() < aarch_share else ("x86_64",)


def mass_rebuild(seed: int = 1) -> Workload:
    """3,000 buildArch tasks (2,100 x86_64, 900 aarch64) under 2,100 build parents arriving
    uniformly within 10 minutes; max 50 builders per arch."""
    rng = random.Random(seed)
    n_builds = round(MASS_REBUILD_TASKS * ARCH_SHARE_X86)
    n_aarch = MASS_REBUILD_TASKS - n_builds
    with_aarch = set(rng.sample(range(n_builds), n_aarch))
    arrivals = sorted(rng.uniform(0, MASS_REBUILD_WINDOW_S) for _ in range(n_builds))
    tasks = tuple(build(t, ("x86_64", "aarch64") if i in with_aarch else ("x86_64",), sample_duration(rng))
                  for i, t in enumerate(arrivals))
    return Workload("mass-rebuild", seed, tasks, MASS_REBUILD_MAX_PER_ARCH, MASS_REBUILD_WINDOW_S)


def working_day_rate(hour: float) -> float:
    """Relative arrival rate at an hour of the day: 1 at night, rising smoothly to 5 at 13:00
    (sin^2 bump over 07:00-19:00)."""
    h = hour % 24.0
    bump = math.sin(math.pi * (h - 7.0) / 12.0) ** 2 if 7.0 <= h <= 19.0 else 0.0
    return 1.0 + (DIURNAL_PEAK_TO_NIGHT - 1.0) * bump


def _poisson_arrivals(rng: random.Random, per_hour_at: Callable[[float], float], peak_per_hour: float,
                      horizon_s: float) -> list[float]:
    """Non-homogeneous Poisson arrivals by thinning (Lewis and Shedler)."""
    out: list[float] = []
    t = 0.0
    while True:
        t += rng.expovariate(peak_per_hour / 3600.0)
        if t >= horizon_s:
            return out
        if rng.random() * peak_per_hour <= per_hour_at(t):
            out.append(t)


def diurnal(seed: int = 1) -> Workload:
    """600 builds a day for 2 days, arrivals following the working-day curve (peak 5x night)."""
    rng = random.Random(seed)
    mean_rel = sum(working_day_rate(m / 60.0) for m in range(24 * 60)) / (24 * 60)
    scale = DIURNAL_BUILDS_PER_DAY / 24.0 / mean_rel          # builds per hour at relative rate 1
    horizon = DIURNAL_DAYS * 86400.0
    arrivals = _poisson_arrivals(rng, lambda t: scale * working_day_rate(t / 3600.0),
                                 scale * DIURNAL_PEAK_TO_NIGHT, horizon)
    tasks = tuple(build(t, _arches(rng), sample_duration(rng)) for t in arrivals)
    return Workload("diurnal", seed, tasks, MASS_REBUILD_MAX_PER_ARCH, horizon)


def steady(seed: int = 1) -> Workload:
    """20 builds an hour around the clock (Poisson), for 24 hours."""
    rng = random.Random(seed)
    horizon = STEADY_HOURS * 3600.0
    arrivals = _poisson_arrivals(rng, lambda t: STEADY_BUILDS_PER_HOUR, STEADY_BUILDS_PER_HOUR, horizon)
    tasks = tuple(build(t, _arches(rng), sample_duration(rng)) for t in arrivals)
    return Workload("steady", seed, tasks, MASS_REBUILD_MAX_PER_ARCH, horizon)


def fedora_mass_rebuild(seed: int = 1) -> Workload:
    """A Fedora-size mass rebuild: 22,000 builds from SCM submitted uniformly over two hours, a
    quarter of them noarch (one buildArch task), the rest built for x86_64 and aarch64; each first
    builds its SRPM on a builder. Up to 1,000 builders per arch."""
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0, FEDORA_WINDOW_S) for _ in range(FEDORA_BUILDS))
    tasks = []
    for t in arrivals:
        arches = ("noarch",) if rng.random() < FEDORA_NOARCH_SHARE else ("x86_64", "aarch64")
        tasks.append(build(t, arches, sample_duration(rng), srpm_s=rng.uniform(*SRPM_FROM_SCM_S)))
    return Workload("fedora-mass-rebuild", seed, tuple(tasks), FEDORA_MAX_PER_ARCH, FEDORA_WINDOW_S)


def make_workload(name: str, seed: int = 1) -> Workload:
    """The named workload for a seed; ValueError names the choices."""
    makers = {"steady": steady, "diurnal": diurnal, "mass-rebuild": mass_rebuild,
              "fedora-mass-rebuild": fedora_mass_rebuild}
    if name not in makers:
        raise ValueError(f"unknown workload {name!r}; choose one of {', '.join(ALL_WORKLOADS)}")
    return makers[name](seed)
