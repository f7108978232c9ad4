"""`kojistack deploy`: create or update a stack through a change set, confirm stateful replacements, follow it.

A change that removes or (possibly) replaces a stateful resource (database, file system, stack key,
secrets: `ids.STATEFUL`, or a stateful resource type) needs a yes at the prompt or `--yes`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.exceptions

from .. import ids
from ..errors import OperationError, UserError
from . import events, paramcheck
from .launch import check_params, check_stack_name
from .session import Aws, aws_errors, error_code
from .templates import INLINE_LIMIT, load_template
from .upload import put_deploy_template

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
STATEFUL_TYPES = frozenset({"AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::EFS::FileSystem",
                            "AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::S3::Bucket",
                            "AWS::Backup::BackupVault", "AWS::EC2::Volume"})
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
_BUSY = ("_IN_PROGRESS",)


@dataclass(frozen=True)
class Change:
    """One resource change of a change set."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""

    @property
    def stateful(self) -> bool:
        return self.logical_id in ids.STATEFUL or self.resource_type in STATEFUL_TYPES

    @property
    def destructive(self) -> bool:
        """Removes the resource, or may replace it (a replacement deletes the old one)."""
        return self.action == "Remove" or (self.action == "Modify" and self.replacement in ("True", "Conditional"))

    def describe(self) -> str:
        replace = {"True": "  (REPLACES it)", "Conditional": "  (may replace it)"}.get(self.replacement, "")
        return f"{self.action:<7} {self.logical_id:<36} {self.resource_type}{replace}"


@dataclass(frozen=True)
class DeployRequest:
    """What the user asked `deploy` for."""

    stack_name: str
    template: Path
    params: Mapping[str, str]
    bucket: str | None = None
    yes: bool = False
    disable_rollback: bool = False
    poll_seconds: float = 5.0


def changes_of(description: Mapping[str, Any]) -> list[Change]:
    """The resource changes of a DescribeChangeSet answer."""
    out = []
    for item in description.get("Changes", []):
        rc = item.get("ResourceChange", {})
        out.append(Change(rc.get("Action", ""), rc.get("LogicalResourceId", ""), rc.get("ResourceType", ""),
                          str(rc.get("Replacement", ""))))
    return out


def existing_stack(aws: Aws, name: str) -> dict[str, Any] | None:
    """The stack called `name`, or None when there is none."""
    try:
        return aws.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except botocore.exceptions.ClientError as err:
        if error_code(err) == "ValidationError" and "does not exist" in str(err):
            return None
        with aws_errors(f"reading stack {name}"):
            raise


def previous_values(stack: Mapping[str, Any]) -> dict[str, str]:
    """The values a stack's parameters have now (NoEcho ones, shown as ****, are left out)."""
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])
            if "ParameterValue" in p and p["ParameterValue"] != "****"}


def change_set_parameters(template: Mapping[str, Any], params: Mapping[str, str],
                          stack: Mapping[str, Any] | None) -> list:
    """The change set's Parameters: the given values, and on an update UsePreviousValue for the rest.
    A stack in REVIEW_IN_PROGRESS was never created: CloudFormation refuses UsePreviousValue in its
    CREATE change set even though DescribeStacks lists the failed change set's parameters."""
    given = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(params.items())]
    if stack is None or stack.get("StackStatus") == "REVIEW_IN_PROGRESS":
        return given
    previous = {p["ParameterKey"] for p in stack.get("Parameters", [])}
    keep = sorted((set(template.get("Parameters", {})) & previous) - set(params))
    return given + [{"ParameterKey": k, "UsePreviousValue": True} for k in keep]


