"""`kojistack logs`: read the hub's and builders' logs that kojistack-logship ships to the stack's
CloudWatch Logs groups (/kojistack/<stack>/hub and /builders; streams <instance-id>/<source>)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator

import botocore.exceptions

from .. import names
from ..errors import UserError
from .session import Aws, aws_errors, error_code

ROLES = {"hub": names.HUB_LOG_GROUP_NAME, "builders": names.BUILDER_LOG_GROUP_NAME}
_SINCE = re.compile(r"^([0-9]{1,5})([mhd])$")
_UNIT = {"m": 60, "h": 3600, "d": 86400}


def group_name(stack: str, role: str) -> str:
    return ROLES[role].replace("${AWS::StackName}", stack)


def parse_since(text: str) -> dt.timedelta:
    """'30m', '2h', '7d' -> a timedelta; UserError otherwise."""
    found = _SINCE.match(text.strip())
    if not found:
        raise UserError(f"--since {text!r}: use a number and m, h or d, like 30m, 2h or 7d")
    return dt.timedelta(seconds=int(found.group(1)) * _UNIT[found.group(2)])


def read(aws: Aws, stack: str, roles: list[str], since: dt.timedelta, pattern: str | None = None,
         instance: str | None = None, limit: int = 1000,
         now: dt.datetime | None = None) -> Iterator[tuple[dt.datetime, str, str, str]]:
    """(time, role, stream, message) of up to `limit` events per role, oldest first within each role."""
    now = now or dt.datetime.now(dt.UTC)
    logs = aws.client("logs")
    for role in roles:
        group = group_name(stack, role)
        kwargs = {"logGroupName": group, "startTime": int((now - since).timestamp() * 1000),
                  "endTime": int(now.timestamp() * 1000)}
        if pattern:
            kwargs["filterPattern"] = '"' + pattern.replace('"', '\\"') + '"'  # a literal term
        if instance:
            kwargs["logStreamNamePrefix"] = instance + "/"
        count = 0
        while count < limit:
            with aws_errors(f"reading log group {group}"):
                try:
                    page = logs.filter_log_events(**kwargs, limit=min(10000, limit - count))
                except botocore.exceptions.ClientError as err:
                    if error_code(err) == "ResourceNotFoundException":
                        raise UserError(f"there is no log group {group} in {aws.region}: is {stack} a "
                                        "kojistack stack with logs (`kojistack status`)?") from None
                    raise
            for event in page.get("events", []):
                if instance and not event.get("logStreamName", "").startswith(instance + "/"):
                    continue  # the API filters by logStreamNamePrefix; moto 5.2 ignores it, so check here too
                when = dt.datetime.fromtimestamp(event["timestamp"] / 1000, dt.UTC)
                yield when, role, event.get("logStreamName", ""), event["message"].rstrip("\n")
                count += 1
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]


def follow(aws: Aws, stack: str, roles: list[str], since: dt.timedelta, pattern: str | None = None,
           instance: str | None = None, poll_seconds: float = 5.0, rounds: int | None = None,
           sleep: Callable[[float], None] = time.sleep,
           now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
           ) -> Iterator[tuple[dt.datetime, str, str, str]]:
    """Like `read`, then keep polling for new lines (each printed once) until interrupted or `rounds` ran.
    A shipper sends a line up to a few seconds after it was written, so each poll looks back a minute."""
    seen: set[tuple[str, str, int, str]] = set()
    window, count = since, 0
    while rounds is None or count < rounds:
        fresh = []
        for when, role, stream, message in read(aws, stack, roles, window, pattern, instance, limit=10000,
                                                now=now()):
            key = (role, stream, int(when.timestamp() * 1000), message)
            if key not in seen:
                seen.add(key)
                fresh.append((when, role, stream, message))
        yield from sorted(fresh)
        count += 1
        if rounds is not None and count >= rounds:
            return
        sleep(poll_seconds)
        window = dt.timedelta(seconds=poll_seconds + 60)
