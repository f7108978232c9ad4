"""Light hosts: the light channel's capacity beyond the hub's own kojid, scaled like the builders.

A build parent holds a kojid slot on its light-channel host for as long as its children run, so
the builds in flight are bounded by the light channel's slots, and slots are memory (one forked
kojid process per waiting task). The hub's kojid has `SimConfig.light_maxjobs` of them (sized from
the hub's memory); when more light-channel tasks are active than that, the controller's rule
`decide.light_target` asks for light hosts: small instances whose kojid serves only the light
channel, `decide.light_slots(memory)` slots each. A surplus light host is disabled and leaves once
its last parent finishes (a waiting parent is never stopped: that would restart its whole build).

This is the design shown in the simulator; the stack does not yet create the light hosts' group
(docs/simulator.md, "What is shipped").
"""

from __future__ import annotations

from kojistack.controller import decide

from .engine import LIGHT_CHANNEL, Engine, Instance
from .koji_model import Host

LIGHT_HOST_TYPE = "m7g.large"              # 8 GiB Graviton: waiting is memory, not CPU
LIGHT_HOST_MEM_MIB = 7_617                 # its MemTotal, as the hub's (engine.HUB_MEM_TOTAL_KIB)
LIGHT_HOST_PRICE = 0.0816                  # USD/h on demand, us-east-1 (metrics.PRICES_TAKEN)
LIGHT_HOSTS_MAX = 200
LIGHT_SLOTS = decide.light_slots(LIGHT_HOST_MEM_MIB)


class LightHosts:
    """Carries out `decide.light_target` for the simulated stack, one step per controller loop."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def step(self, eng: Engine) -> None:
        live = list(eng.live_light.values())
        for inst in live:
            if inst.lifecycle == "Pending:Wait":
                self._register(eng, inst)
        active = len(eng.hub.by_channel.get(LIGHT_CHANNEL, {}))
        target = decide.light_target(active, eng.cfg.light_maxjobs, LIGHT_SLOTS, LIGHT_HOSTS_MAX)
        kept = [i for i in live if i.drain_started is None]
        draining = sorted((i for i in live if i.drain_started is not None), key=lambda i: i.id)
        while len(kept) < target and draining:            # a draining host is cheaper than a new one
            inst = draining.pop(0)
            inst.drain_started = None
            eng.set_enabled(_host(eng, inst), True)
            kept.append(inst)
        if len(kept) < target:
            eng.set_light_desired(len(live) + target - len(kept), LIGHT_HOSTS_MAX)
        elif len(kept) > target:
            ready = [i for i in kept if i.lifecycle == "InService" and i.slot in eng.hub.hosts]
            ready.sort(key=lambda i: (len(_host(eng, i).tasks), i.slot))
            for inst in ready[:len(kept) - target]:
                inst.drain_started = eng.now
                eng.set_enabled(_host(eng, inst), False)
                draining.append(inst)
        for inst in draining:
            host = eng.hub.hosts.get(inst.slot) if inst.slot else None
            if host is None or not host.tasks:
                eng.terminate(inst, decrement=True)

    def _register(self, eng: Engine, inst: Instance) -> None:
        held = {i.slot for i in eng.live_light.values() if i.slot}
        n = next(n for n in range(1, LIGHT_HOSTS_MAX + 2) if f"light-{n:02d}" not in held)
        eng.register(inst, f"light-{n:02d}", float(LIGHT_SLOTS), channels=frozenset({LIGHT_CHANNEL}),
                     maxjobs=LIGHT_SLOTS)


def _host(eng: Engine, inst: Instance) -> Host:
    """The Koji host of a registered light host (a draining or InService one has its slot)."""
    if inst.slot is None:
        raise RuntimeError(f"light host {inst.id} has no slot")
    return eng.hub.hosts[inst.slot]
