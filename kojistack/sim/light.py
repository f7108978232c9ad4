"""Light hosts: the light channel's capacity beyond the hub's own kojid, as the stack ships it.

A build parent holds a kojid slot on its light-channel host for as long as its children run, so
the builds in flight are bounded by the light channel's slots, and slots are memory (one forked
kojid process per waiting task). The hub's kojid has `SimConfig.light_maxjobs` of them (sized from
the hub's memory); beyond them the controller's `decide.light_plan` (the same code the controller
runs on the hub, kojistack/controller/loop.py) keeps light hosts: small instances of the stack's
light-host group (kojistack/template/light.py) whose kojid serves only the light channel,
`decide.light_slots(MemTotal)` slots each. A surplus light host is disabled and leaves once its
last parent finishes (a waiting parent is never stopped: that would restart its whole build).

`LightHosts` only carries the plan out, as `fleets.ControllerFleet.apply` does for the builders.
"""

from __future__ import annotations

from kojistack.controller import decide

from .engine import LIGHT_CHANNEL, Engine
from .engine import policy as sim_policy
from .fleets import carry_out, host_row, instance_row, task_row

LIGHT_HOST_TYPE = "m7g.large"              # 8 GiB Graviton: waiting is memory, not CPU
LIGHT_HOST_TYPE_MIB = 8_192                # DescribeInstanceTypes MemoryInfo.SizeInMiB
LIGHT_HOST_MEM_MIB = 7_617                 # its MemTotal, as the hub's (engine.HUB_MEM_TOTAL_KIB)
LIGHT_HOST_PRICE = 0.0816                  # USD/h on demand, us-east-1 (metrics.PRICES_TAKEN)
#: the LightHostsMax parameter's default (kojistack/template/parameters.py; tests/sim/test_light_hosts.py)
LIGHT_HOSTS_MAX = 100
#: maxjobs of a light host's kojid: what the host computes from its own MemTotal
LIGHT_SLOTS = decide.light_slots(LIGHT_HOST_MEM_MIB)
GROUP_NAME = "sim-light"


class LightHosts:
    """Carries out `decide.light_plan` for the simulated stack, one plan per controller loop."""

    def __init__(self, policy: decide.Policy | None = None) -> None:
        self.policy = policy or sim_policy()

    def observe(self, eng: Engine) -> decide.Observed:
        """What the controller observes of the light channel: its active tasks, the hosts, the group."""
        tasks = tuple(task_row(t) for t in eng.hub.by_channel.get(LIGHT_CHANNEL, {}).values())
        hosts = tuple(host_row(h) for h in eng.hub.hosts.values() if LIGHT_CHANNEL in h.channels)
        light = tuple(instance_row(i, decide.LIGHT, 2) for i in eng.live_light.values())
        group = decide.LightGroup(GROUP_NAME, 0, LIGHT_HOSTS_MAX, eng.light_desired,
                                  decide.light_host_slots(LIGHT_HOST_TYPE_MIB))
        return decide.Observed(eng.now, tasks, hosts, (), (), light=group, light_instances=light)

    def step(self, eng: Engine) -> None:
        self.apply(eng, decide.light_plan(self.observe(eng), self.policy))

    def apply(self, eng: Engine, plan: decide.LightPlan) -> None:
        """Carry out a light plan the way the controller's shell does."""
        carry_out(eng, plan, lambda inst, reg: eng.register(inst, reg.slot, reg.capacity,
                                                            channels=frozenset(reg.channels), maxjobs=LIGHT_SLOTS))
        if plan.desired is not None:
            eng.set_light_desired(plan.desired, LIGHT_HOSTS_MAX)
