"""Arranges the moto server state behind docs/day-two.md's terminal session (not a test):

    moto_server -H 127.0.0.1 -p 5055 &
    AWS_ENDPOINT_URL=http://localhost:5055 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing \
        AWS_SECRET_ACCESS_KEY=testing python tests/ops/daytwo_session.py

A stack `koji` (fixtures/daytwo-stack.json), its hub and x86_64 builder groups, the controller's
metrics, one of the stack's alarms firing, two users (one revoked), and log lines shipped through the
real kojistack-logship code.
"""

from __future__ import annotations

import datetime as dt
import importlib.machinery
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from kojistack import names  # noqa: E402
from ops.conftest import make_group  # noqa: E402

REGION = "us-east-1"


def aws(service: str):
    return boto3.client(service, region_name=REGION)


def shipper_module():
    path = HERE.parents[1] / "cloud-init" / "payload" / "common" / "bin" / "kojistack-logship"
    loader = importlib.machinery.SourceFileLoader("kojistack_logship", str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def journal(lines: list[tuple[str, str]]):
    now = int(time.time() * 1_000_000) - 600_000_000
    text = "".join(json.dumps({"__CURSOR": f"c{i}", "__REALTIME_TIMESTAMP": str(now + i * 7_000_000),
                               "_SYSTEMD_UNIT": unit, "MESSAGE": msg}) + "\n" for i, (unit, msg) in enumerate(lines))

    class Out:
        returncode, stdout = 0, text
    return lambda argv, **kw: Out()


def main() -> None:
    cf = aws("cloudformation")
    cf.create_stack(StackName="koji", TemplateBody=(HERE / "fixtures" / "daytwo-stack.json").read_text(),
                    Parameters=[{"ParameterKey": "CustomDomain", "ParameterValue": "koji.example.com"}])
    hub = make_group(lambda s, region=REGION: aws(s), "koji-hub", 1)
    x86 = make_group(lambda s, region=REGION: aws(s), "koji-builders-x86_64", 2)
    aws("ec2").create_tags(Resources=[x86[0]], Tags=[{"Key": names.TAG_SLOT, "Value": "x86-64-01"}])
    aws("ec2").create_tags(Resources=[x86[1]], Tags=[{"Key": names.TAG_SLOT, "Value": "x86-64-02"}])
    tg = cf.describe_stack_resource(StackName="koji", LogicalResourceId="PublicTargetGroup")
    aws("elbv2").register_targets(TargetGroupArn=tg["StackResourceDetail"]["PhysicalResourceId"],
                                  Targets=[{"Id": hub[0]}])
    now = dt.datetime.now(dt.UTC)
    aws("cloudwatch").put_metric_data(Namespace="kojistack/koji", MetricData=[
        {"MetricName": "QueuedTaskWeight", "Dimensions": [{"Name": "Arch", "Value": "x86_64"}], "Value": 2.0,
         "Timestamp": now - dt.timedelta(minutes=1)},
        {"MetricName": "UnservableTaskWeight", "Dimensions": [{"Name": "Arch", "Value": "x86_64"}], "Value": 0.0,
         "Timestamp": now - dt.timedelta(minutes=1)}])
    cw = aws("cloudwatch")  # two of the stack's alarms (template/alarms.py names), one firing
    for name in ("koji-kojistack-hub-unhealthy", "koji-kojistack-builders-x86_64-launch-failures"):
        cw.put_metric_alarm(AlarmName=name, Namespace="kojistack/koji", MetricName="LaunchFailures",
                            Dimensions=[{"Name": "Arch", "Value": "x86_64"}], Statistic="Maximum", Period=300,
                            EvaluationPeriods=3, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.set_alarm_state(AlarmName="koji-kojistack-builders-x86_64-launch-failures", StateValue="ALARM",
                       StateReason="Threshold Crossed: 3 datapoints [2.0 (29/11/26 00:10:00), 1.0 (29/11/26 00:05:00), "
                                   "1.0 (29/11/26 00:00:00)] were greater than or equal to the threshold (1.0).")
    sm = aws("secretsmanager")
    for name in ("alice", "bob"):
        sm.create_secret(Name=f"kojistack/koji/users/{name}", SecretString="{}")
    sm.delete_secret(SecretId="kojistack/koji/users/bob", RecoveryWindowInDays=7)
    logs = aws("logs")
    for group in ("/kojistack/koji/hub", "/kojistack/koji/builders"):
        logs.create_log_group(logGroupName=group)
    ls = shipper_module()
    with tempfile.TemporaryDirectory() as d:
        ls.Shipper(logs, "/kojistack/koji/hub", hub[0], f"{d}/hub.json", (), run=journal([
            ("kojistack-bootstrap.service", "kojistack-bootstrap: step: services"),
            ("kojistack-ready.service", "kojistack-ready: step: smoke-endpoint"),
            ("kojistack-ready.service", "kojistack-ready: step: signal"),
            ("httpd.service", "Started The Apache HTTP Server."),
        ])).once()
        kojid = Path(d) / "kojid.log"
        kojid.write_text("2026-11-29 00:01:02,345 [INFO] koji.TaskManager: Attempting to take task 8\n"
                         "2026-11-29 00:01:03,001 [INFO] koji.TaskManager: pid 4242 (buildArch, task 8) started\n")
        ls.Shipper(logs, "/kojistack/koji/builders", x86[0], f"{d}/b.json", (str(kojid),), run=journal([
            ("kojistack-bootstrap.service", "kojistack-bootstrap: step: kojid"),
            ("kojid.service", "Started Koji build server."),
        ])).once()
    print("arranged: stack koji, hub", hub[0], "builders", " ".join(x86))


if __name__ == "__main__":
    main()
