"""`kojistack user add/revoke`: runs kojistack-user on the hub through SSM Run Command and waits for it.

The hub mints the certificate and PKCS#12 into `kojistack/<stack>/<stack-uuid>/users/<name>` and grants the koji
permissions; revoke puts the certificate on the CRL httpd checks. Nothing secret crosses SSM.
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence

import botocore.exceptions

from ..errors import OperationError, UserError
from . import stackinfo
from .session import Aws, aws_errors, error_code

HUB_SCRIPT = "/opt/kojistack/files/bin/kojistack-user"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_PERM = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
_DONE = {"Success", "Failed", "Cancelled", "TimedOut", "Cancelling"}


#: The koji permission the hub policy lets build (cloud-init/payload/hub/conf/hub-policy.conf.in);
#: the bootstrap seeds it (sql/users.sql). koji 1.35.3 itself has no `build` permission.
PACKAGER = "packager"
#: `kojistack user add --role`: the koji permissions each role grants.
ROLES = {PACKAGER: (PACKAGER,), "none": ()}


def check_user(name: str, perms: Sequence[str] = ()) -> None:
    """Raise UserError unless `name` is a koji user name and each perm a permission name."""
    if not _NAME.match(name):
        raise UserError(f"user name {name!r} is invalid: use letters, digits, '_', '.', '@' and '-' "
                        "(starting with a letter or digit, at most 64)")
    for perm in perms:
        if not _PERM.match(perm):
            raise UserError(f"--perm {perm!r} is not a koji permission name (like repo, tag, admin)")
        if perm == "build":
            raise UserError("koji has no 'build' permission: the packager role (the default --role) "
                            "is what lets a user build")


def role_perms(role: str, perms: Sequence[str]) -> list[str]:
    """The koji permissions for `--role ROLE --perm P...`, each once, in order."""
    if role not in ROLES:
        raise UserError(f"--role {role!r} is not one of {', '.join(sorted(ROLES))}")
    return list(dict.fromkeys([*ROLES[role], *perms]))


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


PROGRESS_EVERY = 15.0  # seconds between "still waiting" lines while the hub runs the command


def run_on_hub(aws: Aws, stack: str, args: Sequence[str], poll_seconds: float = 2.0,
               sleep: Callable[[float], None] = time.sleep, progress: Callable[[str], None] = _to_stderr,
               clock: Callable[[], float] = time.monotonic) -> str:
    """Run kojistack-user ARGS on the hub; return its output, or raise OperationError with its error output.
    While it waits (SSM can take minutes to reach the agent) it says so on stderr every PROGRESS_EVERY s."""
    instance = stackinfo.hub_instance(aws, stack)
    command = " ".join(shlex.quote(a) for a in (HUB_SCRIPT, *args))
    ssm = aws.client("ssm")
    with aws_errors(f"sending the command to the hub {instance}"):
        sent = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                                Comment=f"kojistack user {args[0]} {args[1] if len(args) > 1 else ''}"[:100],
                                Parameters={"commands": [command]}, TimeoutSeconds=600)
    command_id = sent["Command"]["CommandId"]
    started = said = clock()
    while True:
        try:
            result = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)
        except botocore.exceptions.ClientError as err:
            if error_code(err) != "InvocationDoesNotExist":
                with aws_errors("reading the command's result"):
                    raise
            result = {"Status": "Pending"}
        if result["Status"] in _DONE:
            break
        if clock() - said >= PROGRESS_EVERY:
            waited = int(clock() - started)
            progress(f"waiting for the hub {instance} to run kojistack-user {args[0]}: {result['Status']} "
                     f"({waited // 60:02d}:{waited % 60:02d}, command {command_id})")
            said = clock()
        sleep(poll_seconds)
    if result["Status"] != "Success":
        tail = (result.get("StandardErrorContent") or "").strip().splitlines()[-5:]
        detail = "; ".join(tail) or "no error output (is the SSM agent running on the hub?)"
        raise OperationError(f"kojistack-user on the hub {instance} ended {result['Status']} "
                             f"(command {command_id}): {detail}")
    return str(result.get("StandardOutputContent") or "")


def fetch_hint(aws: Aws, stack: str, name: str) -> list[str]:
    """How the user gets their credentials."""
    secret = stackinfo.user_secret_name(stackinfo.describe(aws, stack), name)
    return [f"{name} fetches the credentials (needs secretsmanager:GetSecretValue on {secret}-*) with:",
            f"  kojistack client-config --stack-name {stack} --user {name} --region {aws.region}",
            f"or: aws secretsmanager get-secret-value --region {aws.region} --secret-id {secret}"]


def list_users(aws: Aws, stack: str) -> list[dict[str, str]]:
    """The users `user add` made, from their per-user secrets: {name, state, created, changed, secret}.
    A revoked user's secret waits 7 days for deletion (kojistack-user revoke), then it is gone."""
    prefix = stackinfo.user_secret_name(stackinfo.describe(aws, stack), "")
    rows = []
    with aws_errors("listing the per-user secrets"):
        for page in aws.client("secretsmanager").get_paginator("list_secrets").paginate(
                IncludePlannedDeletion=True, Filters=[{"Key": "name", "Values": [prefix]}]):
            for s in page["SecretList"]:
                if not s["Name"].startswith(prefix):
                    continue
                deleted = s.get("DeletedDate")
                rows.append({
                    "name": s["Name"][len(prefix):], "secret": s.get("ARN", s["Name"]),
                    # DeletedDate: ListSecrets calls it when the deletion occurred, DescribeSecret when it
                    # is scheduled; either way the user was revoked, so only the state is shown
                    "state": "revoked" if deleted else "active",
                    "created": f"{s['CreatedDate']:%Y-%m-%d %H:%M}" if s.get("CreatedDate") else "",
                    "changed": f"{s['LastChangedDate']:%Y-%m-%d %H:%M}" if s.get("LastChangedDate") else ""})
    return sorted(rows, key=lambda r: r["name"])
