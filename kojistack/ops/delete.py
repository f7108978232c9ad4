"""`kojistack delete`: list what the stack keeps after deletion and what it costs, drain the builders, delete.

Retained (DeletionPolicy Retain/Snapshot) in this order: the stack key (without it the snapshot, file
system and secrets cannot be read), the database snapshot, the file system, the secrets, the rest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import ids
from ..config import ARCHES
from ..errors import OperationError, UserError
from . import events, prices, stackinfo
from .session import Aws, aws_errors

GIB = 1024 ** 3
_ORDER = {ids.STACK_KEY: 0, ids.DATABASE: 1, ids.FILE_SYSTEM: 2}
_TYPE_ORDER = {"AWS::KMS::Key": 0, "AWS::RDS::DBInstance": 1, "AWS::EFS::FileSystem": 2,
               "AWS::SecretsManager::Secret": 3}


@dataclass(frozen=True)
class Retained:
    """One resource that outlives the stack."""

    logical_id: str
    resource_type: str
    physical_id: str
    policy: str
    what: str
    monthly_usd: float | None

    def describe(self) -> str:
        cost = "cost unknown" if self.monthly_usd is None else f"~${self.monthly_usd:,.2f}/month"
        return f"{self.logical_id} ({self.resource_type}) {self.physical_id or '(not created)'}: {self.what}; {cost}"


def _template(aws: Aws, stack: str) -> dict[str, Any]:
    with aws_errors(f"reading the template of stack {stack}"):
        body = aws.client("cloudformation").get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    return body if isinstance(body, dict) else json.loads(body)


def _efs_gib(aws: Aws, fs_id: str) -> float | None:
    with aws_errors(f"reading file system {fs_id}"):
        found = aws.client("efs").describe_file_systems(FileSystemId=fs_id)["FileSystems"]
    return found[0]["SizeInBytes"]["Value"] / GIB if found else None


def _db_gib(aws: Aws, db_id: str) -> tuple[int | None, bool]:
    with aws_errors(f"reading database {db_id}"):
        found = aws.client("rds").describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"]
    if not found:
        return None, False
    return found[0].get("AllocatedStorage"), bool(found[0].get("DeletionProtection"))


def _describe(aws: Aws, logical: str, rtype: str, physical: str, policy: str) -> Retained:
    if rtype == "AWS::KMS::Key":
        return Retained(logical, rtype, physical, policy, "KEEP IT: without this key the snapshot, file system "
                        "and secrets cannot be read (restore: parameter RestoreKeyArn)", prices.KMS_KEY_MONTH)
    if rtype == "AWS::RDS::DBInstance":
        db_gib = _db_gib(aws, physical)[0] if physical else None
        cost = None if db_gib is None else db_gib * prices.RDS_SNAPSHOT_GB_MONTH
        return Retained(logical, rtype, physical, policy, f"final snapshot of {db_gib or '?'} GiB (restore: "
                        "parameter DbSnapshotIdentifier)", cost)
    if rtype == "AWS::EFS::FileSystem":
        gib = _efs_gib(aws, physical) if physical else None
        cost = None if gib is None else gib * prices.EFS_STANDARD_GB_MONTH
        size = "?" if gib is None else f"{gib:,.2f}"
        what = f"/mnt/koji, {size} GiB (restore: parameter ExistingFileSystemId)"
        return Retained(logical, rtype, physical, policy, what, cost)
    if rtype == "AWS::SecretsManager::Secret":
        return Retained(logical, rtype, physical, policy, "secret", prices.SECRET_MONTH)
    if rtype == "AWS::Logs::LogGroup":
        return Retained(logical, rtype, physical, policy, "log group", None)
    return Retained(logical, rtype, physical, policy, "retained resource", None)


def retained(aws: Aws, stack: str) -> list[Retained]:
    """What deleting `stack` leaves behind, stack key first."""
    template = _template(aws, stack)
    resources = stackinfo.physical_ids(aws, stack)
    kept = []
    for logical, res in template.get("Resources", {}).items():
        policy = res.get("DeletionPolicy", "Delete")
        if policy in ("Retain", "Snapshot", "RetainExceptOnCreate"):
            physical = resources.get(logical, {}).get("id", "")
            kept.append(_describe(aws, logical, res.get("Type", ""), physical, policy))
    kept += user_secrets(aws, stack)
    return sorted(kept, key=lambda r: (_ORDER.get(r.logical_id, 9), _TYPE_ORDER.get(r.resource_type, 9),
                                       r.logical_id))


def user_secrets(aws: Aws, stack: str) -> list[Retained]:
    """The per-user secrets `user add` made (not stack resources, so they outlive it too)."""
    prefix = stackinfo.user_secret_name(stackinfo.describe(aws, stack), "")
    found = []
    with aws_errors("listing the per-user secrets"):
        for page in aws.client("secretsmanager").get_paginator("list_secrets").paginate(
                Filters=[{"Key": "name", "Values": [prefix]}]):
            found += [s for s in page["SecretList"] if s["Name"].startswith(prefix)]
    return [Retained(f"user {s['Name'][len(prefix):]}", "AWS::SecretsManager::Secret", s["Name"], "user secret",
                     "credentials made by `kojistack user add`", prices.SECRET_MONTH)
            for s in sorted(found, key=lambda s: s["Name"])]


def drain(aws: Aws, stack: str, echo: events.Echo, timeout_seconds: float, poll_seconds: float,
          sleep: Callable[[float], None] = time.sleep) -> None:
    """Set every builder group to 0 (the controller drains each builder at its terminate hook) and
    wait; then the light hosts' group. Builders go first: a light host holds the build parents whose
    children the builders are finishing; once the builder groups are at 0 those parents wait for
    children that can never run, and the controller lets a light group at 0 go at once."""
    builders = [stackinfo.builder_group_name(stack, arch) for arch in ARCHES]
    _drain_groups(aws, builders, "builder(s)", "builders", echo, timeout_seconds, poll_seconds, sleep)
    _drain_groups(aws, [stackinfo.light_group_name(stack)], "light host(s)", "light hosts", echo,
                  timeout_seconds, poll_seconds, sleep)


def _drain_groups(aws: Aws, names: list[str], unit: str, what: str, echo: events.Echo, timeout_seconds: float,
                  poll_seconds: float, sleep: Callable[[float], None]) -> None:
    """Set the named groups that exist to 0 and wait until they hold no instance."""
    asg = aws.client("autoscaling")
    with aws_errors(f"reading the {what}' groups"):
        groups = asg.describe_auto_scaling_groups(AutoScalingGroupNames=names)["AutoScalingGroups"]
    if not groups:
        return
    for group in groups:
        with aws_errors(f"setting {group['AutoScalingGroupName']} to 0"):
            asg.update_auto_scaling_group(AutoScalingGroupName=group["AutoScalingGroupName"],
                                          MinSize=0, MaxSize=0, DesiredCapacity=0)
        echo(f"draining {group['AutoScalingGroupName']}: {len(group['Instances'])} {unit}")
    waited = 0.0
    while groups:
        with aws_errors(f"reading the {what}' groups"):
            groups = asg.describe_auto_scaling_groups(AutoScalingGroupNames=names)["AutoScalingGroups"]
        left = {g["AutoScalingGroupName"]: len(g["Instances"]) for g in groups if g["Instances"]}
        if not left:
            break
        if waited >= timeout_seconds:
            raise OperationError(f"{what} still draining after {waited / 60:.0f} min "
                                 f"({', '.join(f'{k}: {v}' for k, v in sorted(left.items()))}); running builds "
                                 "are finishing: run delete again later, or pass --skip-drain to cut them off")
        echo(f"waiting for {what} to drain: " + ", ".join(f"{k}: {v}" for k, v in sorted(left.items())))
        sleep(poll_seconds)
        waited += poll_seconds
    echo(f"{what} drained")


def _allow_database_deletion(aws: Aws, resources: Mapping[str, Mapping[str, str]], echo: events.Echo,
                             sleep: Callable[[float], None] = time.sleep) -> None:
    db = resources.get(ids.DATABASE, {}).get("id")
    if not db or not _db_gib(aws, db)[1]:
        return
    rds = aws.client("rds")
    with aws_errors(f"turning off deletion protection of database {db}"):
        rds.modify_db_instance(DBInstanceIdentifier=db, DeletionProtection=False, ApplyImmediately=True)
    for attempt in range(40):  # what boto3's db_instance_available waiter does (15 s x 40), saying so
        with aws_errors(f"reading database {db}"):
            status = rds.describe_db_instances(DBInstanceIdentifier=db)["DBInstances"][0]["DBInstanceStatus"]
        if status == "available":
            break
        echo(f"database {db}: {status}, waiting for it to be available ({attempt * 15 // 60:02d}:"
             f"{attempt * 15 % 60:02d})")
        sleep(15)
    else:
        raise OperationError(f"database {db} did not become available within 10 minutes after turning off its "
                             "deletion protection; run delete again")
    echo(f"database {db}: deletion protection off (CloudFormation takes a final snapshot)")


def delete(aws: Aws, stack: str, echo: events.Echo, confirm: Callable[[str], bool], yes: bool = False,
           skip_drain: bool = False, drain_timeout: float = 3600, poll_seconds: float = 10,
           sleep: Callable[[float], None] = time.sleep, status_line: events.Echo | None = None) -> list[Retained]:
    """Delete `stack` after showing what it keeps; returns the retained resources."""
    description = stackinfo.describe(aws, stack)
    if description["StackStatus"] == "REVIEW_IN_PROGRESS":
        return _delete_never_created(aws, stack, description, echo, confirm, yes, poll_seconds, sleep)
    if description["StackStatus"].endswith("_IN_PROGRESS"):
        raise UserError(f"stack {stack} is busy ({description['StackStatus']}); wait for it to finish")
    kept = retained(aws, stack)
    echo(f"deleting stack {stack} keeps {len(kept)} resource(s):")
    for item in kept:
        echo(f"  {item.describe()}")
    known = [r.monthly_usd for r in kept if r.monthly_usd is not None]
    echo(f"  together ~${sum(known):,.2f}/month (us-east-1 prices of {prices.PRICE_DATE}) until you delete them")
    if not yes and not confirm(f"Delete stack {stack}?"):
        raise UserError(f"delete cancelled; stack {stack} is unchanged")
    if not skip_drain:
        drain(aws, stack, echo, drain_timeout, poll_seconds, sleep)
    resources = stackinfo.physical_ids(aws, stack)
    db_id = resources.get(ids.DATABASE, {}).get("id", "")
    _allow_database_deletion(aws, resources, echo, sleep)
    follower = events.EventFollower(aws, description["StackId"], echo, status_line=status_line)
    follower.mark_seen()
    with aws_errors(f"deleting stack {stack}"):
        aws.client("cloudformation").delete_stack(StackName=description["StackId"])
    final = events.follow(aws, follower, poll_seconds, sleep)
    if final["StackStatus"] != "DELETE_COMPLETE":
        events.report_failure(aws, stack, description["StackId"], echo)
        raise OperationError(f"stack {stack} ended in {final['StackStatus']}: fix the resources named above "
                             "and run delete again")
    echo(f"stack {stack} deleted; retained resources listed above stay until you delete them "
         "(delete the stack key last, and only when nothing it encrypts is needed)")
    restore = restore_parameters(aws, description, db_id)
    echo("to restore it into a new stack (docs/operations.md), deploy with:")
    for key, value in restore.items():
        echo(f"  --param {key}={value}")
    return kept


# The outputs of a deleted stack a restore passes back as parameters (docs/operations.md, Restore).
RESTORE_FROM_OUTPUTS = {"ExistingFileSystemId": ids.OUT_FILE_SYSTEM, "RestoreCaSecretArn": ids.OUT_CA_SECRET,
                        "RestoreBuilderCaSecretArn": ids.OUT_BUILDER_CA_SECRET, "RestoreKeyArn": ids.OUT_STACK_KEY}


def final_snapshot(aws: Aws, db_id: str) -> str | None:
    """The newest manual snapshot of the deleted database (CloudFormation's final snapshot)."""
    with aws_errors(f"looking up the final snapshot of database {db_id}"):
        found = aws.client("rds").describe_db_snapshots(DBInstanceIdentifier=db_id, SnapshotType="manual")
    snaps = sorted(found.get("DBSnapshots", []), key=lambda s: str(s.get("SnapshotCreateTime", "")))
    return snaps[-1]["DBSnapshotIdentifier"] if snaps else None


def restore_parameters(aws: Aws, description: Mapping[str, Any], db_id: str) -> dict[str, str]:
    """{parameter: value} for `deploy --param`: the final snapshot, file system, CA secrets and key."""
    out = stackinfo.outputs(dict(description))
    params = {"DbSnapshotIdentifier": (final_snapshot(aws, db_id) if db_id else None)
              or f"(none found: aws rds describe-db-snapshots --db-instance-identifier {db_id or '?'})"}
    params.update({param: out.get(key, "(no output " + key + ")") for param, key in RESTORE_FROM_OUTPUTS.items()})
    return params


def _delete_never_created(aws: Aws, stack: str, description: Mapping[str, Any], echo: events.Echo,
                          confirm: Callable[[str], bool], yes: bool, poll_seconds: float,
                          sleep: Callable[[float], None]) -> list[Retained]:
    """A stack in REVIEW_IN_PROGRESS holds only change sets (its create never ran, e.g. a change set
    that failed on a parameter): no resources, nothing to drain or keep; it never leaves that state by
    itself, so it is deleted, not waited for."""
    echo(f"stack {stack} was never created (REVIEW_IN_PROGRESS: only change sets, no resources); nothing is kept")
    if not yes and not confirm(f"Delete stack {stack}?"):
        raise UserError(f"delete cancelled; stack {stack} is unchanged")
    follower = events.EventFollower(aws, description["StackId"], echo)
    follower.mark_seen()
    with aws_errors(f"deleting stack {stack}"):
        aws.client("cloudformation").delete_stack(StackName=description["StackId"])
    final = events.follow(aws, follower, poll_seconds, sleep)
    if final["StackStatus"] != "DELETE_COMPLETE":
        raise OperationError(f"stack {stack} ended in {final['StackStatus']}")
    echo(f"stack {stack} deleted")
    return []
