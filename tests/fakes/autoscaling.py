"""A fake Auto Scaling service behind the controller's `AutoScaling` port, for what moto lacks.

moto 5.2.5 records no lifecycle hooks, puts instances straight into InService and raises
NotImplementedError for `complete_lifecycle_action` and `record_lifecycle_action_heartbeat`
(reference/aws.md §10). This fake keeps groups with their launch hook (`kojistack-register`) and
terminate hook (`kojistack-drain`), Pending:Wait / Terminating:Wait with heartbeat timeouts and
default results, scale-in protection, and validation errors as AWS documents them. Instances are
real moto EC2 instances (so tags, states and DescribeInstances are moto's). `reconcile()` is the
service's own work between calls: launch up to desired, expire hooks, replace unhealthy instances.
`tests/controller/test_autoscaling_contract.py` runs the calls both implement against both.
"""

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kojistack import names


class ValidationError(Exception):
    """What boto3 raises as ClientError(ValidationError) for these calls."""


@dataclass
class FakeInstance:
    id: str
    lifecycle: str
    lt_version: str
    protected: bool
    health: str = "Healthy"
    hook_deadline: float | None = None


@dataclass
class FakeGroup:
    name: str
    min_size: int
    max_size: int
    desired: int
    lt_id: str
    lt_version: str  # what new instances get ("1", "2", ...)
    instance_type: str
    hooks: bool = True
    heartbeat_timeout: float = 900.0
    protect: bool = True
    instances: dict[str, FakeInstance] = field(default_factory=dict)
    suspended: list[str] = field(default_factory=list)
    activities: list[dict] = field(default_factory=list)
    launch_fails: int = 0  # the next N launches fail (quota, spot shortage)
    tags: dict[str, str] = field(default_factory=dict)  # group tags (DescribeAutoScalingGroups "Tags")
    # the group's hook names (the template's LifecycleHookSpecificationList; default: kojistack/names.py)
    launch_hook: str = field(default_factory=lambda: names.BUILDER_LAUNCH_HOOK)
    terminate_hook: str = field(default_factory=lambda: names.BUILDER_TERMINATE_HOOK)


