"""Run INSIDE the namespace, after examples/light-host.py (which leaves light-001 registered and disabled): tasks
stranded on a disabled host of the stack, on the live hub, and the controller freeing them (decide.stranded):

    @HARNESS@/ns 'python3 @HARNESS@/examples/stranded.py'

The premise decide.stranded rests on, from koji 1.35.3's source: kojid on a disabled host never opens its ASSIGNED
tasks (koji/daemon.py readyForTask: "Host is disabled"), and the scheduler never reclaims them (kojihub/scheduler.py
check_active_tasks skips a task whose host is not among the enabled hosts: "# host disabled? # TODO"). No kojid runs
for the hosts used here, so nothing can open a task; what is checked is the hub's scheduler and the controller.

1. control: builder slot x86-64-03 is registered (KojiPort.register: enabled, no kojid) and a FREE task of an arch no
   host has is assigned to it (assignTask force=True, admin: the scheduler's own assignment, with a task run); its
   run is backdated past AssignTimeout (SQL on scheduler_task_runs.create_time: waiting 300 s is not cheap) and one
   forced scheduler run frees it ("Task assignment timeout"): an ENABLED host's stale assignment is reclaimed.
2. the same on a DISABLED host: task A (buildArch, default channel) assigned to x86-64-03, which KojiPort.disable then
   disables (the drain's disableHost); task L (build, light channel) assigned to light-001 (disabled); task O assigned
   to x86-64-03 and made OPEN (SQL, as the hub's Task.lock does for host.openTask: state, host, start_time). Runs
   backdated as in 1; three forced scheduler runs: A and L stay ASSIGNED on their disabled hosts.
3. the controller: KojiPort.observe, then decide.plan with x86-64-03's instance draining, twice: with the group's max
   from stack.env, A and O are demand enough to call the drain back (cancel_drain: the host is enabled again and
   keeps its tasks, so nothing is freed); with the group's max 0 (the drain stands) free_tasks lists A (not O, not L).
   decide.light_plan with light-001's instance draining (surplus) lists L. KojiPort.free(A, L) (freeTask + a forced
   scheduler run, as the loop does) leaves both FREE (or assigned to another, enabled host).
The example cancels its tasks; x86-64-03 stays registered and disabled, light-001 disabled as light-host.py left it.
"""
import subprocess
import sys
import time

sys.path.insert(0, "/opt/kojistack/lib")
import koji

from kojistack_controller import decide
from kojistack_controller.decide import Group, Instance, LightGroup, Observed, Policy, Registration
from kojistack_controller.kojiport import KojiPort
from kojistack_controller.settings import names_from_env, parse_env

env = dict(line.strip().split("=", 1) for line in open("/etc/kojistack/stack.env") if "=" in line)
env = {k: v.strip("'") for k, v in env.items()}
HUB = f"https://{env['KOJISTACK_INTERNAL_NLB_DNS']}/kojihub"
PKI = "/etc/kojistack/pki"
PSQL = "@HARNESS@/bin/psql-su"
names = names_from_env(parse_env(open("/opt/kojistack/names.env").read()))  # the payload's shared names
policy = Policy(names.builder_channels, names.hub_channels, names.channel_light)
SLOT, LSLOT = "x86-64-03", decide.light_slot_name(1)
STATE = {v: k for k, v in koji.TASK_STATES.items()}

port = KojiPort(HUB, f"{PKI}/{names.controller_user}.pem", f"{PKI}/ca.pem", names.builder_channels)
admin = koji.ClientSession(HUB, {"serverca": f"{PKI}/ca.pem"})
admin.ssl_login(cert=f"{PKI}/admin.pem", serverca=f"{PKI}/ca.pem")
made = []


def sql(statement):
    subprocess.run([PSQL, "-d", "koji", "-qAtc", statement], check=True)


def backdate(task_id):
    """Make the task's active run an hour old: past AssignTimeout (hub.conf; koji's default 300 s)."""
    sql(f"UPDATE scheduler_task_runs SET create_time = create_time - interval '1 hour' "
        f"WHERE task_id = {int(task_id)} AND active")


def show(task_id):
    t = admin.getTaskInfo(task_id)
    host = admin.getHost(t["host_id"])["name"] if t["host_id"] else None
    return f"task {task_id} {STATE[t['state']]} host {host}"


def make(method, args, **opts):
    tid = admin.makeTask(method, args, **opts)
    made.append(tid)
    return tid


