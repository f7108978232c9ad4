"""Text and JSON renderings of a comparison, and the issue's bars measured against it."""

from __future__ import annotations

import json

from .koji_model import KOJID_POLL_S, RUN_INTERVAL_S
from .metrics import PRICE_PER_HOUR, PRICE_REGION, PRICES_TAKEN, Result
from .run import Comparison, boot_total_s

_HEAD = (f"{'fleet':<17} {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'<max p95':>9} {'(n)':>6} {'capped p95':>10}"
         f" {'(n)':>5} {'parent p95':>10} {'build p95':>9} {'restarts':>8} {'builder-h':>9} {'cost $':>8} {'util':>5}"
         f" {'makespan h':>10} {'peak x86/arm':>12}")


def _row(r: Result) -> str:
    peak = f"{r.peak_builders.get('x86_64', 0)}/{r.peak_builders.get('aarch64', 0)}"
    return (f"{r.fleet:<17} {r.p50_wait_s:6.0f} {r.p95_wait_s:6.0f} {r.max_wait_s:6.0f}"
            f" {r.below_max_p95_wait_s:9.0f} {r.below_max_tasks:6d} {r.capped_p95_wait_s:10.0f} {r.capped_tasks:5d}"
            f" {r.parent_p95_wait_s:10.0f} {r.build_p95_wait_s:9.0f} {r.restarts:8d} {r.builder_hours:9.1f}"
            f" {r.cost_usd:8.2f} {r.utilisation:5.2f} {r.makespan_s / 3600:10.2f} {peak:>12}")


def wait_bound_s(cmp: Comparison) -> float:
    """boot + 2 controller periods + the scheduler's run interval + kojid's poll."""
    cfg = cmp.cfg
    return boot_total_s(cfg) + 2 * cfg.period_s + RUN_INTERVAL_S + KOJID_POLL_S


def bars(cmp: Comparison) -> list[str]:
    """The issue's bars, measured (only those that apply to this workload)."""
    out = []
    ctl = cmp.result("controller")
    cfg = cmp.cfg
    if cmp.workload.name == "mass-rebuild":
        bound = wait_bound_s(cmp)
        ok = ctl.below_max_p95_wait_s <= bound
        out.append(f"bar: p95 wait below max {ctl.below_max_p95_wait_s:.0f} s ({ctl.below_max_tasks} tasks) <= "
                   f"boot {boot_total_s(cfg):.0f} + 2x{cfg.period_s:.0f} + {RUN_INTERVAL_S:.0f} + "
                   f"{KOJID_POLL_S:.0f} = {bound:.0f} s: {'met' if ok else 'MISSED'}; capped by max: "
                   f"{ctl.capped_tasks} tasks, p95 {ctl.capped_p95_wait_s:.0f} s")
    if cmp.workload.name == "diurnal" and any(r.fleet == "oracle-real-boot" for r in cmp.results):
        oracle = cmp.result("oracle-real-boot").builder_hours
        peak = cmp.result("fixed-peak").builder_hours
        ok1, ok2 = ctl.builder_hours <= 1.25 * oracle, ctl.builder_hours <= 0.5 * peak
        out.append(f"bar: builder-hours {ctl.builder_hours:.1f} <= 1.25 x oracle-real-boot {oracle:.1f} = "
                   f"{1.25 * oracle:.1f}: {'met' if ok1 else 'MISSED'} (ratio {ctl.builder_hours / oracle:.2f})")
        out.append(f"bar: builder-hours {ctl.builder_hours:.1f} <= 0.5 x fixed-peak {peak:.1f} = "
                   f"{0.5 * peak:.1f}: {'met' if ok2 else 'MISSED'} (ratio {ctl.builder_hours / peak:.2f})")
    return out


def header(cmp: Comparison) -> str:
    """One line saying what ran."""
    cfg, w = cmp.cfg, cmp.workload
    ctl = cmp.results[0]
    return (f"workload {w.name} (seed {w.seed}): {ctl.tasks} builder tasks, max {cmp.workload.max_per_arch}"
            f"/arch; boot {boot_total_s(cfg):.0f} s, controller period {cfg.period_s:.0f} s, idle "
            f"{cfg.idle_s:.0f} s; light channel: hub kojid capacity {cfg.light_capacity:g}, maxjobs "
            f"{cfg.light_maxjobs}{', light hosts' if cfg.light_hosts else ', no light hosts'}; "
            f"spot {cfg.spot_rate_per_hour:g}/builder-h")


def price_note() -> str:
    types = ", ".join(f"{t} ${p:.3f}/h" for t, p in PRICE_PER_HOUR.values())
    return f"cost: on-demand Linux {PRICE_REGION} ({types}), prices as of {PRICES_TAKEN}"


def render_text(cmp: Comparison) -> str:
    """The table for one workload, the bars, and the notes."""
    lines = [header(cmp), _HEAD] + [_row(r) for r in cmp.results]
    if cmp.sizes:
        lines.append("fixed fleets (x86/arm): " + ", ".join(
            f"{k} {v['x86_64']}/{v['aarch64']}" for k, v in cmp.sizes.items()))
    if not any(r.fleet == "controller" for r in cmp.results):
        return "\n".join(lines)
    ctl = cmp.result("controller")
    if ctl.parent_p95_wait_s > wait_bound_s(cmp) and ctl.light_full_share >= 0.1:
        lines.append(f"warning: build parents waited {ctl.parent_p95_wait_s:.0f} s (p95) for the light channel: "
                     f"{ctl.light_full_share:.0%} of them waited while the light channel (the hub's kojid: capacity "
                     f"{cmp.cfg.light_capacity:g}, maxjobs {cmp.cfg.light_maxjobs}"
                     f"{', and the light hosts' if cmp.cfg.light_hosts else ''}) was full, so builds in flight "
                     "were capped and builder figures describe a fleet fed below demand")
    elif ctl.parent_p95_wait_s > wait_bound_s(cmp):
        lines.append(f"note: build parents waited {ctl.parent_p95_wait_s:.0f} s (p95): the scheduler looks at "
                     "1,000 FREE tasks per run, children (priority 19) before parents (20)")
    unfinished = [r for r in cmp.results if r.unfinished]
    for r in unfinished:
        lines.append(f"warning: {r.fleet}: {r.unfinished} task(s) never finished (unservable arch or time limit)")
    return "\n".join(lines + bars(cmp))


def to_json(cmp: Comparison) -> str:
    """Deterministic JSON of the comparison."""
    doc = {
        "workload": {"name": cmp.workload.name, "seed": cmp.workload.seed,
                     "max_per_arch": cmp.workload.max_per_arch},
        "config": {k: getattr(cmp.cfg, k) for k in cmp.cfg.__dataclass_fields__},
        "prices": {"taken": PRICES_TAKEN, "region": PRICE_REGION,
                   "per_hour": {a: {"type": t, "usd": p} for a, (t, p) in PRICE_PER_HOUR.items()}},
        "fixed_sizes": cmp.sizes,
        "results": [r.as_dict() for r in cmp.results],
        "bars": bars(cmp),
        "wait_bound_s": wait_bound_s(cmp),
    }
    return json.dumps(doc, indent=2, sort_keys=True)
