"""`kojistack status`: stack state, hub health, builders per arch (slot, state), queue depth, unservable
work and each group's last failed launch, gathered into one JSON-able dict and printed as text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from .. import ids, names
from ..config import ARCHES
from . import stackinfo, urls
from .session import Aws, aws_errors

# CloudWatch metrics the controller publishes (kojistack/controller/decide.py), dimension Arch
QUEUED_METRIC = "QueuedTaskWeight"
UNSERVABLE_METRIC = "UnservableTaskWeight"
METRIC_WINDOW = dt.timedelta(minutes=15)


def _groups(aws: Aws, names: list[str]) -> dict[str, dict[str, Any]]:
    with aws_errors("reading the auto scaling groups"):
        found = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=names)
    return {g["AutoScalingGroupName"]: g for g in found["AutoScalingGroups"]}


def _instance_tags(aws: Aws, instance_ids: list[str]) -> dict[str, dict[str, str]]:
    if not instance_ids:
        return {}
    tags: dict[str, dict[str, str]] = {}
    with aws_errors("reading the instances"):
        for page in aws.client("ec2").get_paginator("describe_instances").paginate(InstanceIds=instance_ids):
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    tags[inst["InstanceId"]] = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
    return tags


def last_failure(activities: Iterable[Mapping[str, Any]]) -> dict[str, str] | None:
    """The newest failed or cancelled scaling activity, as {time, status, cause}; None when there is none."""
    failed = [a for a in activities if a.get("StatusCode") in ("Failed", "Cancelled")]
    if not failed:
        return None
    newest = max(failed, key=lambda a: a["StartTime"])
    return {"time": newest["StartTime"].isoformat(), "status": newest["StatusCode"],
            "cause": newest.get("StatusMessage") or newest.get("Description", "")}


def _last_failure(aws: Aws, group: str) -> dict[str, str] | None:
    with aws_errors(f"reading the scaling activities of {group}"):
        activities = aws.client("autoscaling").describe_scaling_activities(AutoScalingGroupName=group,
                                                                             MaxRecords=50)["Activities"]
    return last_failure(activities)


def _metrics(aws: Aws, stack: str, arches: list[str], now: dt.datetime) -> dict[str, dict[str, float | None]]:
    namespace = names.METRICS_NAMESPACE.replace("${AWS::StackName}", stack)
    queries = []
    for i, arch in enumerate(arches):
        for j, metric in enumerate((QUEUED_METRIC, UNSERVABLE_METRIC)):
            queries.append({"Id": f"m{i}x{j}", "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": metric,
                           "Dimensions": [{"Name": "Arch", "Value": arch}]},
                "Period": 60, "Stat": "Maximum"}})
    with aws_errors(f"reading the metrics in {namespace}"):
        results = aws.client("cloudwatch").get_metric_data(MetricDataQueries=queries, StartTime=now - METRIC_WINDOW,
                                                           EndTime=now, ScanBy="TimestampDescending")
    latest = {r["Id"]: (r["Values"][0] if r.get("Values") else None) for r in results["MetricDataResults"]}
    return {arch: {"queued": latest.get(f"m{i}x0"), "unservable": latest.get(f"m{i}x1")}
            for i, arch in enumerate(arches)}


def _target_health(aws: Aws, resources: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    health: dict[str, dict[str, str]] = {}
    for logical, label in ((ids.PUBLIC_TARGET_GROUP, "public"), (ids.INTERNAL_TARGET_GROUP, "internal")):
        arn = resources.get(logical, {}).get("id")
        if not arn:
            continue
        with aws_errors(f"reading the health of the {label} target group"):
            found = aws.client("elbv2").describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        for target in found:
            health.setdefault(target["Target"]["Id"], {})[label] = target["TargetHealth"]["State"]
    return health


def _instance_row(inst: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    return {"id": inst["InstanceId"], "state": inst["LifecycleState"], "health": inst["HealthStatus"],
            "type": inst.get("InstanceType", ""), "slot": tags.get(names.TAG_SLOT),
            "draining": names.TAG_DRAIN_STARTED in tags}


def gather(aws: Aws, stack: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything `status` shows, as a dict (the --json output)."""
    now = now or dt.datetime.now(dt.UTC)
    description = stackinfo.describe(aws, stack)
    resources = stackinfo.physical_ids(aws, stack)
    hub_name = stackinfo.hub_group_name(stack)
    names = {arch: stackinfo.builder_group_name(stack, arch) for arch in ARCHES}
    light_name = stackinfo.light_group_name(stack)
    groups = _groups(aws, [hub_name, *names.values(), light_name])
    arches = [arch for arch in ARCHES if names[arch] in groups]
    members = [i["InstanceId"] for g in groups.values() for i in g["Instances"]]
    tags = _instance_tags(aws, members)
    targets = _target_health(aws, resources)
    hub_group = groups.get(hub_name)
    hub_rows = []
    for inst in (hub_group or {}).get("Instances", []):
        row = _instance_row(inst, tags.get(inst["InstanceId"], {}))
        row["targets"] = targets.get(inst["InstanceId"], {})
        hub_rows.append(row)
    ready = [r for r in hub_rows if r["state"] == "InService" and r["health"] == "Healthy"
             and all(v == "healthy" for v in r["targets"].values())]
    metrics = _metrics(aws, stack, arches, now) if arches else {}
    builders = {}
    for arch in arches:
        group = groups[names[arch]]
        builders[arch] = {
            "group": names[arch], "min": group["MinSize"], "max": group["MaxSize"],
            "desired": group["DesiredCapacity"],
            "instances": sorted((_instance_row(i, tags.get(i["InstanceId"], {})) for i in group["Instances"]),
                                key=lambda r: (r["slot"] or "~", r["id"])),
            "queued_weight": metrics[arch]["queued"], "unservable_weight": metrics[arch]["unservable"],
            "last_failed_launch": _last_failure(aws, names[arch]),
        }
    light = None
    if light_name in groups:
        group = groups[light_name]
        light = {"group": light_name, "min": group["MinSize"], "max": group["MaxSize"],
                 "desired": group["DesiredCapacity"],
                 "instances": sorted((_instance_row(i, tags.get(i["InstanceId"], {})) for i in group["Instances"]),
                                     key=lambda r: (r["slot"] or "~", r["id"])),
                 "last_failed_launch": _last_failure(aws, light_name)}
    return {
        "stack": {"name": stack, "status": description["StackStatus"],
                  "reason": description.get("StackStatusReason", ""),
                  "updated": (description.get("LastUpdatedTime") or description["CreationTime"]).isoformat()},
        "hub": {"group": hub_name, "healthy": len(ready) == 1 and len(hub_rows) == 1, "instances": hub_rows,
                "last_failed_launch": _last_failure(aws, hub_name) if hub_group else None},
        "builders": builders,
        "light_hosts": light,
        "outputs": stackinfo.outputs(description),
        "urls": urls.urls(description),
        "alarms": firing_alarms(aws, stack),
    }


