"""Run INSIDE the namespace: the controller's Koji side of a light host (issue 14 item 1) against the live hub, as
kojistack-ctl (perms host + admin), with the controller as the payload ships it (/opt/kojistack/lib):

    @HARNESS@/ns 'python3 @HARNESS@/examples/light-host.py'

1. KojiPort.register of light host light-001 (the Registration decide.light_plan makes: Koji channel `light` only,
   arch aarch64, capacity = one m7g.large's slots), twice: addHost (which puts every new host in `default`),
   addHostToChannel light, removeHostFromChannel default; then idempotent.
2. KojiPort.observe: light-001 and the hub's own kojid are the light channel's hosts (listHosts(channelID));
   decide.hub_light_slots is the hub kojid's capacity.
3. decide.light_plan over that observation with light-001 as an in-service instance and no parent waiting: it is
   surplus and drained (disableHost), carried out here; a later plan with the host disabled and empty terminates
   it (not carried out: there is no Auto Scaling here). light-001 stays registered (koji hosts cannot be deleted).
"""
import sys
import time

sys.path.insert(0, "/opt/kojistack/lib")

from kojistack_controller import decide
from kojistack_controller.decide import Instance, LightGroup, Observed, Policy, Registration
from kojistack_controller.kojiport import KojiPort
from kojistack_controller.settings import names_from_env, parse_env

env = dict(line.strip().split("=", 1) for line in open("/etc/kojistack/stack.env") if "=" in line)
env = {k: v.strip("'") for k, v in env.items()}
HUB = f"https://{env['KOJISTACK_INTERNAL_NLB_DNS']}/kojihub"
PKI = "/etc/kojistack/pki"
names = names_from_env(parse_env(open("/opt/kojistack/names.env").read()))  # the payload's shared names
policy = Policy(names.builder_channels, names.hub_channels, names.channel_light)
SLOTS = decide.light_host_slots(8192)

port = KojiPort(HUB, f"{PKI}/{names.controller_user}.pem", f"{PKI}/ca.pem", names.builder_channels)
s = port._s()
print("logged in as", s.getLoggedInUser()["name"], "perms", s.getUserPerms())
reg = Registration("i-0aaaabbbbcccc0042", decide.LIGHT, decide.light_slot_name(1), decide.light_capacity(SLOTS),
                   s.getHost(decide.light_slot_name(1)) is not None, channels=(names.channel_light,),
                   koji_arch="aarch64")
for _ in range(2):
    port.register(reg, reg.instance_id)
    h = s.getHost(reg.slot)
    print(f"{reg.slot} channels {sorted(c['name'] for c in s.listChannels(hostID=h['id']))} arches {h['arches']} "
          f"capacity {h['capacity']} enabled {h['enabled']}")
tasks, hosts = port.observe(frozenset(), tuple(env["KOJISTACK_ARCHES"].split()), names.hub_channels,
                            names.channel_light)
print("light-channel hosts observed:", sorted((h.name, h.capacity, h.enabled) for h in hosts if h.light))
print("other hosts:", sorted(h.name for h in hosts if not h.light))
now = time.time()
light = Instance(reg.instance_id, decide.LIGHT, decide.IN_SERVICE, now - 600, slot=reg.slot)
state = Observed(now, tasks, hosts, (), (), LightGroup("realhub-light", 0, 10, 1, SLOTS), (light,))
print("hub light slots:", decide.hub_light_slots(state))
plan = decide.light_plan(state, policy)
print(f"light plan: active {plan.active} target {plan.target} drain {[i.slot for i in plan.start_drain]} "
      f"disable {list(plan.disable_hosts)} terminate {[t.instance_id for t in plan.terminate]}")
for name in plan.disable_hosts:
    port.disable(name)
print("after disable, enabled =", s.getHost(reg.slot)["enabled"])
tasks, hosts = port.observe(frozenset(), tuple(env["KOJISTACK_ARCHES"].split()), names.hub_channels,
                            names.channel_light)
drained = Instance(reg.instance_id, decide.LIGHT, decide.IN_SERVICE, now - 600, slot=reg.slot, drain_started=now)
later = decide.light_plan(Observed(time.time(), tasks, hosts, (), (), LightGroup("realhub-light", 0, 10, 1, SLOTS),
                                   (drained,)), policy)
print("next plan terminates:", [(t.instance_id, t.decrement) for t in later.terminate])
port.close()
