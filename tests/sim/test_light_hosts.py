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
