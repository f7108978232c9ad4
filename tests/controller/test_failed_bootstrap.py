"""A builder whose bootstrap failed is abandoned or replaced by the controller, from the failure
record kojistack-report writes (SSM <prefix>/bootstrap/<instance-id>): the builder role carries no
Auto Scaling action at all (issue 11 item 6: IAM documents no condition key that would limit
CompleteLifecycleAction or SetInstanceHealth to the calling instance, so a builder holding them could
abandon or kill its peers)."""

import json

from kojistack.controller import decide
from support.channels import policy

from .stack import PREFIX, Rig


def fail(rig: Rig, iid: str, step: str) -> None:
    """What kojistack-report (cloud-init/user-data/common/report.sh) writes when the bootstrap unit fails."""
    rig.ssm.put_parameter(Name=f"{PREFIX}/bootstrap/{iid}", Type="String", Overwrite=True,
                          Value=json.dumps({"step": step, "exit_code": "1", "log_tail": "dnf: no mirror"}))


def records(rig: Rig) -> list:
    return rig.ssm.get_parameters_by_path(Path=f"{PREFIX}/bootstrap")["Parameters"]


def test_a_builder_failing_before_registration_is_abandoned_and_replaced(rig):
    rig.hub.seed_task("buildArch", arch="x86_64", weight=1.0)
    rig.tick()  # the controller asks for a builder
    rig.tick(controller=False)  # Auto Scaling launches it; it waits in Pending:Wait
    (first,) = rig.instances(state="Pending:Wait")
    rig.builders[first].ssm.delete_parameter(Name=f"{PREFIX}/csr/{first}")  # it failed before its CSR
    fail(rig, first, "packages")
    state, plan, errors = rig.tick()
    assert [r.reason for r in plan.refuse] == ["its bootstrap failed at step packages"] and not errors
    assert first not in rig.instances()
    assert not records(rig), "the record is deleted once acted on"
    rig.run_until(lambda: rig.instances(state="InService"))
    assert rig.group().desired == 1


def test_a_builder_failing_on_a_later_boot_is_replaced_without_shrinking_its_group(rig):
    rig.hub.seed_task("buildArch", arch="x86_64", weight=1.0)
    rig.run_until(lambda: rig.instances(state="InService"))
    (builder,) = rig.instances(state="InService")
    desired = rig.group().desired
    fail(rig, builder, "kojid")
    state, plan, errors = rig.tick()
    assert [(t.instance_id, t.decrement) for t in plan.terminate] == [(builder, False)] and not errors
    assert plan.forget_failures == (builder,) and not records(rig)
    assert rig.group().desired == desired
    rig.run_until(lambda: rig.instances(state="InService") and builder not in rig.instances())


def test_the_hubs_own_record_and_healthy_builders_are_left_alone():
    inst = decide.Instance("i-0aaa", "x86_64", decide.IN_SERVICE, 0.0, slot="x86-64-01")
    group = decide.Group("ks-builders-x86_64", "x86_64", 0, 5, 1, 2.0)
    state = decide.Observed(100.0, (), (), (inst,), (group,))
    plan = decide.plan(state, policy())
    assert not plan.terminate and not plan.forget_failures and not plan.refuse
