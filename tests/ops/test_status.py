"""`kojistack status` against a moto server (a fixture stack, groups and metrics made by the test)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from kojistack import names
from kojistack.ops.status import last_failure

from .conftest import make_group

FIXTURE = Path(__file__).parent / "fixtures" / "status-stack.json"


def arrange(aws) -> dict[str, list[str]]:
    aws("cloudformation").create_stack(StackName="koji", TemplateBody=FIXTURE.read_text())
    hub = make_group(aws, "koji-hub", 1)
    x86 = make_group(aws, "koji-builders-x86_64", 2)
    aws("ec2").create_tags(Resources=[x86[0]], Tags=[{"Key": names.TAG_SLOT, "Value": "x86-64-01"}])
    aws("ec2").create_tags(Resources=[x86[1]], Tags=[{"Key": names.TAG_SLOT, "Value": "x86-64-02"},
                                                     {"Key": names.TAG_DRAIN_STARTED, "Value": "1"}])
    tg = aws("cloudformation").describe_stack_resource(StackName="koji", LogicalResourceId="PublicTargetGroup")
    aws("elbv2").register_targets(TargetGroupArn=tg["StackResourceDetail"]["PhysicalResourceId"],
                                  Targets=[{"Id": hub[0]}])
    now = dt.datetime.now(dt.UTC)
    aws("cloudwatch").put_metric_data(Namespace="kojistack/koji", MetricData=[
        {"MetricName": "QueuedTaskWeight", "Dimensions": [{"Name": "Arch", "Value": "x86_64"}], "Value": 6.5,
         "Timestamp": now - dt.timedelta(minutes=2)},
        {"MetricName": "UnservableTaskWeight", "Dimensions": [{"Name": "Arch", "Value": "x86_64"}], "Value": 1.0,
         "Timestamp": now - dt.timedelta(minutes=2)}])
    light = make_group(aws, "koji-light", 1)
    aws("ec2").create_tags(Resources=[light[0]], Tags=[{"Key": names.TAG_SLOT, "Value": "light-001"}])
    return {"hub": hub, "x86_64": x86, "light": light}


def test_status_json(run, aws):
    made = arrange(aws)
    result = run("status", "--stack-name", "koji", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["stack"]["status"] == "CREATE_COMPLETE"
    assert [r["id"] for r in found["hub"]["instances"]] == made["hub"]
    assert "public" in found["hub"]["instances"][0]["targets"]
    assert list(found["builders"]) == ["x86_64"]
    x86 = found["builders"]["x86_64"]
    assert [(r["slot"], r["draining"]) for r in x86["instances"]] == [("x86-64-01", False), ("x86-64-02", True)]
    assert x86["queued_weight"] == 6.5 and x86["unservable_weight"] == 1.0
    assert x86["last_failed_launch"] is None
    assert found["outputs"] == {"HubUrl": "https://koji.example/kojihub"}
    light = found["light_hosts"]
    assert light["group"] == "koji-light" and [(r["id"], r["slot"]) for r in light["instances"]] == [
        (made["light"][0], "light-001")]


def test_status_text(run, aws):
    arrange(aws)
    result = run("status", "--stack-name", "koji")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("stack koji: CREATE_COMPLETE")
    assert lines[1].startswith("hub koji-hub: ")
    assert any(line.startswith("builders x86_64 (koji-builders-x86_64): 2 running, desired 2")
               and "queued weight 6.5, unservable 1" in line for line in lines)
    assert any("x86-64-02" in line and "draining" in line for line in lines)
    assert any(line.startswith("light hosts (koji-light): 1 running, desired 1, max 1") for line in lines)
    assert any(line.strip().startswith("light-001") for line in lines)


def test_status_unknown_stack(run, aws):
    result = run("status", "--stack-name", "ghost")
    assert result.exit_code == 2
    assert "there is no stack 'ghost' in us-east-1" in result.stderr


def test_status_access_denied(run, aws, restrict):
    arrange(aws)
    restrict()
    result = run("status", "--stack-name", "koji")
    assert result.exit_code == 1
    assert "access denied while reading stack koji" in result.stderr


def test_last_failure_is_the_newest_failed_activity():
    # moto records no scaling activities, so the choice is tested on AWS-shaped records.
    t = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    activities = [
        {"StatusCode": "Successful", "StartTime": t + dt.timedelta(hours=2), "Description": "Launching"},
        {"StatusCode": "Failed", "StartTime": t, "StatusMessage": "old"},
        {"StatusCode": "Failed", "StartTime": t + dt.timedelta(hours=1),
         "StatusMessage": "You have requested more vCPU capacity than your current vCPU limit of 16 allows"},
    ]
    assert last_failure(activities) == {"time": "2026-11-26T13:00:00+00:00", "status": "Failed",
                                        "cause": activities[2]["StatusMessage"]}
    assert last_failure(activities[:1]) is None
