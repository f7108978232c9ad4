"""The controller loop end to end: moto for EC2/SSM/CloudWatch, the in-repo fakes for Auto Scaling
lifecycle hooks and for the koji hub (over HTTPS, with the real koji client), fake builders that
register with real CSRs and run tasks. One test per scenario of issue 4."""

import time

import pytest

from fakes.builder import FakeBuilder
from fakes.kojihub import ASSIGNED, FREE, OPEN
from kojistack import names
from kojistack.controller import decide
from kojistack.controller.kojiport import CALLS

from .stack import PREFIX, Rig


def burst(rig: Rig, n: int = 12, arch: str = "x86_64") -> list:
    return [rig.hub.seed_task("buildArch", arch=arch, weight=1.0) for _ in range(n)]


def settle(rig: Rig) -> None:
    rig.run_until(lambda: rig.instances() and not rig.instances(state="Pending:Wait"))


def test_burst_scales_out_registers_and_runs(rig, capsys):
    rig.tick()  # idle: nothing to do
    assert rig.group().desired == 0
    tasks = burst(rig, 12)
    t0 = time.monotonic()
    rig.tick()
    (t_set, group, n), = rig.desired_calls
    assert (group, n) == ("ks-builders-x86_64", 3)  # 12 x weight 1 over 4 vCPUs per builder
    with capsys.disabled():
        print(f"\nscale-out reaction: queue change -> SetDesiredCapacity in {1000 * (t_set - t0):.0f} ms of one "
              f"loop (plus up to the loop interval, {rig.settings.interval_seconds:.0f} s)")
    rig.tick()  # instances launch (Pending:Wait), builders hand over CSRs, the controller registers them
    assert len(rig.instances(state="InService")) == 3
    slots = sorted(b.slot for b in rig.builders.values())
    assert slots == ["x86-64-01", "x86-64-02", "x86-64-03"]
    for slot in slots:
        h = rig.hub.host_named(slot)
        assert h.enabled and h.capacity == 4.0 and h.arches == "x86_64"
        assert [rig.hub.channels[c] for c in h.channels] == ["default"]
    for iid in rig.instances():
        tags = {t["Key"]: t["Value"] for t in rig.ec2.describe_tags(
            Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]}
        assert tags[names.TAG_SLOT] == rig.builders[iid].slot
        with pytest.raises(rig.ssm.exceptions.ParameterNotFound):
            rig.ssm.get_parameter(Name=f"{PREFIX}/csr/{iid}")  # CSR consumed
    rig.run_until(lambda: all(rig.hub.task_state(t) == OPEN for t in tasks), max_ticks=10)
    assert rig.group().suspended == ["AZRebalance"]
    metric_names = {m["MetricName"] for m in rig.cw.list_metrics(Namespace="kojistack/ks")["Metrics"]}
    assert set(decide.METRIC_NAMES) - {"UnservableTaskWeight"} <= metric_names
    used = {m for who, m in rig.hub.calls if who == names.USER_CONTROLLER}
    assert used <= set(CALLS) - {"sslLogin"}, used - set(CALLS)


def test_empty_queue_scales_in_without_touching_a_busy_builder(rig):
    burst(rig, 12)
    rig.tick(), rig.tick(), rig.tick(), rig.tick()
    assert len(rig.instances(state="InService")) == 3
    long_task = rig.hub.seed_task("buildArch", arch="x86_64")
    rig.run_until(lambda: rig.hub.task_state(long_task) == OPEN)
    busy = next(b for b in rig.builders.values() if long_task in b.running)
    busy.duration = 10**6
    busy.running[long_task] = rig.clock.now + 10**6
    rig.run_until(lambda: len(rig.instances()) == 1, max_ticks=120)
    assert rig.instances() == [busy.id]
    assert rig.hub.host_named(busy.slot).enabled
    assert rig.hub.task_state(long_task) == OPEN
    assert rig.group().desired == 1
    for slot in {"x86-64-01", "x86-64-02", "x86-64-03"} - {busy.slot}:
        assert not rig.hub.host_named(slot).enabled  # drained hosts stay disabled until re-used


def test_builder_killed_mid_task_has_its_tasks_freed(rig):
    tasks = burst(rig, 4)
    rig.run_until(lambda: all(rig.hub.task_state(t) == OPEN for t in tasks))
    (iid,) = rig.instances()
    slot = rig.builders[iid].slot
    rig.ec2.terminate_instances(InstanceIds=[iid])  # the machine dies; its kojid says nothing
    rig.builders.pop(iid)
    state, plan, errors = rig.tick(controller=False) or rig.ctl.once()
    assert plan.free_tasks == tuple(sorted(tasks)) and not errors
    assert all(rig.hub.task_state(t) in (FREE, ASSIGNED) for t in tasks)  # freed (admin freeTask) at once
    assert iid in plan.complete_terminate  # its drain hook is not held for a dead machine
    (new,) = [r.instance_id for r in plan.register]
    assert [r.slot for r in plan.register] == [slot]  # the slot and its koji host are re-used
    rig.run_until(lambda: all(rig.hub.task_state(t) == OPEN for t in tasks))
    assert rig.hub.host_named(slot).enabled and rig.instances() == [new]


