"""The stack's life on a real AWS account, the same sequence as tests/lifecycle/test_sequence.py
(docs/lifecycle.md): create; a builder launched after CREATE_COMPLETE (a scaling-knob update that
must not touch the hub); a hub reboot; a console delete (DeleteStack, not `kojistack delete`) with
that builder running; a re-create under the same name. Along the way, the three things only a real
account shows (docs/first-deploy.md): the hub's one signal (and none refused into a failure), the
SELinux labels under /opt/kojistack (Run Command on the hub), the builder's self-tagging call.
Opt-in only (KOJISTACK_AWS_TESTS=1): about
two hours and some money. Needs what tests/ops/test_real_aws.py needs (credentials, AWS_REGION,
KOJISTACK_TEST_BUCKET, KOJISTACK_TEST_ACCESS_CIDR). Leaves the retained resources of two stacks.
Not run in this workplace (no AWS access): it is written so that a maintainer with an account can.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import boto3
import pytest
from click.testing import CliRunner

from kojistack import names
from kojistack.cli import main

pytestmark = [pytest.mark.aws, pytest.mark.skipif(os.environ.get("KOJISTACK_AWS_TESTS") != "1",
                                                  reason="real AWS: opt-in with KOJISTACK_AWS_TESTS=1")]


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"kojistack {' '.join(args)}: {result.output}"
    return result.stdout


def wait(what: str, cond, minutes: float, every: float = 30.0):
    deadline = time.monotonic() + minutes * 60
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"{what}: not within {minutes:.0f} minutes")


def group(asg, name: str) -> dict:
    (g,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return g


def hub_instance(stack: str) -> str:
    status = json.loads(cli("status", "--stack-name", stack, "--json"))
    assert status["hub"]["healthy"], status["hub"]
    (row,) = status["hub"]["instances"]
    return row["id"]


def signals(cfn, stack: str, lid: str) -> list:
    """The 'Received SUCCESS|FAILURE signal with UniqueId i-…' events of one resource (the event
    text as in code-dot-org/code-dot-org#33795's transcript)."""
    pages = cfn.get_paginator("describe_stack_events").paginate(StackName=stack)
    return [e["ResourceStatusReason"] for page in pages for e in page["StackEvents"]
            if e["LogicalResourceId"] == lid and "signal with UniqueId" in e.get("ResourceStatusReason", "")]


def run_on(ssm, instance: str, script: str) -> str:
    """A shell script on the instance through Run Command (the hub has Session Manager's policy)."""
    cmd = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                           Parameters={"commands": [script]})["Command"]["CommandId"]

    def done():
        try:
            out = ssm.get_command_invocation(CommandId=cmd, InstanceId=instance)
        except ssm.exceptions.InvocationDoesNotExist:
            return None
        return out if out["Status"] not in ("Pending", "InProgress", "Delayed") else None
    out = wait(f"Run Command on {instance}", done, 5, every=5)
    assert out["Status"] == "Success", out
    return out["StandardOutputContent"]


def deploy(stack: str, bucket: str, cidr: str, *params: str) -> None:
    args = ["deploy", "--stack-name", stack, "--bucket", bucket, "--param", f"AccessCidr={cidr}"]
    for p in params:
        args += ["--param", p]
    cli(*args, "--yes")


def test_the_stack_lives_its_life_on_a_real_account(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    bucket, cidr = os.environ["KOJISTACK_TEST_BUCKET"], os.environ["KOJISTACK_TEST_ACCESS_CIDR"]
    stack = f"kojistack-life-{uuid.uuid4().hex[:8]}"
    cfn, asg, ec2 = boto3.client("cloudformation"), boto3.client("autoscaling"), boto3.client("ec2")
    ssm = boto3.client("ssm")
    builders = f"{stack}-builders-x86_64"
    try:
        # create
        deploy(stack, bucket, cidr)
        hub = hub_instance(stack)
        assert signals(cfn, stack, "HubGroup") == [f"Received SUCCESS signal with UniqueId {hub}"]
        # SELinux: what systemd executes carries bin_t, the label the policy gives its final path
        labels = run_on(ssm, hub, "getenforce; ls -Z /opt/kojistack/files/bin/; systemctl --failed --no-legend")
        lines = labels.splitlines()
        assert lines[0] == "Enforcing" and all(":bin_t:" in line for line in lines[1:] if "kojistack-" in line), labels
        assert "203/EXEC" not in labels and not [line for line in lines if ".service" in line], labels
        # a builder after CREATE_COMPLETE, by a scaling-knob update that leaves the hub alone
        deploy(stack, bucket, cidr, "BuilderX8664MinSize=1")
        assert hub_instance(stack) == hub, "a scaling knob replaced the hub"
        first = wait("a builder in service", lambda: [i["InstanceId"] for i in group(asg, builders)["Instances"]
                                                      if i["LifecycleState"] == "InService"], 30)
        time.sleep(15 * 60)  # the builder's whole bootstrap has run (no signal: nothing waits for one)
        now = [i["InstanceId"] for i in group(asg, builders)["Instances"]]
        assert now == first, f"the builder was replaced ({first} -> {now}): see its failure record"
        assert signals(cfn, stack, "BuilderX8664Group") == []  # nothing waited for it, nothing sent
        tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": first},
                                          {"Name": "key", "Values": [names.TAG_CSR_SHA256]}])["Tags"]
        assert len(tags) == 1, "the builder could not tag itself (TagOnlyItselfWithItsKeyHash)"
        # a hub reboot
        ec2.reboot_instances(InstanceIds=[hub])
        time.sleep(20 * 60)
        assert hub_instance(stack) == hub, "the reboot cost the hub"
        assert len(signals(cfn, stack, "HubGroup")) == 1, "the rebooted hub signalled again"
        assert run_on(ssm, hub, "systemctl is-active kojistack-ready kojistack-controller").split() == ["active"] * 2
        # a console delete with the builder running (scale-in protected)
        assert group(asg, builders)["Instances"][0]["ProtectedFromScaleIn"]
        cfn.delete_stack(StackName=stack)
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack,
                                                     WaiterConfig={"Delay": 60, "MaxAttempts": 120})
        # a re-create under the same name
        deploy(stack, bucket, cidr)
        hub_instance(stack)
    finally:
        stacks = cfn.describe_stacks()["Stacks"]
        if any(s["StackName"] == stack and s["StackStatus"] != "DELETE_COMPLETE" for s in stacks):
            cli("delete", "--stack-name", stack, "--yes")
