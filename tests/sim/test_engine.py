"""Invariants of a simulated run: conservation, Koji's capacity rules, parents off the builders,
determinism, and the controller's real decisions scaling out and back in."""

import pytest

from kojistack.controller import decide
from kojistack.sim.engine import HUB_HOST, Engine, SimConfig
from kojistack.sim.fleets import ControllerFleet, FixedFleet, OracleFleet
from kojistack.sim.koji_model import CLOSED
from kojistack.sim.report import to_json
from kojistack.sim.run import simulate

from .conftest import small_workload


def _run(workload, fleet, **cfg):
    return Engine(workload, fleet, SimConfig(**cfg)).run()


def _expected_tasks(workload, rec):
    """Builds and their children, plus kojira's newRepo tasks with one createrepo child per arch."""
    return (len(workload.tasks) + sum(len(t.children) + len(t.then) for t in workload.tasks)
            + rec.newrepos * 3)


FLEETS = [lambda: ControllerFleet(), lambda: OracleFleet(), lambda: FixedFleet("fixed", {"x86_64": 2, "aarch64": 1})]


@pytest.mark.parametrize("make_fleet", FLEETS, ids=["controller", "oracle", "fixed"])
def test_every_task_starts_and_ends_once(workload, make_fleet):
    rec = _run(workload, make_fleet())
    assert rec.newrepos > 0
    assert len(rec.tasks) == _expected_tasks(workload, rec)
    assert len({t.id for t in rec.tasks}) == len(rec.tasks)
    for t in rec.tasks:
        assert t.state == CLOSED and t.end_ts is not None
        assert t.starts == 1 and t.restarts == 0 and len(t.ran_on) == 1
        assert t.create_ts <= t.first_start_ts <= t.end_ts
        assert t.wait_s == pytest.approx(t.first_start_ts - t.create_ts)
        if t.parent is not None:
            assert t.parent.first_start_ts <= t.create_ts and t.end_ts <= t.parent.end_ts


@pytest.mark.parametrize("make_fleet", FLEETS, ids=["controller", "oracle", "fixed"])
def test_no_host_takes_a_task_beyond_its_capacity_or_maxjobs(workload, make_fleet):
    rec = _run(workload, make_fleet(), light_maxjobs=4)
    assert rec.max_load_over_capacity <= 0.0      # kojid opens a task only while load <= capacity
    assert rec.max_jobs_over <= 0                 # and while it holds no more than maxjobs tasks


def test_parents_never_run_on_builders(workload):
    rec = _run(workload, ControllerFleet())
    parents = [t for t in rec.tasks if t.method == "build"]
    children = [t for t in rec.tasks if t.method == "buildArch"]
    assert parents and children
    assert all(t.ran_on == [HUB_HOST] for t in parents)
    assert all(decide.slot_arch(t.ran_on[0]) == t.arch for t in children)


def test_light_channel_maxjobs_bounds_builds_in_flight(workload):
    """Waiting parents still count towards the hub kojid's maxjobs: at most 2 builds in flight
    (without light hosts: they would lift the ceiling, tests/sim/test_scale.py)."""
    rec = _run(workload, ControllerFleet(), light_maxjobs=2, light_hosts=False)
    parents = sorted((t for t in rec.tasks if t.method == "build"), key=lambda t: t.first_start_ts)
    for p in parents:
        overlapping = [q for q in parents if q.first_start_ts <= p.first_start_ts < q.end_ts]
        assert len(overlapping) <= 2


def test_spot_interruptions_restart_tasks_from_scratch_and_conserve_them(workload):
    rec = _run(workload, ControllerFleet(), spot_rate_per_hour=3.0, seed=5)
    builder_tasks = [t for t in rec.tasks if t.method == "buildArch"]
    assert sum(t.restarts for t in builder_tasks) > 0
    assert any(i.interrupted for i in rec.instances)
    for t in builder_tasks:
        assert t.state == CLOSED and t.starts == t.restarts + 1 == len(t.ran_on)
        assert t.end_ts - t.duration_s >= t.create_ts + t.wait_s - 1e-6   # the last run was a whole run