def _wait_for_change_set(aws: Aws, change_set_id: str, req: DeployRequest,
                         sleep: Callable[[float], None]) -> dict[str, Any]:
    cfn = aws.client("cloudformation")
    while True:
        with aws_errors("reading the change set"):
            description = cfn.describe_change_set(ChangeSetName=change_set_id)
        if description["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return description
        sleep(req.poll_seconds)


def _checked_template(req: DeployRequest) -> tuple[bytes, dict[str, Any]]:
    """Step 1: the stack name, the template and the given parameter values alone, before any AWS call."""
    check_stack_name(req.stack_name)
    body, template = load_template(req.template)
    check_params(req.params, template.get("Parameters", {}), str(req.template))
    paramcheck.check(template, req.params, str(req.template))
    return body, template


def _deploy_kind(aws: Aws, req: DeployRequest) -> tuple[str, dict[str, Any] | None]:
    """Step 2: ("CREATE", None) or ("UPDATE", the stack); a stack that cannot take a change is refused."""
    stack = existing_stack(aws, req.stack_name)
    status = stack["StackStatus"] if stack else ""
    if status == "ROLLBACK_COMPLETE":
        raise UserError(f"stack {req.stack_name} failed its first create and cannot be updated: "
                        f"delete it (`kojistack delete --stack-name {req.stack_name}`) and deploy again")
    if status.endswith(_BUSY) and status != "REVIEW_IN_PROGRESS":
        raise UserError(f"stack {req.stack_name} is busy ({status}); wait for it to finish")
    # REVIEW_IN_PROGRESS: a stack that holds only change sets (a create that never ran): create it anew
    if stack is None or status == "REVIEW_IN_PROGRESS":
        return "CREATE", None
    return "UPDATE", stack


def _template_source(aws: Aws, req: DeployRequest, body: bytes) -> dict[str, str]:
    """Step 3: TemplateBody inline, or TemplateURL of an upload when over the inline limit."""
    if len(body) <= INLINE_LIMIT:
        return {"TemplateBody": body.decode()}
    if not req.bucket:
        raise UserError(f"{req.template} is {len(body):,} bytes, over CloudFormation's {INLINE_LIMIT:,}-byte "
                        f"inline limit: pass --bucket with an S3 bucket in {aws.region}")
    return {"TemplateURL": put_deploy_template(aws, req.bucket, req.stack_name, body)}


def _plan_failed(aws: Aws, cfn: Any, req: DeployRequest, kind: str, created: Mapping[str, Any],
                 description: Mapping[str, Any], echo: events.Echo) -> dict[str, Any]:
    """Step 4b: a change set CloudFormation could not plan is deleted; "no changes" is the up-to-date
    stack, anything else an error (a create leaves no empty stack behind)."""
    reason = description.get("StatusReason", "")
    with aws_errors("deleting the empty change set"):
        cfn.delete_change_set(ChangeSetName=created["Id"])
    if any(text in reason for text in _NO_CHANGES):
        echo(f"stack {req.stack_name} is up to date: nothing to deploy")
        return events.stack_status(aws, created["StackId"])
    if kind == "CREATE":  # the stack holds nothing but this change set: leave nothing behind
        with aws_errors(f"removing the empty stack {req.stack_name}"):
            cfn.delete_stack(StackName=created["StackId"])
        raise OperationError(f"CloudFormation could not plan the change: {reason}; nothing was created "
                             f"(the empty stack {req.stack_name} was removed)")
    raise OperationError(f"CloudFormation could not plan the change: {reason}")


def _confirm_changes(cfn: Any, req: DeployRequest, kind: str, name: str, created: Mapping[str, Any],
                     changes: list[Change], echo: events.Echo, confirm: Callable[[str], bool]) -> None:
    """Step 5: list the changes; deleting or replacing a stateful resource needs a yes (or --yes)."""
    echo(f"{kind.lower()} {req.stack_name}: {len(changes)} change(s) in change set {name}")
    for change in changes:
        echo(f"  {change.describe()}")
    risky = [c for c in changes if c.stateful and c.destructive]
    if risky and not req.yes:
        names = ", ".join(c.logical_id for c in risky)
        if not confirm(f"This deletes or replaces stateful resources ({names}); their data goes with them "
                       "unless retained or snapshotted. Continue?"):
            with aws_errors("deleting the change set"):
                cfn.delete_change_set(ChangeSetName=created["Id"])
            raise UserError(f"deploy cancelled; nothing was changed (change set {name} deleted)")


def _execute(aws: Aws, cfn: Any, req: DeployRequest, name: str, created: Mapping[str, Any], changes: list[Change],
             echo: events.Echo, sleep: Callable[[float], None], status_line: events.Echo | None) -> dict[str, Any]:
    """Step 6: execute the change set and follow its events to the end; a failure is reported."""
    follower = events.EventFollower(aws, created["StackId"], echo, total=len(changes), status_line=status_line)
    follower.mark_seen()
    try:
        with aws_errors(f"executing change set {name}"):
            cfn.execute_change_set(ChangeSetName=created["Id"], DisableRollback=req.disable_rollback)
    except OperationError:
        events.report_failure(aws, req.stack_name, created["StackId"], echo)
        raise
    final = events.follow(aws, follower, req.poll_seconds, sleep)
    if final["StackStatus"] not in events.SUCCESS:
        events.report_failure(aws, req.stack_name, created["StackId"], echo)
        hint = " (resources were kept for inspection: --disable-rollback)" if req.disable_rollback else ""
        raise OperationError(f"stack {req.stack_name} ended in {final['StackStatus']}{hint}")
    return final


def deploy(aws: Aws, req: DeployRequest, echo: events.Echo, confirm: Callable[[str], bool],
           sleep: Callable[[float], None] = time.sleep, status_line: events.Echo | None = None) -> dict[str, Any]:
    """Create or update the stack; return its final description. Raises on refusal or failure."""
    body, template = _checked_template(req)
    kind, stack = _deploy_kind(aws, req)
    others = {**paramcheck.defaults(template), **(previous_values(stack) if stack else {})}
    paramcheck.check(template, req.params, str(req.template), others, creating=kind == "CREATE")
    source = _template_source(aws, req, body)
    # step 4: the change set
    name = "kojistack-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    cfn = aws.client("cloudformation")
    try:
        with aws_errors(f"creating a change set for stack {req.stack_name}"):
            created = cfn.create_change_set(
                StackName=req.stack_name, ChangeSetName=name, ChangeSetType=kind,
                Parameters=change_set_parameters(template, req.params, stack), Capabilities=CAPABILITIES, **source)
    except OperationError as err:
        if stack is None or not any(text in str(err) for text in _NO_CHANGES):
            raise
        echo(f"stack {req.stack_name} is up to date: nothing to deploy")
        return stack
    description = _wait_for_change_set(aws, created["Id"], req, sleep)
    if description["Status"] == "FAILED":
        return _plan_failed(aws, cfn, req, kind, created, description, echo)
    changes = changes_of(description)
    _confirm_changes(cfn, req, kind, name, created, changes, echo, confirm)
    return _execute(aws, cfn, req, name, created, changes, echo, sleep, status_line)


def format_outputs(stack: Mapping[str, Any]) -> list[str]:
    """`Key: value` lines for the stack's outputs, sorted by key."""
    outputs = sorted(stack.get("Outputs") or [], key=lambda o: o["OutputKey"])
    return [f"{o['OutputKey']}: {o['OutputValue']}" for o in outputs] or ["(the stack has no outputs)"]
