"""Percentiles, the real-boot oracle's hours, and fixed-fleet sizing."""

import pytest

from kojistack.sim.engine import Instance, Record
from kojistack.sim.metrics import cost, fixed_sizes, percentile, real_boot_oracle_hours


def _inst(arch, slot, start, end):
    i = Instance(f"i-{slot}-{start}", arch, start, slot=slot)
    i.ended_at = end
    return i


def test_nearest_rank_percentile():
    assert percentile([], 95) == 0.0
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([5.0], 50) == 5.0


def test_real_boot_oracle_adds_a_boot_per_launch_and_bridges_short_gaps():
    insts = [_inst("x86_64", "x86-64-01", 0, 3600), _inst("x86_64", "x86-64-01", 3700, 7200),
             _inst("x86_64", "x86-64-01", 20000, 23600)]
    hours = real_boot_oracle_hours(insts, boot_total_s=200)
    # 0..7200 kept up (gap 100 s < boot), one boot; 20000..23600, another boot
    assert hours["x86_64"] == pytest.approx((7200 + 3600 + 2 * 200) / 3600)


def test_fixed_sizes_are_the_oracles_peak_and_mean():
    rec = Record(instances=[_inst("x86_64", "x86-64-01", 0, 3600), _inst("x86_64", "x86-64-02", 0, 1800),
                            _inst("aarch64", "aarch64-01", 1800, 2700)])
    peak, mean = fixed_sizes(rec, 3600)
    assert peak == {"x86_64": 2, "aarch64": 1}
    assert mean == {"x86_64": 2, "aarch64": 1}      # 1.5 and 0.25 builders on average, rounded up


def test_cost_uses_the_price_table():
    assert cost({"x86_64": 10, "aarch64": 10}) == pytest.approx(10 * 0.340 + 10 * 0.289)


def test_a_build_s_wait_is_its_parent_s_plus_each_wave_s_longest():
    """The packager's view: the parent queued 100 s; the SRPM wave's child 40 s; of the buildArch
    wave (created together) the longest, 50 s. A light-channel child (e.g. a tagBuild) is not the
    builders' queue and does not count; nor do parallel children beyond each wave's longest."""
    from kojistack.sim.koji_model import Task
    from kojistack.sim.metrics import build_wait_s

    def task(i, channel, create, wait, parent=None):
        t = Task(i, "build" if parent is None else "buildArch", "noarch", channel, 20, 10.0, 1.5, parent=parent)
        t.create_ts, t.wait_s = create, wait
        return t

    build = task(1, "light", 0.0, 100.0)
    build.children = [task(2, "default", 110.0, 40.0, build), task(3, "default", 600.0, 30.0, build),
                      task(4, "default", 600.0, 50.0, build), task(5, "light", 900.0, 500.0, build)]
    assert build_wait_s(build) == 100.0 + 40.0 + 50.0