def test_forged_and_replayed_csrs_are_refused(rig):
    burst(rig, 8)
    rig.tick()
    rig.clock.now += 20
    rig.asg.reconcile()
    a, b = rig.instances(state="Pending:Wait")
    rig.boot_new_instances()
    b_csr, b_hash = open(rig.builders[b].key + ".csr").read(), rig.builders[b].key_sha256()
    # whoever holds the builder role writes a CSR of their own key under a's id (they cannot tag a)
    attacker = FakeBuilder("attacker", rig.ec2, rig.ssm, PREFIX, rig.hub.url, rig.pki.ca_pem, rig.workdir, rig.clock)
    rig.ssm.put_parameter(Name=f"{PREFIX}/csr/{a}", Value=attacker.make_csr(), Type="String", Overwrite=True)
    state, plan, errors = rig.ctl.once()
    assert [r.instance_id for r in plan.refuse] == [a]
    assert "does not match" in plan.refuse[0].reason
    assert [r.instance_id for r in plan.register] == [b]
    assert a not in rig.group().instances  # launch abandoned: the group replaces it
    with pytest.raises(rig.ssm.exceptions.ParameterNotFound):
        rig.ssm.get_parameter(Name=f"{PREFIX}/cert/{a}")
    # a replay: the replacement instance c presents b's CSR and tags itself with b's key hash
    rig.clock.now += 20
    rig.asg.reconcile()
    (c,) = rig.instances(state="Pending:Wait")
    rig.ec2.create_tags(Resources=[c], Tags=[{"Key": names.TAG_CSR_SHA256, "Value": b_hash}])
    rig.ssm.put_parameter(Name=f"{PREFIX}/csr/{c}", Value=b_csr, Type="String", Overwrite=True)
    state, plan, errors = rig.ctl.once()
    assert [(r.instance_id, "replay" in r.reason) for r in plan.refuse] == [(c, True)]
    assert plan.register == () and not errors
    assert [h.name for h in rig.hub.hosts.values() if h.name.startswith("x86")] == ["x86-64-01"]


def test_controller_restart_mid_drain_finishes_the_drain(rig):
    burst(rig, 4)
    rig.run_until(lambda: rig.instances(state="InService"))
    (iid,) = rig.instances()
    rig.run_until(lambda: not rig.builders[iid].running, max_ticks=40)
    slot = rig.builders[iid].slot
    # run loops until the drain starts (tag + disable), then "restart" the controller
    rig.run_until(lambda: not rig.hub.host_named(slot).enabled, max_ticks=60)
    rig.ctl.koji.close()
    rig.ctl = rig.new_controller()
    tags = {t["Key"] for t in rig.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]}
    assert names.TAG_DRAIN_STARTED in tags  # the only memory of the drain: an instance tag
    rig.run_until(lambda: not rig.instances(), max_ticks=10)
    assert rig.group().desired == 0


def test_spot_interruption_returns_tasks_and_completes_the_hook(rig):
    tasks = burst(rig, 4)
    rig.run_until(lambda: all(rig.hub.task_state(t) == OPEN for t in tasks))
    (iid,) = rig.instances()
    rig.builders[iid].stop()  # the interruption-notice timer stops kojid at once
    assert all(rig.hub.task_state(t) == FREE for t in tasks)
    rig.asg.interrupt(iid)
    rig.tick()
    assert iid not in rig.group().instances  # drain hook completed at once: nothing was running
    rig.run_until(lambda: all(rig.hub.task_state(t) == OPEN for t in tasks))  # a replacement runs them


def test_stack_deletion_drains_every_builder(rig):
    burst(rig, 8)
    rig.run_until(lambda: len(rig.instances(state="InService")) == 2)
    rig.tick()
    busy = [b for b in rig.builders.values() if b.running]
    assert busy
    rig.asg.set_sizes(rig.group().name, 0, 0, 0)  # CloudFormation's delete path
    rig.tick()
    assert all(not rig.hub.host_named(b.slot).enabled for b in rig.builders.values() if b.slot)
    rig.run_until(lambda: not rig.instances(), max_ticks=60)


def test_free_work_and_an_idle_ready_builder_force_a_scheduler_run(rig):
    """Issue 14: a builder that just started gets its first tasks from a forced scheduler run
    (admin `scheduler.doRun`), not after RunInterval of kojid check-ins."""
    burst(rig, 4)
    settle(rig)
    rig.tick()
    builder = rig.builders[rig.instances()[0]]
    builder.running.clear()                                      # (keep nothing assigned to it)
    rig.hub.seed_task("buildArch", arch="x86_64", weight=1.0)
    before = sum(1 for who, m in rig.hub.calls if who == names.USER_CONTROLLER and m == "scheduler.doRun")
    rig.run_until(lambda: sum(1 for who, m in rig.hub.calls
                              if who == names.USER_CONTROLLER and m == "scheduler.doRun") > before, max_ticks=10)


def test_a_drain_taken_back_enables_the_host_and_empties_the_tag(rig):
    burst(rig, 4)
    settle(rig)
    (iid,) = rig.instances()
    slot = rig.builders[iid].slot
    rig.hub.host_named(slot).enabled = False
    rig.ec2.create_tags(Resources=[iid], Tags=[{"Key": names.TAG_DRAIN_STARTED, "Value": "1"}])
    state = rig.ctl.observe()
    inst = next(i for i in state.instances if i.id == iid)
    assert inst.drain_started == 1.0
    errors = rig.ctl.execute(state, decide.Plan(desired={}, cancel_drain=(inst,)))
    assert errors == []
    assert rig.hub.host_named(slot).enabled
    assert next(i for i in rig.ctl.observe().instances if i.id == iid).drain_started is None
