"""What the ops commands read from a launched stack: outputs, physical resources, hub instance, secrets."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions

from .. import names
from ..errors import OperationError, UserError
from .session import Aws, aws_errors, error_code


def describe(aws: Aws, stack: str) -> dict[str, Any]:
    """The stack's description; raises UserError when there is no such stack in the region."""
    try:
        return aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except botocore.exceptions.ClientError as err:
        if error_code(err) == "ValidationError" and "does not exist" in str(err):
            raise UserError(f"there is no stack {stack!r} in {aws.region}: check --stack-name and --region") from None
        with aws_errors(f"reading stack {stack}"):
            raise


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    """The stack's outputs as {key: value}."""
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def require_outputs(stack: dict[str, Any], *keys: str) -> dict[str, str]:
    """The stack's outputs; raises OperationError naming any of `keys` that is missing."""
    found = outputs(stack)
    missing = [k for k in keys if k not in found]
    if missing:
        raise OperationError(f"stack {stack['StackName']} ({stack['StackStatus']}) has no output "
                             f"{', '.join(missing)}: is it a kojistack stack, and has it finished creating?")
    return found


def physical_ids(aws: Aws, stack: str) -> dict[str, dict[str, str]]:
    """{logical id: {"id": physical id, "type": resource type, "status": ...}} of the stack's resources."""
    found: dict[str, dict[str, str]] = {}
    with aws_errors(f"listing the resources of stack {stack}"):
        for page in aws.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack):
            for r in page["StackResourceSummaries"]:
                found[r["LogicalResourceId"]] = {"id": r.get("PhysicalResourceId", ""), "type": r["ResourceType"],
                                                 "status": r.get("ResourceStatus", "")}
    return found


def hub_group_name(stack: str) -> str:
    """`<stack>-hub` (names.HUB_GROUP_NAME, with the stack name filled in)."""
    return names.HUB_GROUP_NAME.replace("${AWS::StackName}", stack)


def builder_group_name(stack: str, arch: str) -> str:
    """`<stack>-builders-<arch>`."""
    return names.builder_group_name(arch).replace("${AWS::StackName}", stack)


def light_group_name(stack: str) -> str:
    """`<stack>-light`: the light hosts' group."""
    return names.LIGHT_GROUP_NAME.replace("${AWS::StackName}", stack)


def stack_uuid(stack_id: str) -> str:
    """The last part of a stack id (`arn:…:stack/<name>/<uuid>`): ${StackUuid} in `ids` names."""
    return stack_id.rsplit("/", 1)[-1]


def fill(pattern: str, stack: str, stack_id: str) -> str:
    """An `ids` name pattern with the stack's name and ${StackUuid} filled in."""
    return pattern.replace("${AWS::StackName}", stack).replace("${" + names.STACK_UUID + "}", stack_uuid(stack_id))


def ssm_prefix(stack: str, stack_id: str) -> str:
    """`/kojistack/<stack>/<uuid>`: the stack's SSM parameters (CA, CSRs, failure records)."""
    return fill(names.SSM_PREFIX, stack, stack_id)


def user_secret_name(description: dict[str, Any], user: str) -> str:
    """`kojistack/<stack>/<uuid>/users/<user>`: where `user add` puts a user's credentials."""
    return fill(names.USER_SECRET_PREFIX, description["StackName"], description["StackId"]) + user


def hub_instance(aws: Aws, stack: str) -> str:
    """The id of the single InService instance of the hub group; raises OperationError otherwise."""
    group = hub_group_name(stack)
    with aws_errors(f"reading auto scaling group {group}"):
        groups = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    if not groups["AutoScalingGroups"]:
        raise OperationError(f"there is no hub group {group}: is {stack} a kojistack stack?")
    ready = [i["InstanceId"] for i in groups["AutoScalingGroups"][0]["Instances"]
             if i["LifecycleState"] == "InService"]
    if len(ready) != 1:
        raise OperationError(f"the hub group {group} has {len(ready)} InService instances, not 1: "
                             "wait for the hub to be ready (`kojistack status`)")
    return ready[0]


def read_credentials(aws: Aws, secret_id: str, who: str) -> dict[str, str]:
    """A credentials secret {username, cert_pem, key_pem, p12_b64, p12_password, ca_pem}."""
    try:
        value = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except botocore.exceptions.ClientError as err:
        if error_code(err) == "ResourceNotFoundException":
            raise UserError(f"there are no credentials for {who} (secret {secret_id} does not exist)") from None
        with aws_errors(f"reading the credentials of {who}"):
            raise
    try:
        creds = json.loads(value)
    except json.JSONDecodeError:
        raise OperationError(f"secret {secret_id} does not hold JSON credentials") from None
    if creds.get("placeholder"):
        raise OperationError(f"the hub has not written the credentials of {who} yet: wait until the "
                             "stack is CREATE_COMPLETE (`kojistack status`)")
    missing = [k for k in ("username", "cert_pem", "key_pem", "ca_pem") if not creds.get(k)]
    if missing:
        raise OperationError(f"secret {secret_id} lacks {', '.join(missing)}")
    return creds
