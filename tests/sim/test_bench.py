"""`make bench`'s simulator part (kojistack/sim/bench.py): every row comes from a job run once,
shared by the sections that show it, and the figures do not depend on running the jobs side by
side; the scheduler's view of the queue is the head of its bins (the shortcut the bench relies on)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from kojistack.sim import bench
from kojistack.sim.bench import SHIPPED, Job, Runs, all_jobs, simulate
from kojistack.sim.koji_model import FREE_TASK_LIMIT, Hub, Task
from kojistack.sim.run import compare
from kojistack.sim.workloads import make_workload

pytestmark = pytest.mark.slow      # simulator runs in a process pool (tests/tiers.py: over 4 s)


def test_the_shipped_rows_of_later_sections_are_section_ones_runs():
    """Section 3's and 4's shipped rows and section 5's timed run are jobs equal to earlier ones:
    they run once (65 rows, 59 runs)."""
    jobs = all_jobs(1)
    shipped = {j for j in bench._shipped(1) if j.fleet == "controller"}
    in_flight = [j for label, j in bench._in_flight(1) if "(shipped)" in label]
    packing = [j for label, j in bench._packing(1) if "(shipped)" in label]
    assert in_flight and packing and set(in_flight) | set(packing) <= shipped
    assert bench._speed_job(1) in {j for _, j in bench._in_flight(1)}
    assert len(jobs) - len(set(jobs)) == len(in_flight) + len(packing) + 1


def test_a_job_gives_what_compare_gives():
    job = Job("steady", 2, "controller", dataclasses.replace(SHIPPED, seed=2))
    expected = compare(make_workload("steady", 2), job.cfg, ("controller",), bound=False).results[0]
    assert simulate(job).result == expected


def test_side_by_side_gives_the_same_figures_as_one_by_one():
    cfg = dataclasses.replace(SHIPPED, seed=3)
    jobs = [Job("steady", 3, fleet, cfg) for fleet in ("controller", "buildkite-like", "lower-bound")]
    jobs.append(jobs[0])                                    # asked twice, run once
    pooled, serial = Runs(jobs, 2), Runs(jobs, 1)
    try:
        assert len(pooled.unique) == 3 and pooled.workers == 2 and serial.pool is None
        assert [pooled.get(j).result for j in jobs] == [serial.get(j).result for j in jobs]
    finally:
        pooled.close()


def test_the_runs_first_free_tasks_are_the_smallest_of_every_bin():
    """Hub._first_free takes the head of the bins' merge; it equals sorting the whole queue."""
    rng = random.Random(5)
    hub = Hub()
    for i in range(1, 3 * FREE_TASK_LIMIT):
        task = Task(i, "buildArch", rng.choice(("x86_64", "aarch64", "noarch")), rng.choice(("default", "light")),
                    rng.choice((10, 14, 20)), 60.0, 1.5)
        hub.create(task, rng.uniform(0, 100))
    everything = sorted((t for entries in hub.free_bins.values() for _, t in entries), key=lambda t: t.sort_key)
    assert hub._first_free() == everything[:FREE_TASK_LIMIT]


def test_a_run_that_never_finished_shows_no_makespan_and_the_bar_says_so():
    """A peer stopped at the simulator's time limit has no makespan, and its p95 counts only the
    tasks that finished: the table and the bar line say so instead of printing 0.00 h."""
    import dataclasses

    from kojistack.sim import bench
    from kojistack.sim.engine import SimConfig
    from kojistack.sim.run import bound_result
    from kojistack.sim.workloads import make_workload

    base = bound_result(make_workload("steady", 1), SimConfig())
    ctl = dataclasses.replace(base, fleet="controller", p95_wait_s=30.0, builder_hours=70.0)
    stuck = dataclasses.replace(base, fleet="target-tracking", p95_wait_s=20.0, builder_hours=900.0, unfinished=15,
                                makespan_s=0.0)
    done = dataclasses.replace(base, fleet="buildkite-like", p95_wait_s=40.0, builder_hours=75.0)
    row = bench._row(stuck)
    assert "never" in row and "0.00" not in row and "(15 unfinished)" in row
    assert "never" not in bench._row(done)
    line = bench._verdict([ctl, done, stuck])
    assert line.endswith("left tasks unfinished: target-tracking (15); a p95 counts finished tasks only")
    assert "buildkite-like" not in line.split(" - ")[1]


def test_builder_hours_are_compared_at_the_best_peer_s_p95():
    """The bar: "no more builder-hours than the best peer at the same p95". The shipped controller
    waits 30 s on 74 h where the best peer waits 100 s on 73 h: not the same p95. With less room
    kept (ROOM) the controller waits 30 s... on 66 h: that setting is held to the peer's hours. A
    setting whose p95 is above the peer's cannot be picked; with none at or below it, MISSED. The
    p95 lines judge the shipped controller only, for builder tasks and for whole builds."""
    from kojistack.sim.run import bound_result

    base = bound_result(make_workload("steady", 1), SHIPPED)
    ctl = dataclasses.replace(base, fleet="controller", p95_wait_s=30.0, build_p95_wait_s=90.0, builder_hours=74.2)
    peer = dataclasses.replace(base, fleet="buildkite-like", p95_wait_s=100.0, build_p95_wait_s=80.0,
                               builder_hours=73.0)
    slow = dataclasses.replace(base, fleet="target-tracking", p95_wait_s=185.0, build_p95_wait_s=250.0,
                               builder_hours=61.3)
    room = dataclasses.replace(ctl, p95_wait_s=30.0, builder_hours=66.3)
    bar = bench.Bar.of([ctl, peer, slow], room)
    assert bar.pick == (f"room {bench.ROOM}", room) and bar.hours_ok and bar.p95_ok and not bar.build_ok
    assert bar.flags() == "   build p95 above a peer"
    assert not bench.Bar.of([ctl, peer, slow]).hours_ok                   # the shipped setting alone: 74.2 > 73.0
    late = dataclasses.replace(room, p95_wait_s=120.0)
    assert bench.Bar.of([ctl, peer, slow], late).pick == ("shipped", ctl)
    hopeless = dataclasses.replace(ctl, p95_wait_s=150.0)
    assert bench.Bar.of([hopeless, peer, slow], late).pick is None
    assert "no controller setting reaches it: MISSED" in bench._verdict([hopeless, peer, slow], late)
    # fewer builder-hours than the best peer is met whatever the p95 (a capped mass rebuild)
    cheap = dataclasses.replace(hopeless, builder_hours=70.0)
    assert bench.Bar.of([cheap, peer, slow]).hours_ok and not bench.Bar.of([cheap, peer, slow]).p95_ok
    assert "bar: builder-hours: controller 70.0 h <= the best peer's (buildkite-like, p95 100 s) 73.0 h: met" \
        in bench._verdict([cheap, peer, slow])