try:
    reg = Registration("i-0aaaabbbbcccc0003", "x86_64", SLOT, 4.0, admin.getHost(SLOT) is not None)
    port.register(reg, reg.instance_id)
    print(f"{SLOT} registered: enabled {admin.getHost(SLOT)['enabled']}; "
          f"{LSLOT} enabled {admin.getHost(LSLOT)['enabled']}")

    # 1. control: an enabled host's stale assignment is reclaimed
    c = make("buildArch", [1, 2, 3], arch="s390x", channel=names.channel_default)
    print("control assignTask:", admin.assignTask(c, SLOT, force=True), show(c))
    backdate(c)
    admin.scheduler.doRun(force=True)
    logs = [m["msg"] for m in admin.scheduler.getLogMessages([["task_id", "=", c]])]
    print(f"control after a forced scheduler run: {show(c)}; scheduler log: {logs}")
    admin.cancelTask(c)

    # 2. the same on disabled hosts
    a = make("buildArch", [1, 2, 3], arch="x86_64", channel=names.channel_default)
    o = make("buildArch", [1, 2, 3], arch="x86_64", channel=names.channel_default)
    lt = make("build", ["rh-stranded.src.rpm", "kojistack"], arch="noarch", channel=names.channel_light)
    for tid, host in ((a, SLOT), (o, SLOT), (lt, LSLOT)):
        admin.assignTask(tid, host, force=True)
    sql(f"UPDATE task SET state = {koji.TASK_STATES['OPEN']}, start_time = NOW() WHERE id = {int(o)}")
    port.disable(SLOT)
    print(f"after disable: {SLOT} enabled {admin.getHost(SLOT)['enabled']}, {LSLOT} enabled "
          f"{admin.getHost(LSLOT)['enabled']}; A {show(a)}; O {show(o)}; L {show(lt)}")
    for tid in (a, lt):
        backdate(tid)
    runs = admin.scheduler.getTaskRuns([["task_id", "IN", [a, lt]], ["active", "=", True]],
                                       ["task_id", "host_name", "create_ts"])
    print("active runs (task, host, age s):",
          sorted((r["task_id"], r["host_name"], round(time.time() - r["create_ts"])) for r in runs))
    for i in range(3):
        admin.scheduler.doRun(force=True)
        print(f"forced scheduler run {i + 1}: A {show(a)}; L {show(lt)}")
        time.sleep(2)
    logs = [m["msg"] for m in admin.scheduler.getLogMessages([["task_id", "IN", [a, lt]]])]
    print("scheduler log for A and L:", logs)

    # 3. the controller
    tasks, hosts = port.observe(frozenset(), tuple(env["KOJISTACK_ARCHES"].split()), names.hub_channels,
                                names.channel_light)
    print("observed:", sorted((t.id, t.state, t.host) for t in tasks if t.id in (a, o, lt)),
          sorted((h.name, h.enabled) for h in hosts))
    letter = {a: "A", o: "O", lt: "L"}

    def named(ids):
        return [letter.get(t, t) for t in ids]

    now = time.time()
    builder = Instance(reg.instance_id, "x86_64", decide.IN_SERVICE, now - 3600, slot=SLOT, drain_started=now - 60)
    light = Instance("i-0aaaabbbbcccc0042", decide.LIGHT, decide.IN_SERVICE, now - 3600, slot=LSLOT,
                     drain_started=now - 60)
    groups = {}
    for label, max_size in (("demand", int(env["KOJISTACK_BUILDER_MAX_X86_64"])), ("max 0", 0)):
        group = Group(f"{env['KOJISTACK_STACK_NAME']}-builders-x86_64", "x86_64", 0, max_size, 1, 4.0)
        state = Observed(now, tasks, hosts, (builder,), (group,), LightGroup("realhub-light", 0, 10, 1, 8),
                         (light,))
        groups[label] = plan = decide.plan(state, policy)
        print(f"plan ({label}, group max {max_size}): free_tasks {named(plan.free_tasks)} cancel_drain "
              f"{[i.slot for i in plan.cancel_drain]} terminate {[t.instance_id for t in plan.terminate]} "
              f"(A {a}, O {o}, L {lt})")
    plan = groups["max 0"]
    lplan = decide.light_plan(state, policy)
    print(f"light plan: free_tasks {named(lplan.free_tasks)} cancel_drain {[i.slot for i in lplan.cancel_drain]} "
          f"terminate {[t.instance_id for t in lplan.terminate]}")
    freed = port.free(sorted(set(plan.free_tasks) | set(lplan.free_tasks)))
    print(f"KojiPort.free freed {named(freed)}: A {show(a)}; L {show(lt)}; O {show(o)}")
finally:
    for tid in made:
        if admin.getTaskInfo(tid)["state"] in (koji.TASK_STATES[s] for s in ("FREE", "ASSIGNED", "OPEN")):
            admin.cancelTask(tid)
    print("cancelled the example's tasks", made, [STATE[admin.getTaskInfo(t)["state"]] for t in made])
    port.close()
