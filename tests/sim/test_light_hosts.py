"""The simulator's light hosts are the shipped ones (issue 14 items 1 and 2): the same instance type,
memory, maximum and slot formula as the template and the light host's own kojid.conf."""

from kojistack.controller import decide
from kojistack.sim import light
from kojistack.sim.engine import SimConfig
from kojistack.template.light import LIGHT_HOST_TYPE
from kojistack.template.parameters import LIGHT_HOSTS_MAX_DEFAULT


def test_the_simulated_light_hosts_are_the_templates():
    assert light.LIGHT_HOST_TYPE == LIGHT_HOST_TYPE["aarch64"]    # the default stack has aarch64 builders
    assert light.LIGHT_HOSTS_MAX == LIGHT_HOSTS_MAX_DEFAULT
    # the controller's estimate from the type's memory and the host's own count from its MemTotal agree
    assert decide.light_host_slots(light.LIGHT_HOST_TYPE_MIB) == light.LIGHT_SLOTS == 274



def test_the_shipped_configuration_has_light_hosts():
    assert SimConfig().light_hosts is True


def test_a_light_host_drained_with_parents_assigned_lets_them_go():
    """The buildkite-like peer's mass rebuild, seed 2: a light host was drained (disabled) while the
    scheduler had assigned it 15 parents it had not opened. Koji's kojid on a disabled host never
    opens them and its scheduler never reclaims them (koji 1.35.3 koji/daemon.py readyForTask,
    kojihub/scheduler.py check_active_tasks), as the simulator's hub reproduces; until the light plan
    freed them (decide.stranded), those 15 builds never finished and the host was kept to the
    simulator's 14-day limit (367.9 light-host hours against 36.2 now)."""
    from dataclasses import replace

    from kojistack.sim.run import compare
    from kojistack.sim.workloads import make_workload

    r = compare(make_workload("mass-rebuild", 2), replace(SimConfig(), seed=2), ("buildkite-like",),
                bound=False).results[0]
    assert r.unfinished == 0 and r.light_hours < 100
