"""Small workloads for the simulator's tests (the fixed ones take seconds; these take milliseconds)."""

import random

import pytest

from kojistack.sim.workloads import Workload, build, sample_duration


def small_workload(n_builds: int = 60, window_s: float = 1800.0, seed: int = 3, max_per_arch: int = 6) -> Workload:
    """`n_builds` builds (x86_64, half also aarch64) arriving uniformly within `window_s`."""
    rng = random.Random(seed)
    tasks = tuple(build(rng.uniform(0, window_s), ("x86_64", "aarch64") if i % 2 else ("x86_64",),
                        sample_duration(rng)) for i in range(n_builds))
    tasks = tuple(sorted(tasks, key=lambda t: t.arrival_s))
    return Workload("small", seed, tasks, max_per_arch, window_s)


@pytest.fixture
def workload() -> Workload:
    return small_workload()