def test_the_controller_scales_out_registers_slots_and_scales_back_in(workload):
    fleet = ControllerFleet()
    rec = _run(workload, fleet)
    assert fleet.plans > 10
    assert rec.instances and all(decide.SLOT_PATTERN.fullmatch(i.slot) for i in rec.instances)
    assert max(sum(1 for i in rec.instances if i.arch == "x86_64" and i.launched_at <= t < i.ended_at)
               for t in range(0, int(rec.end_s), 60)) <= workload.max_per_arch
    # after the last task, idle builders are drained and terminated with a decrement
    assert all(i.ended_at < rec.end_s for i in rec.instances)
    assert all(i.ec2_state == "terminated" for i in rec.instances)


def test_a_min_size_keeps_builders(workload):
    rec = _run(workload, ControllerFleet(), min_size=1)
    assert {i.arch for i in rec.instances if i.ended_at == rec.end_s} == {"x86_64", "aarch64"}


def test_same_seed_same_figures_other_seed_other_figures():
    wl = small_workload(n_builds=30)
    a = to_json(simulate(wl, SimConfig(spot_rate_per_hour=1.0, seed=2)))
    b = to_json(simulate(wl, SimConfig(spot_rate_per_hour=1.0, seed=2)))
    c = to_json(simulate(wl, SimConfig(spot_rate_per_hour=1.0, seed=3)))
    assert a == b
    assert a != c


def test_reference_fleets_bracket_the_controller():
    cmp = simulate(small_workload())
    by = {r.fleet: r for r in cmp.results}
    assert list(by) == ["controller", "oracle-real-boot", "oracle-zero-boot", "fixed-peak", "fixed-mean"]
    assert by["oracle-zero-boot"].builder_hours <= by["oracle-real-boot"].builder_hours
    assert by["oracle-real-boot"].p95_wait_s == by["oracle-zero-boot"].p95_wait_s
    assert by["controller"].builder_hours <= by["fixed-peak"].builder_hours
    assert by["fixed-peak"].p95_wait_s <= by["fixed-mean"].p95_wait_s
    peak, mean = cmp.sizes["fixed-peak"], cmp.sizes["fixed-mean"]
    assert all(peak[a] >= mean[a] >= 1 for a in peak)


def test_the_fleet_is_whatever_decide_plan_says(workload, monkeypatch):
    """The simulator carries out decide.plan's desired capacities; no plan, no builders."""
    calls = []
    real = decide.plan

    def spy(state, policy):
        p = real(state, policy)
        calls.append((state.now, dict(p.desired)))
        return p

    monkeypatch.setattr(decide, "plan", spy)
    rec = _run(workload, ControllerFleet())
    assert len(calls) > 10 and any(d for _, d in calls)
    first_launch = min(i.launched_at for i in rec.instances)
    assert first_launch == min(t for t, d in calls if d)

    monkeypatch.setattr(decide, "plan", lambda state, policy: decide.Plan(desired={}))
    rec = Engine(workload, ControllerFleet(), SimConfig(limit_s=3600)).run()
    assert rec.instances == [] and rec.truncated


def test_observed_builders_carry_their_vcpus_and_no_bootstrap_failure(workload, monkeypatch):
    """fleets.observe fills decide.Instance as the controller's shell does. A positional vcpus once
    landed in `bootstrap_failure` (a field added before it): every builder was refused or replaced
    and a run never ended (mypy: 'Argument 12 to "Instance" has incompatible type "int"')."""
    seen = []
    real = decide.plan

    def spy(state, policy):
        seen.extend(state.instances)
        return real(state, policy)

    monkeypatch.setattr(decide, "plan", spy)
    Engine(workload, ControllerFleet(), SimConfig(vcpus=16, limit_s=3600)).run()
    assert seen and all(i.vcpus == 16 and i.bootstrap_failure is None for i in seen)


def test_the_scheduler_runs_on_when_the_host_picked_for_it_is_gone():
    """Koji's scheduler runs at the first check-in of any ready host at least RunInterval after its
    last run (kojihub/scheduler.py). The engine simulates only the poll of the host it picks; when
    that host was a builder that terminated before its poll (the buildkite-like peer's idle
    builders leave on their own), no run followed, and the hub's own kojid, polling but not
    simulated, never took the parents that arrived next: diurnal seed 5 ended with 27 builds never
    started. Now another qualifying host runs it."""
    from dataclasses import replace

    from kojistack.sim.peers import BuildkiteLikeFleet
    from kojistack.sim.workloads import make_workload

    rec = Engine(make_workload("diurnal", 5), BuildkiteLikeFleet(), replace(SimConfig(), seed=5)).run()
    assert not rec.truncated and all(t.state == CLOSED for t in rec.tasks)
