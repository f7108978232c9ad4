"""One comparison: a workload against the controller and the reference fleets, in a fixed order.

Order: the zero-boot oracle first (it sizes the fixed fleets: its peak and its mean), then the
real-boot oracle derived from it, the fixed fleets, and the controller (driving `decide.plan`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kojistack import names
from kojistack.controller import decide

from .engine import Engine, Record, SimConfig
from .fleets import ControllerFleet, FixedFleet, OracleFleet
from .metrics import Result, fixed_sizes, real_boot_oracle_hours, summarise
from .peers import BuildkiteLikeFleet, TargetTrackingFleet, lower_bound
from .workloads import Workload

#: the fleet policies `kojistack simulate --fleet` and `make bench` can run (kojistack/sim/peers.py)
POLICIES = {"controller": ControllerFleet, "buildkite-like": BuildkiteLikeFleet,
            "target-tracking": TargetTrackingFleet}


@dataclass
class Comparison:
    """Results per fleet, in table order, and the controller's run (for the plot)."""

    workload: Workload
    cfg: SimConfig
    results: list[Result] = field(default_factory=list)
    controller: Record | None = None
    sizes: dict = field(default_factory=dict)

    def result(self, fleet: str) -> Result:
        return next(r for r in self.results if r.fleet == fleet)


def boot_total_s(cfg: SimConfig) -> float:
    """Launch to kojid's first poll when registration is not the slower path."""
    return cfg.boot_s + cfg.packages_s + cfg.start_s


def bound_result(workload: Workload, cfg: SimConfig) -> Result:
    """The lower bound as a table row: pure work packed, no wait, one boot per builder of the peak."""
    capacity = decide.builder_capacity(cfg.vcpus)
    lb = lower_bound(workload, capacity, boot_total_s(cfg))
    n = sum(1 for spec in workload.tasks for wave in (spec.children, spec.then) for c in wave
            if c.channel == names.CHANNEL_DEFAULT)
    return Result("lower-bound", n, 0.0, 0.0, 0.0, n, 0.0, 0, 0.0, 0.0, 0, lb.builder_hours, 0.0, 1.0,
                  lb.makespan_s, lb.peak_builders, 0, 0.0)


def compare(workload: Workload, cfg: SimConfig = SimConfig(), fleets: tuple[str, ...] = tuple(POLICIES),
            policy: decide.Policy | None = None, bound: bool = True) -> Comparison:
    """Run the workload once per fleet policy (in the order given), then the lower bound."""
    capacity = decide.builder_capacity(cfg.vcpus)
    cmp = Comparison(workload, cfg)
    for name in fleets:
        fleet = ControllerFleet(policy) if name == "controller" else POLICIES[name]()
        rec = Engine(workload, fleet, cfg).run()
        if name == "controller":
            cmp.controller = rec
        cmp.results.append(summarise(name, rec, capacity))
    if bound:
        cmp.results.append(bound_result(workload, cfg))
    return cmp


def simulate(workload: Workload, cfg: SimConfig = SimConfig(), policy: decide.Policy | None = None,
             references: bool = True) -> Comparison:
    """Run the workload against the controller and (unless `references` is off) the reference fleets."""
    capacity = decide.builder_capacity(cfg.vcpus)
    cmp = Comparison(workload, cfg)
    if references:
        oracle = Engine(workload, OracleFleet(), cfg).run()
        peak, mean = fixed_sizes(oracle, oracle.last_close_s or 1.0)
        cmp.sizes = {"fixed-peak": peak, "fixed-mean": mean}
        boot_total = boot_total_s(cfg)
        cmp.results.append(summarise("oracle-real-boot", oracle, capacity,
                                     real_boot_oracle_hours(oracle.instances, boot_total)))
        cmp.results.append(summarise("oracle-zero-boot", oracle, capacity))
        for name, sizes in (("fixed-peak", peak), ("fixed-mean", mean)):
            rec = Engine(workload, FixedFleet(name, sizes), cfg).run()
            cmp.results.append(summarise(name, rec, capacity))
    ctl = ControllerFleet(policy)
    rec = Engine(workload, ctl, cfg).run()
    cmp.controller = rec
    cmp.results.insert(0, summarise("controller", rec, capacity))
    return cmp
