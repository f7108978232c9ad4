"""The simulator's part of `make bench`: `print_table()`. Every run uses the configuration the
stack ships (`SimConfig()`: the hub's kojid sized from the default hub's memory, the controller's
default policy); nothing is widened to make a figure look better.

Sections (a few minutes in all; each prints its own time):
1. the three workloads of issue 7 and a Fedora-size mass rebuild (22,000 builds, 1,000 builders
   allowed), seed 1: the controller beside the two peer policies (kojistack/sim/peers.py) and the
   lower bound - p95 wait (all builder tasks; `<max p95` those that never waited while their
   group was at its max, `capped` how many did), the parents' p95 wait for the light channel,
   makespan, builder-hours, light-host hours, peak builders per arch;
2. other seeds (2-4) of the three small workloads, and the controller with 2 weight units of
   headroom: p95 wait / builder-hours per fleet;
3. builds in flight (issue 14 item 1): the mass rebuilds with the hub's kojid as shipped before
   (capacity 20, maxjobs 50), as shipped now (sized from memory), and with light hosts (the design
   beyond one hub, kojistack/sim/light.py; not yet created by the stack);
4. packing (item 5): the controller without and with packing busy surplus builders;
5. the simulator's own speed on the Fedora-size run.
"""

from __future__ import annotations

import dataclasses
import time

from kojistack.controller import decide

from .engine import SHIPPED_BEFORE, SimConfig
from .metrics import Result
from .report import price_note
from .run import POLICIES, compare
from .workloads import ALL_WORKLOADS, WORKLOADS, make_workload

SHIPPED = SimConfig()
BEFORE = dataclasses.replace(SHIPPED, **SHIPPED_BEFORE)
LIGHT_HOSTS = dataclasses.replace(SHIPPED, light_hosts=True)
HEADROOM = 2.0

_HEAD = (f"{'fleet':<30} {'p95 wait s':>10} {'<max p95':>8} {'capped':>6} {'parent p95 s':>12} {'makespan h':>10}"
         f" {'builder-h':>9} {'light-h':>7} {'peak x86/arm':>12}")


def _row(r: Result, label: str | None = None) -> str:
    peak = f"{r.peak_builders.get('x86_64', 0)}/{r.peak_builders.get('aarch64', 0)}"
    flag = "" if not r.unfinished else f"  ({r.unfinished} unfinished)"
    return (f"{label or r.fleet:<30} {r.p95_wait_s:10.0f} {r.below_max_p95_wait_s:8.0f} {r.capped_tasks:6d}"
            f" {r.parent_p95_wait_s:12.0f} {r.makespan_s / 3600:10.2f} {r.builder_hours:9.1f} {r.light_hours:7.1f}"
            f" {peak:>12}{flag}")


def _section(title: str, lines: list[str], took: float) -> None:
    print(f"== {title} ({took:.1f} s)")
    print("\n".join(lines))
    print(flush=True)                   # each section shows as soon as it is done (minutes apart)


def _verdict(results: list[Result]) -> str:
    """The issue's bar, measured: the controller's p95 against every peer's, and its builder-hours
    against the best peer's (the peer with the lowest p95)."""
    ctl = next(r for r in results if r.fleet == "controller")
    peers = [r for r in results if r.fleet in POLICIES and r.fleet != "controller"]
    best = min(peers, key=lambda r: (r.p95_wait_s, r.builder_hours))
    p95_ok = all(ctl.p95_wait_s <= r.p95_wait_s for r in peers)
    hours_ok = ctl.builder_hours <= best.builder_hours
    peer_p95 = ", ".join(f"{r.p95_wait_s:.0f}" for r in peers)
    return (f"bar: controller p95 {ctl.p95_wait_s:.0f} s <= every peer's ({peer_p95}):"
            f" {'met' if p95_ok else 'MISSED'}; builder-hours {ctl.builder_hours:.1f} <= best peer"
            f" ({best.fleet}, {best.builder_hours:.1f}): {'met' if hours_ok else 'MISSED'}")


def _headroom() -> decide.Policy:
    return decide.Policy(headroom_weight=HEADROOM)


def print_table(seed: int = 1) -> None:
    """Print the simulator tables (deterministic figures; only the timings vary)."""
    start = time.perf_counter()
    lines = []
    for name in ALL_WORKLOADS:
        wl = make_workload(name, seed)
        cmp = compare(wl, dataclasses.replace(SHIPPED, seed=seed))
        lines += [f"{name} (seed {seed}): {cmp.results[-1].tasks} builder tasks, max {wl.max_per_arch}/arch",
                  _HEAD] + [_row(r) for r in cmp.results] + [_verdict(cmp.results), ""]
    _section("as shipped: controller, peers and the lower bound", lines, time.perf_counter() - start)

    start = time.perf_counter()
    columns = (*POLICIES, f"controller+headroom {HEADROOM:g}")
    lines = [f"{'workload':<13} {'seed':>4}  " + "  ".join(f"{f:>24}" for f in columns)
             + "   (p95 wait s / builder-h)"]
    for name in WORKLOADS:
        for s in (2, 3, 4):
            wl = make_workload(name, s)
            cfg = dataclasses.replace(SHIPPED, seed=s)
            cmp = compare(wl, cfg, bound=False)
            extra = compare(wl, cfg, ("controller",), _headroom(), bound=False).results[0]
            cells = [f"{r.p95_wait_s:>10.0f} / {r.builder_hours:>11.1f}" for r in (*cmp.results, extra)]
            lines.append(f"{name:<13} {s:>4}  " + "  ".join(f"{c:>24}" for c in cells)
                         + ("" if all(cmp.results[0].p95_wait_s <= r.p95_wait_s for r in cmp.results[1:])
                            else "   controller p95 above a peer"))
    _section("other seeds (a peer's p95 below the controller's is flagged)", lines, time.perf_counter() - start)

    start = time.perf_counter()
    lines = [_HEAD]
    for name in ("mass-rebuild", "fedora-mass-rebuild"):
        wl = make_workload(name, seed)
        for label, cfg in (("hub 20/50 (before)", BEFORE), (f"hub {SHIPPED.light_maxjobs} (shipped)", SHIPPED),
                           ("+ light hosts (design)", LIGHT_HOSTS)):
            r = compare(wl, dataclasses.replace(cfg, seed=seed), ("controller",), bound=False).results[0]
            lines.append(_row(r, f"{name[:6]}: {label}"))
    _section("builds in flight: the light channel's capacity (controller)", lines, time.perf_counter() - start)

    start = time.perf_counter()
    lines = [_HEAD]
    for name in WORKLOADS:
        wl = make_workload(name, seed)
        for label, pol in (("no packing", decide.Policy(pack=False)), ("packing (shipped)", decide.Policy())):
            r = compare(wl, dataclasses.replace(SHIPPED, seed=seed), ("controller",), pol, bound=False).results[0]
            lines.append(_row(r, f"{name[:7]}: {label}"))
    _section("packing busy surplus builders (controller)", lines, time.perf_counter() - start)

    wl = make_workload("fedora-mass-rebuild", seed)
    start = time.perf_counter()
    rec = compare(wl, LIGHT_HOSTS, ("controller",), bound=False).controller
    assert rec is not None  # the controller fleet was run
    took = time.perf_counter() - start
    _section("simulator speed", [f"fedora-mass-rebuild with light hosts, controller: {len(rec.tasks):,} tasks, "
                                 f"{rec.events:,} events, {rec.polls:,} kojid polls simulated in {took:.1f} s"], took)
    print(price_note())


if __name__ == "__main__":  # pragma: no cover
    print_table()
