"""The simulator's part of `make bench`: `print_table()` prints the tables for the three workloads.

Sections (about 30 s in all):
1. the three fixed workloads, every fleet, with the light channel sized so it does not throttle
   builds (hub kojid capacity 200, maxjobs 200) - this measures the fleet policy;
2. mass-rebuild with an unbounded light channel, so the fleet reaches its max (capped waits);
3. the same with spot interruptions at 0.1 per builder-hour (restarts from scratch);
4. steady with the hub's kojid as shipped (capacity 20, maxjobs 50) and as first drafted (2, 2).
"""

from __future__ import annotations

import dataclasses
import time

from .engine import SimConfig
from .report import price_note, render_text
from .run import simulate
from .workloads import WORKLOADS, make_workload

BASE = SimConfig()
LIGHT_SIZED = dataclasses.replace(BASE, light_capacity=200.0, light_maxjobs=200)
LIGHT_UNBOUNDED = dataclasses.replace(BASE, light_capacity=1000.0, light_maxjobs=5000)
SPOT = dataclasses.replace(LIGHT_UNBOUNDED, spot_rate_per_hour=0.1)


def _section(title: str, text: str, took: float) -> None:
    print(f"== {title} ({took:.1f} s)")
    print(text)
    print()


def print_table(seed: int = 1) -> None:
    """Print the simulator tables (deterministic figures; only the timings vary)."""
    runs = [(f"{name}, light channel sized (capacity 200, maxjobs 200)", name, LIGHT_SIZED, True)
            for name in WORKLOADS]
    runs += [
        ("mass-rebuild, light channel unbounded: the fleet reaches its max", "mass-rebuild", LIGHT_UNBOUNDED, True),
        ("mass-rebuild, light channel unbounded, spot 0.1 interruptions/builder-h", "mass-rebuild", SPOT, False),
        ("steady, hub kojid as shipped (capacity 20, maxjobs 50)", "steady", BASE, False),
        ("steady, hub kojid as first drafted (capacity 2, maxjobs 2)", "steady",
         dataclasses.replace(BASE, light_capacity=2.0, light_maxjobs=2), False),
    ]
    for title, name, cfg, refs in runs:
        start = time.perf_counter()
        cmp = simulate(make_workload(name, seed), dataclasses.replace(cfg, seed=seed), references=refs)
        _section(title, render_text(cmp), time.perf_counter() - start)
    print(price_note())


if __name__ == "__main__":  # pragma: no cover
    print_table()