def firing_alarms(aws: Aws, stack: str) -> list[dict[str, str]]:
    """The stack's alarms (template/alarms.py, names `<stack>-kojistack-...`) now in ALARM."""
    prefix = names.ALARM_NAME_PREFIX.replace("${AWS::StackName}", stack)
    found = []
    with aws_errors("reading the stack's alarms"):
        for page in aws.client("cloudwatch").get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=prefix, StateValue="ALARM", AlarmTypes=["MetricAlarm"]):
            found += [{"name": a["AlarmName"][len(prefix):], "since": str(a.get("StateUpdatedTimestamp", "")),
                       "reason": a.get("StateReason", "")} for a in page["MetricAlarms"]
                      if a.get("StateValue") == "ALARM"]  # the filter again: moto's server ignores StateValue
    return sorted(found, key=lambda a: a["name"])


def _num(value: float | None) -> str:
    return "no data" if value is None else f"{value:g}"


def render(status: Mapping[str, Any]) -> list[str]:
    """The text form of `gather`'s dict."""
    st, hub = status["stack"], status["hub"]
    reason = f" {st['reason']}" if st["reason"] else ""
    lines = [f"stack {st['name']}: {st['status']} (updated {st['updated']}){reason}"]
    if status.get("urls", {}).get("web"):
        lines += ["  " + line for line in urls.render(status["urls"])]
    lines.append(f"hub {hub['group']}: {'healthy' if hub['healthy'] else 'NOT READY'}")
    for row in hub["instances"]:
        targets = ", ".join(f"{k} {v}" for k, v in sorted(row["targets"].items())) or "no target health"
        lines.append(f"  {row['id']} {row['state']} {row['health']} ({targets})")
    if not hub["instances"]:
        lines.append("  no hub instance")
    if hub["last_failed_launch"]:
        lines.append(f"  last failed launch {hub['last_failed_launch']['time']}: {hub['last_failed_launch']['cause']}")
    for arch, b in status["builders"].items():
        lines.append(f"builders {arch} ({b['group']}): {len(b['instances'])} running, desired {b['desired']}, "
                     f"min {b['min']}, max {b['max']}; queued weight {_num(b['queued_weight'])}, "
                     f"unservable {_num(b['unservable_weight'])}")
        for row in b["instances"]:
            drain = ", draining" if row["draining"] else ""
            lines.append(f"  {row['slot'] or '(no slot)':<11} {row['id']} {row['state']} {row['health']}{drain}")
        if b["last_failed_launch"]:
            lines.append(f"  last failed launch {b['last_failed_launch']['time']}: {b['last_failed_launch']['cause']}")
    if not status["builders"]:
        lines.append("builders: no builder groups found")
    light = status.get("light_hosts")
    if light:
        lines.append(f"light hosts ({light['group']}): {len(light['instances'])} running, desired {light['desired']}, "
                     f"max {light['max']} (waiting build parents beyond the hub's kojid)")
        for row in light["instances"]:
            drain = ", draining" if row["draining"] else ""
            lines.append(f"  {row['slot'] or '(no slot)':<11} {row['id']} {row['state']} {row['health']}{drain}")
        if light["last_failed_launch"]:
            lines.append(f"  last failed launch {light['last_failed_launch']['time']}: "
                         f"{light['last_failed_launch']['cause']}")
    firing = status.get("alarms", [])
    lines.append(f"alarms: {len(firing)} firing" if firing else "alarms: none firing")
    for alarm in firing:
        lines.append(f"  {alarm['name']}: {alarm['reason']}")
    return lines
