"""Figures of one run: queue waits, builder-hours, cost from a dated price table, utilisation;
and the real-boot oracle, derived from the zero-boot oracle's builder intervals.

Queue wait of a task = the time it spent FREE or ASSIGNED, over all its runs (create -> start
when it never restarts). Waits are of builder tasks (buildArch and the like); the parents' waits
for the light channel are reported on their own line. A build's wait (`build_wait_s`) is all the
time the build spent queued, whoever held it up: its parent's wait for the light channel plus, for
each wave of its children, the longest wait among them. Builder-task waits alone can be made short
by starting parents late (the children then queue less because they exist later, while the build
waits as long): that is how a stack whose parents could not start scored well before issue 14.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .engine import BUILDER_CHANNELS, Instance, Record
from .koji_model import CLOSED, Task
from .light import LIGHT_HOST_PRICE

# On-demand Linux prices, us-east-1, USD per hour, from the AWS EC2 On-Demand pricing page
# (https://aws.amazon.com/ec2/pricing/on-demand/), the list prices recorded on PRICES_TAKEN (from the
# published list, not re-fetched: this machine has no network; re-check before quoting); spot is cheaper but
# varies by hour and pool, so costs here are the on-demand upper bound.
PRICES_TAKEN = "2026-11-26"
PRICE_REGION = "us-east-1"
PRICE_PER_HOUR = {"x86_64": ("c6i.2xlarge", 0.340), "aarch64": ("c7g.2xlarge", 0.289)}


@dataclass(frozen=True)
class Result:
    """One fleet's figures on one workload."""

    fleet: str
    tasks: int
    p50_wait_s: float
    p95_wait_s: float
    max_wait_s: float
    below_max_tasks: int
    below_max_p95_wait_s: float
    capped_tasks: int
    capped_p95_wait_s: float
    parent_p95_wait_s: float
    restarts: int
    builder_hours: float
    cost_usd: float
    utilisation: float
    makespan_s: float
    peak_builders: dict
    unfinished: int
    light_full_share: float             # share of parents that waited while the light channel was full
    light_hours: float = 0.0            # hours of light-channel hosts (not builders)
    light_cost_usd: float = 0.0
    build_p95_wait_s: float = 0.0       # p95 of build_wait_s over the finished builds

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def build_wait_s(parent: Task) -> float:
    """All the time a build spent queued: its parent's wait, plus the longest wait of each wave of
    its builder children (a wave's children are created together; the next wave waits for it)."""
    waves: dict[float, float] = {}
    for child in parent.children:
        if child.channel in BUILDER_CHANNELS:
            waves[child.create_ts] = max(waves.get(child.create_ts, 0.0), child.wait_s)
    return parent.wait_s + sum(waves.values())


def builder_hours(instances: list[Instance]) -> dict[str, float]:
    """Paid hours per arch: launch to termination, boot included (builders only)."""
    out: dict[str, float] = {}
    for i in instances:
        if i.role != "builder":
            continue
        out[i.arch] = out.get(i.arch, 0.0) + (i.ended - i.launched_at) / 3600.0
    return out


def cost(hours: dict[str, float]) -> float:
    """USD at the on-demand prices of PRICE_PER_HOUR."""
    return sum(h * PRICE_PER_HOUR[arch][1] for arch, h in hours.items())


def summarise(fleet: str, rec: Record, capacity: float, hours: dict[str, float] | None = None) -> Result:
    """The Result of a run (pass `hours` to override the builder-hours, as the real-boot oracle does)."""
    builder_tasks = [t for t in rec.tasks if t.channel in BUILDER_CHANNELS]
    done = [t for t in builder_tasks if t.state == CLOSED]
    waits = [t.wait_s for t in done]
    below = [t.wait_s for t in done if not t.capped]
    capped = [t.wait_s for t in done if t.capped]
    built = [t for t in rec.tasks if t.method == "build" and t.state == CLOSED]
    parents = [t.wait_s for t in built]
    hours = builder_hours(rec.instances) if hours is None else hours
    light_h = sum((i.ended - i.launched_at) / 3600.0 for i in rec.instances if i.role == "light")
    paid_capacity_s = sum(hours.values()) * 3600.0 * capacity
    used = sum(rec.busy_weight_s.values())
    peak = {a: max((s.builders[a] + s.booting[a] for s in rec.samples), default=0) for a in ("x86_64", "aarch64")}
    return Result(
        fleet=fleet, tasks=len(builder_tasks),
        p50_wait_s=percentile(waits, 50), p95_wait_s=percentile(waits, 95), max_wait_s=max(waits, default=0.0),
        below_max_tasks=len(below), below_max_p95_wait_s=percentile(below, 95),
        capped_tasks=len(capped), capped_p95_wait_s=percentile(capped, 95),
        parent_p95_wait_s=percentile(parents, 95),
        restarts=sum(t.restarts for t in builder_tasks),
        builder_hours=sum(hours.values()), cost_usd=cost(hours),
        utilisation=used / paid_capacity_s if paid_capacity_s else 0.0,
        makespan_s=rec.last_close_s, peak_builders=peak,
        unfinished=sum(1 for t in rec.tasks if t.state != CLOSED),
        light_full_share=(sum(1 for t in rec.tasks if t.method == "build" and t.capped)
                          / len(parents)) if parents else 0.0,
        light_hours=light_h, light_cost_usd=light_h * LIGHT_HOST_PRICE,
        build_p95_wait_s=percentile([build_wait_s(t) for t in built if t.parent is None], 95),
    )


def real_boot_oracle_hours(instances: list[Instance], boot_total_s: float) -> dict[str, float]:
    """Builder-hours of the oracle with perfect foresight and the real boot time.

    Each builder of the zero-boot oracle is launched `boot_total_s` earlier, so it is ready the
    moment the zero-boot one was; on one slot, a gap shorter than a boot is bridged (keeping the
    builder is cheaper than a relaunch). Its waits are the zero-boot oracle's."""
    by_slot: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for i in instances:
        by_slot.setdefault((i.arch, i.slot or i.id), []).append((i.launched_at, i.ended))
    out: dict[str, float] = {}
    for (arch, _slot), spans in by_slot.items():
        spans.sort()
        total, (start, end) = 0.0, spans[0]
        runs = 1
        for s, e in spans[1:]:
            if s - end < boot_total_s:
                end = max(end, e)
            else:
                total += end - start
                start, end = s, e
                runs += 1
        total += end - start
        out[arch] = out.get(arch, 0.0) + (total + runs * boot_total_s) / 3600.0
    return out


def fixed_sizes(rec: Record, window_s: float) -> tuple[dict[str, int], dict[str, int]]:
    """(peak, mean) builders per arch, from the zero-boot oracle's run: the most it held, and its
    builder-seconds over the window rounded up (at least 1 where the arch had any work)."""
    peak = {}
    for a in ("x86_64", "aarch64"):
        edges = sorted([(i.launched_at, 1) for i in rec.instances if i.arch == a]
                       + [(i.ended, -1) for i in rec.instances if i.arch == a])
        level = top = 0
        for _t, step in edges:
            level += step
            top = max(top, level)
        peak[a] = top
    secs: dict[str, float] = {a: 0.0 for a in peak}
    for i in rec.instances:
        secs[i.arch] += min(i.ended, window_s) - min(i.launched_at, window_s)
    mean = {a: (max(1, math.ceil(secs[a] / window_s)) if secs[a] > 0 else 0) for a in peak}
    peak = {a: max(peak[a], mean[a]) for a in peak}
    return peak, mean
