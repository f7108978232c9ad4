"""The fixed workloads match issue 7 exactly and are deterministic for a seed."""

import math

from kojistack.sim.metrics import percentile
from kojistack.sim.workloads import (
    DURATION_MEDIAN_S,
    DURATION_P95_S,
    build_arch_weight,
    make_workload,
    working_day_rate,
)


def _build_arch(wl):
    return [c for t in wl.tasks for c in t.children]


def test_mass_rebuild_is_as_the_issue_fixes_it():
    wl = make_workload("mass-rebuild", 1)
    children = _build_arch(wl)
    assert len(children) == 3000
    assert sum(c.arch == "x86_64" for c in children) == 2100
    assert sum(c.arch == "aarch64" for c in children) == 900
    assert all(t.method == "build" and t.arch == "noarch" and t.channel == "light" for t in wl.tasks)
    assert all(c.method == "buildArch" and c.channel == "default" for c in children)
    assert max(t.arrival_s for t in wl.tasks) <= 600.0
    assert wl.max_per_arch == 50


def test_durations_are_lognormal_median_4_min_p95_40_min():
    durations = [c.duration_s for c in _build_arch(make_workload("mass-rebuild", 1))]
    assert abs(percentile(durations, 50) / DURATION_MEDIAN_S - 1) < 0.1
    assert abs(percentile(durations, 95) / DURATION_P95_S - 1) < 0.2


def test_children_run_before_their_parents_in_scheduler_order():
    wl = make_workload("steady", 1)
    assert all(c.priority == t.priority - 1 for t in wl.tasks for c in t.children)


def test_build_arch_weight_follows_kojid():
    """builder/kojid BuildArchTask.updateWeight: 1.5 + 0.75 per hour, the adjustment capped at +4.5."""
    assert build_arch_weight(0) == 1.5
    assert build_arch_weight(4800) == 2.5
    assert build_arch_weight(4.5 * 4800) == 6.0
    assert build_arch_weight(10**7) == 6.0


def test_diurnal_has_600_builds_a_day_with_a_5x_working_day_peak():
    wl = make_workload("diurnal", 1)
    assert abs(len(wl.tasks) / 2 - 600) < 60                      # Poisson: 2 days, within ~2.5 sigma
    assert working_day_rate(13.0) == 5.0 and working_day_rate(2.0) == 1.0
    by_hour = [0] * 24
    for t in wl.tasks:
        by_hour[int(t.arrival_s // 3600) % 24] += 1
    night = sum(by_hour[0:6]) / 6
    midday = sum(by_hour[12:14]) / 2
    assert 3.5 < midday / night < 7
    children = _build_arch(wl)
    assert abs(sum(c.arch == "x86_64" for c in children) / len(children) - 0.7) < 0.04


def test_steady_is_20_builds_an_hour():
    wl = make_workload("steady", 1)
    assert abs(len(wl.tasks) - 480) < 3 * math.sqrt(480)


def test_same_seed_same_workload_other_seed_other_workload():
    for name in ("steady", "diurnal", "mass-rebuild"):
        assert make_workload(name, 7) == make_workload(name, 7)
        assert make_workload(name, 7) != make_workload(name, 8)
