"""The controller's AWS ports: Auto Scaling (`AutoScaling`) and EC2/SSM/CloudWatch (`Cloud`).

Thin wrappers over boto3, one method per API call, so tests can put moto behind `Cloud` and the
in-repo fake (tests/fakes/autoscaling.py: lifecycle hooks, Pending:Wait, Terminating:Wait,
heartbeats) behind `AutoScaling`. `API_CALLS` lists every call with the resource it touches, for
the stack's IAM policy.
"""

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional

from .decide import Metric

API_CALLS = (
    ("autoscaling:DescribeAutoScalingGroups", "*"),
    ("autoscaling:DescribeScalingActivities", "*"),
    ("autoscaling:SetDesiredCapacity", "groups ${STACK}-builders-* and ${STACK}-light"),
    ("autoscaling:SetInstanceProtection", "groups ${STACK}-builders-* and ${STACK}-light"),
    ("autoscaling:TerminateInstanceInAutoScalingGroup", "groups ${STACK}-builders-* and ${STACK}-light"),
    ("autoscaling:CompleteLifecycleAction", "groups ${STACK}-builders-* and ${STACK}-light"),
    ("autoscaling:RecordLifecycleActionHeartbeat", "groups ${STACK}-builders-* and ${STACK}-light"),
    ("autoscaling:SuspendProcesses", "groups ${STACK}-builders-* and ${STACK}-light"),
    ("ec2:DescribeInstances", "*"),
    ("ec2:DescribeInstanceTypes", "*"),
    ("ec2:DescribeLaunchTemplateVersions", "*"),
    ("ec2:CreateTags",
     "instance/* with aws:ResourceTag/aws:autoscaling:groupName = ${STACK}-builders-* or ${STACK}-light"),
    ("ssm:GetParameter", "parameter${SSM_PREFIX}/csr/*"),
    ("ssm:GetParametersByPath", "parameter${SSM_PREFIX}/bootstrap and /cert"),
    ("ssm:DeleteParameter", "parameter${SSM_PREFIX}/csr/* and /bootstrap/*"),
    ("ssm:DeleteParameters", "parameter${SSM_PREFIX}/cert/*"),
    ("ssm:PutParameter", "parameter${SSM_PREFIX}/cert/*"),
    ("cloudwatch:PutMetricData", "* with cloudwatch:namespace = kojistack/${STACK}"),
)


class AutoScaling:
    """Auto Scaling calls on the builder groups."""

    def __init__(self, client: Any):
        self.c = client

    def describe_groups(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """DescribeAutoScalingGroups rows (boto3 shape) of the named groups that exist."""
        out: list[dict[str, Any]] = []
        for page in self.c.get_paginator("describe_auto_scaling_groups").paginate(AutoScalingGroupNames=list(names)):
            out.extend(page["AutoScalingGroups"])
        return out

    def set_desired(self, name: str, desired: int) -> None:
        self.c.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=desired, HonorCooldown=False)

    def unprotect(self, group: str, instance_id: str) -> None:
        """Lift scale-in protection (before the controller's own termination of an empty builder)."""
        self.c.set_instance_protection(AutoScalingGroupName=group, InstanceIds=[instance_id],
                                       ProtectedFromScaleIn=False)

    def terminate(self, instance_id: str, decrement: bool) -> None:
        self.c.terminate_instance_in_auto_scaling_group(InstanceId=instance_id,
                                                        ShouldDecrementDesiredCapacity=decrement)

    def complete_hook(self, group: str, hook: str, instance_id: str, result: str) -> None:
        self.c.complete_lifecycle_action(AutoScalingGroupName=group, LifecycleHookName=hook,
                                         InstanceId=instance_id, LifecycleActionResult=result)

    def heartbeat(self, group: str, hook: str, instance_id: str) -> None:
        self.c.record_lifecycle_action_heartbeat(AutoScalingGroupName=group, LifecycleHookName=hook,
                                                 InstanceId=instance_id)

    def suspend_az_rebalance(self, name: str) -> None:
        self.c.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["AZRebalance"])

    def failed_launches(self, name: str, since: datetime.datetime) -> int:
        """Failed or cancelled scaling activities (quota, spot shortage) started after `since`."""
        rows = self.c.describe_scaling_activities(AutoScalingGroupName=name, MaxRecords=50)["Activities"]
        return sum(1 for a in rows if a.get("StatusCode") in ("Failed", "Cancelled") and a["StartTime"] >= since)


