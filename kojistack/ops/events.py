"""Following a stack operation: new stack events as they happen, with a progress count, until it settles.

Also the failure report: the first failed resources with their reasons, and the hub's bootstrap failure
records from `/kojistack/<stack>/<uuid>/bootstrap/<instance-id>` (JSON {step, exit_code, log_tail}).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import stackinfo
from .session import Aws, aws_errors

Echo = Callable[[str], None]
SUCCESS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
_CANCELLED = ("Resource creation cancelled", "Resource update cancelled")
QUIET_EVERY = 60.0  # without a terminal's status line: say what is still running after this many quiet seconds


def settled(status: str) -> bool:
    """True when a stack status is final (no operation in progress)."""
    return not status.endswith("_IN_PROGRESS")


@dataclass
class EventFollower:
    """Prints each new event of a stack once, oldest first, with `[done/total]` and elapsed time."""

    aws: Aws
    stack_id: str
    echo: Echo
    total: int = 0
    status_line: Echo | None = None  # on a terminal: a one-line "still waiting for ..." between events
    seen: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    running: dict[str, str] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)
    said: float | None = None  # when the last line was printed (None: not yet)

    def mark_seen(self) -> None:
        """Remember the events already there, so only events of the coming operation are printed."""
        self.seen.update(e["EventId"] for e in self._newest())

    def _newest(self) -> list[dict[str, Any]]:
        cfn = self.aws.client("cloudformation")
        fresh: list[dict[str, Any]] = []
        with aws_errors(f"reading the events of stack {self.stack_id}"):
            for page in cfn.get_paginator("describe_stack_events").paginate(StackName=self.stack_id):
                for event in page["StackEvents"]:
                    if event["EventId"] in self.seen:
                        return fresh
                    fresh.append(event)
        return fresh

    def poll(self) -> list[dict[str, Any]]:
        """Print the events that arrived since the last poll; return them oldest first."""
        fresh = list(reversed(self._newest()))
        for event in fresh:
            self.seen.add(event["EventId"])
            status = event.get("ResourceStatus", "")
            name = event["LogicalResourceId"]
            if event.get("ResourceType") != "AWS::CloudFormation::Stack":
                if status.endswith("_COMPLETE"):
                    self.done.add(name)
                if status.endswith("_IN_PROGRESS"):
                    self.running[name] = status
                else:
                    self.running.pop(name, None)
            self.echo(self.format(event))
        now = self.clock()
        if fresh or self.said is None:
            self.said = now
        if self.status_line:
            self.status_line(self.waiting())
        elif now - self.said >= QUIET_EVERY:  # a log or a pipe: a plain line now and then
            self.echo(f"  {self.waiting()}")
            self.said = now
        return fresh

    def waiting(self) -> str:
        """`mm:ss waiting for A, B (+3 more)`: what is still in progress."""
        elapsed = int(self.clock() - self.started)
        names = sorted(self.running)
        more = f" (+{len(names) - 3} more)" if len(names) > 3 else ""
        what = ", ".join(names[:3]) + more if names else "CloudFormation"
        return f"{elapsed // 60:02d}:{elapsed % 60:02d} waiting for {what}"

    def format(self, event: dict[str, Any]) -> str:
        elapsed = int(self.clock() - self.started)
        count = f"[{len(self.done):>3}/{self.total}] " if self.total else ""
        reason = event.get("ResourceStatusReason") or ""
        line = (f"{count}{elapsed // 60:02d}:{elapsed % 60:02d} {event['LogicalResourceId']:<32} "
                f"{event.get('ResourceStatus', ''):<20} {event.get('ResourceType', '')}")
        return f"{line}  {reason}".rstrip()


def stack_status(aws: Aws, stack_id: str) -> dict[str, Any]:
    """The stack's description (status, outputs, ...)."""
    with aws_errors(f"reading stack {stack_id}"):
        return aws.client("cloudformation").describe_stacks(StackName=stack_id)["Stacks"][0]


def follow(aws: Aws, follower: EventFollower, poll_seconds: float,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Print events until the stack settles; return its final description."""
    while True:
        follower.poll()
        stack = stack_status(aws, follower.stack_id)
        if settled(stack["StackStatus"]):
            follower.poll()
            return stack
        sleep(poll_seconds)


def failed_events(aws: Aws, stack_id: str, limit: int = 5) -> list[dict[str, Any]]:
    """The first resources that failed in the latest operation, oldest first, without the knock-on cancels."""
    with aws_errors(f"reading the events of stack {stack_id}"):
        events = []
        for page in aws.client("cloudformation").get_paginator("describe_stack_events").paginate(StackName=stack_id):
            events.extend(page["StackEvents"])
    failed = [e for e in reversed(events) if e.get("ResourceStatus", "").endswith("_FAILED")
              and e.get("ResourceType") != "AWS::CloudFormation::Stack"
              and not (e.get("ResourceStatusReason") or "").startswith(_CANCELLED)]
    return failed[:limit]


def bootstrap_records(aws: Aws, stack_name: str, stack_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The hub's failure records: (instance id, {step, exit_code, log_tail}) for each instance that wrote one."""
    prefix = stackinfo.ssm_prefix(stack_name, stack_id) + "/bootstrap/"
    records = []
    with aws_errors(f"reading the bootstrap failure records under {prefix}"):
        paginator = aws.client("ssm").get_paginator("get_parameters_by_path")
        for page in paginator.paginate(Path=prefix, Recursive=True, WithDecryption=True):
            for param in page["Parameters"]:
                try:
                    record = json.loads(param["Value"])
                except json.JSONDecodeError:
                    record = {"log_tail": param["Value"]}
                records.append((param["Name"][len(prefix):], record))
    return sorted(records)


def report_failure(aws: Aws, stack_name: str, stack_id: str, echo: Echo) -> None:
    """Print the failed resources and the bootstrap failure records of a stack."""
    failed = failed_events(aws, stack_id)
    if failed:
        echo("first failed resources:")
        for event in failed:
            echo(f"  {event['LogicalResourceId']} ({event.get('ResourceType', '')}): "
                 f"{event.get('ResourceStatus')}: {event.get('ResourceStatusReason') or 'no reason given'}")
    for instance, record in bootstrap_records(aws, stack_name, stack_id):
        echo(f"hub bootstrap failed on {instance}: step {record.get('step', '?')}, "
             f"exit code {record.get('exit_code', '?')}")
        for line in str(record.get("log_tail", "")).splitlines():
            echo(f"  | {line}")