class FakeAutoScaling:
    """Groups over moto EC2. Same methods as kojistack.controller.awsport.AutoScaling."""

    def __init__(self, ec2: Any, clock: Callable[[], float], image_id: str = "ami-12c6146b"):
        self.ec2, self.clock, self.image_id = ec2, clock, image_id
        self.groups: dict[str, FakeGroup] = {}
        self.calls: list[str] = []

    # --- set-up and the service's own behaviour ---------------------------------------------

    def add_group(self, name: str, lt_id: str, instance_type: str, min_size: int = 0, max_size: int = 10,
                  lt_version: str = "1", hooks: bool = True) -> FakeGroup:
        g = FakeGroup(name, min_size, max_size, min_size, lt_id, lt_version, instance_type, hooks)
        self.groups[name] = g
        return g

    def _group_of(self, instance_id: str) -> FakeGroup:
        for g in self.groups.values():
            if instance_id in g.instances:
                return g
        raise ValidationError(f"Instance Id not found - No managed instance found for instance ID: {instance_id}")

    def _ec2_state(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        out = {}
        for res in self.ec2.describe_instances(InstanceIds=list(ids))["Reservations"]:
            for i in res["Instances"]:
                out[i["InstanceId"]] = i["State"]["Name"]
        return out

    def _launch(self, g: FakeGroup) -> None:
        now = self.clock()
        if g.launch_fails > 0:
            g.launch_fails -= 1
            g.activities.append({"StatusCode": "Failed", "StartTime": _dt(now),
                                 "StatusMessage": "We currently do not have sufficient capacity (simulated)."})
            return
        iid = self.ec2.run_instances(ImageId=self.image_id, InstanceType=g.instance_type, MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        state = "Pending:Wait" if g.hooks else "InService"
        g.instances[iid] = FakeInstance(iid, state, g.lt_version, g.protect,
                                        hook_deadline=now + g.heartbeat_timeout if g.hooks else None)
        g.activities.append({"StatusCode": "Successful", "StartTime": _dt(now), "StatusMessage": ""})

    def _start_termination(self, g: FakeGroup, inst: FakeInstance) -> None:
        if g.hooks:
            inst.lifecycle, inst.hook_deadline = "Terminating:Wait", self.clock() + g.heartbeat_timeout
        else:
            self._finish(g, inst)

    def _finish(self, g: FakeGroup, inst: FakeInstance) -> None:
        self.ec2.terminate_instances(InstanceIds=[inst.id])
        del g.instances[inst.id]

    def reconcile(self) -> None:
        """What Auto Scaling does on its own: hook timeouts, health replacement, reach desired."""
        now = self.clock()
        for g in self.groups.values():
            states = self._ec2_state(list(g.instances))
            for inst in list(g.instances.values()):
                if inst.lifecycle == "Pending:Wait" and now >= (inst.hook_deadline or now):
                    inst.lifecycle = "Terminating"  # launch hook default result ABANDON
                    self._finish(g, inst)
                elif inst.lifecycle == "Terminating:Wait" and now >= (inst.hook_deadline or now):
                    self._finish(g, inst)  # terminate hook default result CONTINUE
                elif (inst.lifecycle in ("InService", "Pending:Wait")
                      and states.get(inst.id) not in ("pending", "running")):
                    inst.health = "Unhealthy"  # the EC2 status check: replaced, hook first
                    self._start_termination(g, inst)
            live = [i for i in g.instances.values() if not i.lifecycle.startswith("Terminating")]
            for _ in range(g.desired - len(live)):
                self._launch(g)
            live = [i for i in g.instances.values() if not i.lifecycle.startswith("Terminating")]
            surplus = len(live) - g.desired
            for inst in sorted((i for i in live if not i.protected), key=lambda i: i.id):
                if surplus <= 0:
                    break
                self._start_termination(g, inst)
                surplus -= 1

    def set_sizes(self, name: str, min_size: int, max_size: int, desired: int) -> None:
        """UpdateAutoScalingGroup, as CloudFormation does on update or (all 0) on delete."""
        g = self.groups[name]
        g.min_size, g.max_size, g.desired = min_size, max_size, desired

    def interrupt(self, instance_id: str) -> None:
        """Spot interruption / rebalance: the service starts terminating the instance."""
        g = self._group_of(instance_id)
        self._start_termination(g, g.instances[instance_id])

    # --- the AutoScaling port ---------------------------------------------------------------

    def describe_groups(self, names: Sequence[str]) -> list[dict[str, Any]]:
        self.calls.append("DescribeAutoScalingGroups")
        out = []
        for name in names:
            g = self.groups.get(name)
            if g is None:
                continue
            out.append({
                "AutoScalingGroupName": g.name, "MinSize": g.min_size, "MaxSize": g.max_size,
                "DesiredCapacity": g.desired, "NewInstancesProtectedFromScaleIn": g.protect,
                "LaunchTemplate": {"LaunchTemplateId": g.lt_id, "Version": "$Latest"},
                "SuspendedProcesses": [{"ProcessName": p, "SuspensionReason": ""} for p in g.suspended],
                "Tags": [{"ResourceId": g.name, "ResourceType": "auto-scaling-group", "Key": k, "Value": v,
                          "PropagateAtLaunch": False} for k, v in sorted(g.tags.items())],
                "Instances": [{"InstanceId": i.id, "InstanceType": g.instance_type, "LifecycleState": i.lifecycle,
                               "HealthStatus": i.health, "ProtectedFromScaleIn": i.protected,
                               "LaunchTemplate": {"LaunchTemplateId": g.lt_id, "Version": i.lt_version}}
                              for i in sorted(g.instances.values(), key=lambda i: i.id)],
            })
        return out

    def set_desired(self, name: str, desired: int) -> None:
        self.calls.append("SetDesiredCapacity")
        g = self.groups[name]
        if desired > g.max_size:
            raise ValidationError(f"New SetDesiredCapacity value {desired} is above max value {g.max_size} "
                                  "for the AutoScalingGroup.")
        if desired < g.min_size:
            raise ValidationError(f"New SetDesiredCapacity value {desired} is below min value {g.min_size} "
                                  "for the AutoScalingGroup.")
        g.desired = desired

    def unprotect(self, group: str, instance_id: str) -> None:
        self.calls.append("SetInstanceProtection")
        g = self.groups[group]
        if instance_id not in g.instances:
            raise ValidationError(f"The instance {instance_id} is not part of Auto Scaling group {group}.")
        g.instances[instance_id].protected = False

    def terminate(self, instance_id: str, decrement: bool) -> None:
        self.calls.append("TerminateInstanceInAutoScalingGroup")
        g = self._group_of(instance_id)
        inst = g.instances[instance_id]
        if decrement:
            if g.desired <= g.min_size:
                raise ValidationError(f"Currently, desiredSize equals minSize ({g.min_size}). Terminating instance "
                                      "without replacement will violate group's min size constraint. Either set "
                                      "shouldDecrementDesiredCapacity flag to false or lower group's min size.")
            g.desired -= 1
        if not inst.lifecycle.startswith("Terminating"):
            self._start_termination(g, inst)

    def complete_hook(self, group: str, hook: str, instance_id: str, result: str) -> None:
        self.calls.append("CompleteLifecycleAction")
        g = self.groups[group]
        inst = g.instances.get(instance_id)
        # a hook name the group does not have: the same ValidationError as a wrong instance (what
        # CompleteLifecycleAction answers when no action of that hook waits for the instance)
        want = {g.launch_hook: "Pending:Wait", g.terminate_hook: "Terminating:Wait"}.get(hook)
        if not g.hooks or inst is None or inst.lifecycle != want:
            raise ValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")
        if hook == g.launch_hook and result == "CONTINUE":
            inst.lifecycle, inst.hook_deadline = "InService", None
        else:
            self._finish(g, inst)

    def heartbeat(self, group: str, hook: str, instance_id: str) -> None:
        self.calls.append("RecordLifecycleActionHeartbeat")
        g = self.groups[group]
        inst = g.instances.get(instance_id)
        if inst is None or not inst.lifecycle.endswith(":Wait") or hook not in (g.launch_hook, g.terminate_hook):
            raise ValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")
        inst.hook_deadline = self.clock() + g.heartbeat_timeout

    def suspend_az_rebalance(self, name: str) -> None:
        self.calls.append("SuspendProcesses")
        g = self.groups[name]
        if "AZRebalance" not in g.suspended:
            g.suspended.append("AZRebalance")

    def failed_launches(self, name: str, since: datetime.datetime) -> int:
        self.calls.append("DescribeScalingActivities")
        return sum(1 for a in self.groups[name].activities if a["StatusCode"] in ("Failed", "Cancelled")
                   and a["StartTime"] >= since)


def _dt(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)