class Cloud:
    """EC2, SSM and CloudWatch calls."""

    def __init__(self, ec2: Any, ssm: Any, cloudwatch: Any):
        self.ec2, self.ssm, self.cw = ec2, ssm, cloudwatch
        self._types: dict[str, dict[str, Any]] = {}  # DescribeInstanceTypes rows (types do not change)

    def describe_instances(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """id -> {state, type, launched (epoch), tags}."""
        ids = sorted(set(ids))
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 200):
            resp = self.ec2.describe_instances(InstanceIds=ids[start:start + 200])
            for res in resp["Reservations"]:
                for i in res["Instances"]:
                    out[i["InstanceId"]] = {
                        "state": i["State"]["Name"], "type": i["InstanceType"],
                        "launched": i["LaunchTime"].timestamp(),
                        "tags": {t["Key"]: t["Value"] for t in i.get("Tags", [])},
                    }
        return out

    def _type_rows(self, types: Iterable[str]) -> dict[str, dict[str, Any]]:
        types = list(types)
        missing = sorted(set(types) - set(self._types))
        if missing:
            for row in self.ec2.describe_instance_types(InstanceTypes=missing)["InstanceTypes"]:
                self._types[row["InstanceType"]] = row
        return {t: self._types[t] for t in types if t in self._types}

    def vcpus(self, types: Iterable[str]) -> dict[str, int]:
        """Instance type -> default vCPUs (cached: types do not change)."""
        return {t: int(r["VCpuInfo"]["DefaultVCpus"]) for t, r in self._type_rows(types).items()}

    def memory_mib(self, instance_type: str) -> Optional[int]:
        """The instance type's memory (MemoryInfo.SizeInMiB), None when EC2 does not know the type."""
        row = self._type_rows([instance_type]).get(instance_type)
        return int(row["MemoryInfo"]["SizeInMiB"]) if row else None

    def koji_arch(self, instance_type: str) -> str:
        """The type's arch as Koji names it: aarch64 for arm64 (ProcessorInfo.SupportedArchitectures)."""
        row = self._type_rows([instance_type]).get(instance_type) or {}
        archs = row.get("ProcessorInfo", {}).get("SupportedArchitectures", [])
        return "aarch64" if "arm64" in archs else "x86_64"

    def launch_template(self, lt_id: str, version: str) -> tuple[str, Optional[str]]:
        """(version number, instance type) of a launch template version ("$Latest" resolved)."""
        row = self.ec2.describe_launch_template_versions(LaunchTemplateId=lt_id, Versions=[version])
        v = row["LaunchTemplateVersions"][0]
        return str(v["VersionNumber"]), v["LaunchTemplateData"].get("InstanceType")

    def tag(self, instance_id: str, key: str, value: str) -> None:
        self.ec2.create_tags(Resources=[instance_id], Tags=[{"Key": key, "Value": value}])

    def parameter_leaves(self, path: str) -> list[str]:
        """The last name components of the parameters directly under `path`, sorted."""
        out: list[str] = []
        for page in self.ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=False):
            out.extend(param["Name"].rsplit("/", 1)[-1] for param in page["Parameters"])
        return sorted(out)

    def delete_parameters(self, names: Sequence[str]) -> None:
        """DeleteParameters, ten names a call (the API's limit); absent names are not an error
        (they come back as InvalidParameters)."""
        for start in range(0, len(names), 10):
            self.ssm.delete_parameters(Names=list(names[start:start + 10]))

    def failure_records(self, path: str) -> dict[str, dict[str, Any]]:
        """{instance id: record} of the failure records under `path` (JSON {step, exit_code, log_tail})."""
        out: dict[str, dict[str, Any]] = {}
        for page in self.ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=False):
            for param in page["Parameters"]:
                try:
                    record = json.loads(param["Value"])
                except ValueError:
                    record = {}
                out[param["Name"].rsplit("/", 1)[-1]] = record if isinstance(record, dict) else {}
        return out

    def get_parameter(self, name: str) -> Optional[str]:
        try:
            return self.ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except self.ssm.exceptions.ParameterNotFound:
            return None

    def put_parameter(self, name: str, value: str) -> None:
        self.ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)

    def delete_parameter(self, name: str) -> None:
        try:
            self.ssm.delete_parameter(Name=name)
        except self.ssm.exceptions.ParameterNotFound:
            pass

    def put_metrics(self, namespace: str, metrics: Sequence[Metric], now: datetime.datetime) -> None:
        data = [{"MetricName": m.name, "Dimensions": [{"Name": "Arch", "Value": m.arch}],
                 "Timestamp": now, "Value": m.value, "Unit": m.unit} for m in metrics]
        for start in range(0, len(data), 500):
            self.cw.put_metric_data(Namespace=namespace, MetricData=data[start:start + 500])


def group_launch_template(group: Mapping[str, Any]) -> tuple[Optional[str], Optional[str], list[str]]:
    """(launch template id, version, override instance types) of a DescribeAutoScalingGroups row."""
    if group.get("LaunchTemplate"):
        lt = group["LaunchTemplate"]
        return lt.get("LaunchTemplateId"), lt.get("Version", "$Default"), []
    mip = group.get("MixedInstancesPolicy") or {}
    spec = mip.get("LaunchTemplate", {})
    lt = spec.get("LaunchTemplateSpecification", {})
    types = [o["InstanceType"] for o in spec.get("Overrides", []) if o.get("InstanceType")]
    return lt.get("LaunchTemplateId"), lt.get("Version", "$Default"), types
