"""Contract: the calls both moto and the fake Auto Scaling implement behave alike through the
controller's `AutoScaling` port. (Lifecycle hooks exist only in the fake: moto 5.2.5 records none
and raises NotImplementedError for complete_lifecycle_action / record_lifecycle_action_heartbeat.)"""

import datetime

import boto3
import pytest
from moto import mock_aws

from fakes.autoscaling import FakeAutoScaling
from kojistack.controller.awsport import AutoScaling, group_launch_template

NAME = "ks-builders-x86_64"


class _Clock:
    now = 1_800_000_000.0

    def __call__(self):
        return self.now


def _moto(ec2, lt_id):
    client = boto3.client("autoscaling", region_name="us-east-1")
    client.create_auto_scaling_group(AutoScalingGroupName=NAME, MinSize=0, MaxSize=4, DesiredCapacity=0,
                                     LaunchTemplate={"LaunchTemplateId": lt_id, "Version": "$Latest"},
                                     AvailabilityZones=["us-east-1a"], NewInstancesProtectedFromScaleIn=True)
    return AutoScaling(client), lambda: None


def _fake(ec2, lt_id):
    fake = FakeAutoScaling(ec2, _Clock())
    fake.add_group(NAME, lt_id, "c6i.xlarge", 0, 4, hooks=False)
    return fake, fake.reconcile


@pytest.fixture(params=["moto", "fake"])
def port(request, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        lt = ec2.create_launch_template(LaunchTemplateName="b", LaunchTemplateData={
            "ImageId": "ami-12c6146b", "InstanceType": "c6i.xlarge"})["LaunchTemplate"]["LaunchTemplateId"]
        yield ({"moto": _moto, "fake": _fake}[request.param])(ec2, lt) + (ec2, lt)


def _view(asg):
    (g,) = asg.describe_groups([NAME])
    lt_id, version, _types = group_launch_template(g)
    return {"desired": g["DesiredCapacity"], "min": g["MinSize"], "max": g["MaxSize"], "lt": (lt_id, version),
            "states": sorted(i["LifecycleState"] for i in g["Instances"]),
            "protected": all(i["ProtectedFromScaleIn"] for i in g["Instances"]),
            "versions": sorted(i["LaunchTemplate"]["Version"] for i in g["Instances"]),
            "suspended": [p["ProcessName"] for p in g.get("SuspendedProcesses", [])]}


def test_overlapping_calls_behave_alike(port):
    asg, settle, ec2, lt = port
    assert asg.describe_groups(["nope"]) == []
    v = _view(asg)
    assert (v["desired"], v["min"], v["max"], v["lt"], v["states"]) == (0, 0, 4, (lt, "$Latest"), [])
    asg.set_desired(NAME, 3)
    settle()
    v = _view(asg)
    assert (v["desired"], v["states"], v["protected"], v["versions"]) == (3, ["InService"] * 3, True, ["1"] * 3)
    asg.suspend_az_rebalance(NAME)
    assert _view(asg)["suspended"] == ["AZRebalance"]
    (g,) = asg.describe_groups([NAME])
    victim = g["Instances"][0]["InstanceId"]
    asg.unprotect(NAME, victim)
    (g,) = asg.describe_groups([NAME])
    assert [i["ProtectedFromScaleIn"] for i in g["Instances"] if i["InstanceId"] == victim] == [False]
    asg.terminate(victim, decrement=True)
    settle()
    (g,) = asg.describe_groups([NAME])
    assert g["DesiredCapacity"] == 2
    assert victim not in [i["InstanceId"] for i in g["Instances"] if i["LifecycleState"] == "InService"]
    # lowering desired below the protected instances terminates none of them
    asg.set_desired(NAME, 0)
    settle()
    v = _view(asg)
    assert (v["desired"], v["states"]) == (0, ["InService"] * 2)
    since = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    assert asg.failed_launches(NAME, since) == 0
