"""Issue 14 in the simulator: polls only when they matter, the observation the decisions need,
SCM builds, noarch builds, kojira, light hosts, the peer policies and the lower bound."""

import dataclasses

import pytest

from kojistack.controller import decide
from kojistack.sim import fleets as fleets_mod
from kojistack.sim.engine import HUB_HOST, Engine, SimConfig
from kojistack.sim.fleets import ControllerFleet, FixedFleet
from kojistack.sim.koji_model import CLOSED
from kojistack.sim.peers import BuildkiteLikeFleet, TargetTrackingFleet, agents_per_instance, lower_bound
from kojistack.sim.workloads import PARENT_POST_S, PARENT_PRE_S, Workload, build

from .conftest import small_workload


def _wl(specs, max_per_arch=6):
    specs = tuple(sorted(specs, key=lambda s: s.arrival_s))
    return Workload("t", 1, specs, max_per_arch, max(s.arrival_s for s in specs))


def test_idle_builders_cost_no_simulated_polls():
    """40 idle builders for a few hours: the old engine simulated every 15 s poll of each
    (about 40 x 240 per hour); event-driven, a poll is simulated only when it can change something."""
    wl = _wl([build(0.0, ("x86_64",), 3 * 3600.0), build(0.0, ("x86_64",), 60.0)], max_per_arch=50)
    rec = Engine(wl, FixedFleet("f", {"x86_64": 40, "aarch64": 0}), SimConfig()).run()
    assert rec.last_close_s > 3 * 3600 and all(t.state == CLOSED for t in rec.tasks)
    assert rec.polls < 500


class _Checking(ControllerFleet):
    """Plans from the trimmed observation equal plans from every active task."""

    checked = 0

    def _tick(self, eng):
        trimmed = fleets_mod.observe(eng)
        everything = dataclasses.replace(trimmed, tasks=tuple(
            decide.Task(t.id, t.method, t.arch, t.channel, t.state, t.weight, t.host.name if t.host else None,
                        t.waiting) for t in eng.hub.tasks.values()))
        if len(everything.tasks) > len(trimmed.tasks):
            assert decide.plan(trimmed, self.policy) == decide.plan(everything, self.policy)
            _Checking.checked += 1
        super()._tick(eng)


def test_the_observation_leaves_out_only_what_no_decision_reads():
    Engine(small_workload(n_builds=40), _Checking(), SimConfig(light_maxjobs=5)).run()
    assert _Checking.checked > 20


def test_a_build_from_scm_builds_its_srpm_on_a_builder_first_and_noarch_builds_once():
    wl = _wl([build(0.0, ("x86_64", "aarch64"), 300.0, srpm_s=120.0), build(10.0, ("noarch",), 200.0, srpm_s=90.0)])
    rec = Engine(wl, ControllerFleet(), SimConfig()).run()
    by_method = {}
    for t in rec.tasks:
        by_method.setdefault(t.method, []).append(t)
    srpms, arch_tasks = by_method["buildSRPMFromSCM"], by_method["buildArch"]
    assert len(srpms) == 2 and len(arch_tasks) == 3
    for s in srpms:
        assert decide.slot_arch(s.ran_on[0]) in ("x86_64", "aarch64")      # on a builder, not the hub
        for c in s.parent.children:
            if c.method == "buildArch":
                assert c.create_ts >= s.end_ts                            # the SRPM first
    (noarch,) = [t for t in arch_tasks if t.arch == "noarch"]
    assert decide.slot_arch(noarch.ran_on[0]) in ("x86_64", "aarch64")


def test_kojira_regenerates_the_build_tag_on_the_hubs_kojid_one_at_a_time():
    rec = Engine(small_workload(n_builds=30), ControllerFleet(), SimConfig()).run()
    repos = [t for t in rec.tasks if t.method == "newRepo"]
    assert rec.newrepos == len(repos) > 1
    assert all(t.ran_on == [HUB_HOST] for t in rec.tasks if t.method in ("newRepo", "createrepo"))
    spans = sorted((t.first_start_ts, t.end_ts) for t in repos)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert Engine(small_workload(n_builds=30), ControllerFleet(), SimConfig(kojira=False)).run().newrepos == 0


def _in_flight(rec):
    parents = [t for t in rec.tasks if t.method == "build"]
    return max(sum(1 for q in parents if q.first_start_ts <= p.first_start_ts < q.end_ts) for p in parents)


def test_light_hosts_lift_the_ceiling_on_builds_in_flight_and_leave_when_empty():
    wl = small_workload(n_builds=60, window_s=300.0)
    capped = Engine(wl, ControllerFleet(), SimConfig(light_maxjobs=3, light_capacity=3.0, light_hosts=False)).run()
    lifted = Engine(wl, ControllerFleet(), SimConfig(light_maxjobs=3, light_capacity=3.0, light_hosts=True)).run()
    assert _in_flight(capped) <= 3 < _in_flight(lifted)
    light = [i for i in lifted.instances if i.role == "light"]
    assert light and all(i.ended_at < lifted.end_s for i in light)
    assert any(t.ran_on[0].startswith("light-") for t in lifted.tasks if t.method == "build")
    assert not any(t.ran_on[0].startswith("light-") for t in lifted.tasks if t.method != "build")
    assert lifted.last_close_s < capped.last_close_s


def test_buildkite_like_asks_for_jobs_over_agents_per_instance_and_never_scales_in(monkeypatch):
    wl = _wl([build(0.0, ("x86_64",), 4000.0) for _ in range(12)], max_per_arch=50)
    seen = []
    real = Engine.set_desired
    monkeypatch.setattr(Engine, "set_desired", lambda self, a, n: (seen.append((self.now, a, n)), real(self, a, n)))
    eng = Engine(wl, BuildkiteLikeFleet(), SimConfig(kojira=False))
    rec = eng.run()
    assert agents_per_instance(eng) == 5                                # capacity 8 // buildArch 1.5
    assert max(n for _t, a, n in seen if a == "x86_64") == 3            # ceil(12 / 5)
    assert [n for _t, _a, n in seen] == sorted(n for _t, _a, n in seen)  # DISABLE_SCALE_IN
    assert all(i.ended_at < rec.end_s for i in rec.instances)           # idle instances left by themselves


def test_target_tracking_keeps_one_builder_and_waits_for_three_datapoints(monkeypatch):
    wl = _wl([build(600.0, ("x86_64",), 3000.0) for _ in range(12)], max_per_arch=50)
    seen = []
    real = Engine.set_desired
    monkeypatch.setattr(Engine, "set_desired", lambda self, a, n: (seen.append((self.now, a, n)), real(self, a, n)))
    Engine(wl, TargetTrackingFleet(), SimConfig(kojira=False)).run()
    assert seen[0][0] == 0.0 and seen[0][2] == 1
    first_out = min(t for t, a, n in seen if a == "x86_64" and n > 1)
    assert first_out >= 600.0 + 2 * 60.0


def test_the_lower_bound_is_the_pure_work_packed_with_one_boot_per_builder():
    wl = _wl([build(100.0, ("x86_64",), 3600.0), build(100.0, ("x86_64",), 3600.0)])
    lb = lower_bound(wl, capacity=8.0, boot_total_s=200.0)
    w = 1.5 + 3600.0 / 4800.0
    assert lb.peak_builders == {"x86_64": 1, "aarch64": 0}
    assert lb.builder_hours == pytest.approx(2 * w * 1.0 / 8.0 + 200.0 / 3600.0)
    assert lb.makespan_s == pytest.approx(100.0 + PARENT_PRE_S + 3600.0 + PARENT_POST_S)
