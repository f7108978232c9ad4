"""`kojistack chaos`: terminate one instance of a stack, then watch it recover and time it.

Adds the drill behind docs/operations.md's failure-mode table: the hub (one per stack) must come
back healthy in both target groups; a builder must be replaced by its group; koji tasks that were
OPEN on the lost builder must leave it (the controller frees them). The instance is terminated
through EC2, as a crash or a spot reclaim would, not through Auto Scaling, so recovery is the
stack's own work. Ports are passed in, so the tests put moto and the fakes behind them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import names
from ..errors import OperationError, UserError
from . import stackinfo

TARGETS = ("hub", "builder", "random")
ARCHES = ("x86_64", "aarch64")
TASK_OPEN = 1  # koji.TASK_STATES["OPEN"]


class Groups(Protocol):
    """The Auto Scaling reads chaos needs (kojistack.controller.awsport.AutoScaling has it)."""

    def describe_groups(self, names: Sequence[str]) -> list[dict[str, Any]]: ...


class KojiTasks(Protocol):
    """Open koji tasks on a host (by host name); None when koji does not know the host."""

    def open_tasks(self, host: str) -> list[int] | None: ...


@dataclass(frozen=True)
class Victim:
    instance_id: str
    role: str  # "hub" or "builder"
    group: str
    zone: str
    slot: str = ""  # koji host name of a builder (tag names.TAG_SLOT), "" if not registered yet

    def describe(self) -> str:
        where = f"{self.role} {self.instance_id} in {self.group} ({self.zone})"
        return where + (f", koji host {self.slot}" if self.slot else "")


@dataclass
class Step:
    """One recovery condition and when it was first seen true (seconds after the termination)."""

    name: str
    check: Callable[[], tuple[bool, str]]
    done_after: float | None = None
    last: str = ""


@dataclass
class Report:
    victim: Victim
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def recovered(self) -> bool:
        return all(s.done_after is not None for s in self.steps)

    def lines(self) -> list[str]:
        out = [f"terminated {self.victim.describe()}"]
        for s in self.steps:
            when = f"after {_fmt(s.done_after)}" if s.done_after is not None else "NOT recovered"
            out.append(f"  {s.name}: {when} ({s.last})")
        verdict = "recovered" if self.recovered else "did not recover"
        out.append(f"{verdict} in {_fmt(self.seconds)}")
        return out


def _fmt(seconds: float | None) -> str:
    s = int(round(seconds or 0))
    return f"{s // 60}m{s % 60:02d}s"


def group_names(stack: str) -> dict[str, str]:
    """{group name: role} for the hub and every possible builder group of `stack`."""
    names = {stackinfo.hub_group_name(stack): "hub"}
    names.update({stackinfo.builder_group_name(stack, a): "builder" for a in ARCHES})
    return names


def find_victims(groups: Groups, ec2: Any, stack: str) -> list[Victim]:
    """Every InService instance of the stack's groups; UserError when the stack has no hub group."""
    names = group_names(stack)
    found = groups.describe_groups(list(names))
    if not any(names.get(g["AutoScalingGroupName"]) == "hub" for g in found):
        raise UserError(f"--stack-name {stack}: there is no hub group {stackinfo.hub_group_name(stack)} in this "
                        "region: is it a kojistack stack, and is --region right?")
    rows = [(i, g["AutoScalingGroupName"]) for g in found for i in g.get("Instances", [])
            if i.get("LifecycleState") == "InService"]
    slots = _slots(ec2, [i["InstanceId"] for i, _ in rows])
    return sorted((Victim(i["InstanceId"], names[g], g, i.get("AvailabilityZone", "?"), slots.get(i["InstanceId"], ""))
                   for i, g in rows), key=lambda v: (v.role != "hub", v.group, v.instance_id))


def _slots(ec2: Any, instance_ids: list[str]) -> dict[str, str]:
    if not instance_ids:
        return {}
    out = {}
    for page in ec2.get_paginator("describe_instances").paginate(InstanceIds=instance_ids):
        for res in page["Reservations"]:
            for inst in res["Instances"]:
                tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
                if names.TAG_SLOT in tags:
                    out[inst["InstanceId"]] = tags[names.TAG_SLOT]
    return out


def pick(victims: list[Victim], target: str, rng: random.Random) -> Victim:
    """The instance to terminate; UserError for an unknown target, OperationError when none runs."""
    if target not in TARGETS:
        raise UserError(f"--target {target!r} is not allowed; use one of {', '.join(TARGETS)}")
    pool = victims if target == "random" else [v for v in victims if v.role == target]
    if not pool:
        hint = ("no builder is running (the controller scales builders from zero: queue a build first)"
                if target == "builder" else "no InService hub instance: the stack is not healthy now")
        raise OperationError(f"nothing to terminate for --target {target}: {hint}")
    return rng.choice(pool)


def hub_step(groups: Groups, elbv2: Any, victim: Victim) -> Step:
    """The hub group has a new InService instance, healthy in every target group of the group."""

    def check() -> tuple[bool, str]:
        (g,) = groups.describe_groups([victim.group]) or [{}]
        new = [i["InstanceId"] for i in g.get("Instances", [])
               if i["InstanceId"] != victim.instance_id and i.get("LifecycleState") == "InService"]
        if not new:
            return False, "no replacement InService yet"
        arns = g.get("TargetGroupARNs", [])
        healthy = []
        for arn in arns:
            rows = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
            states = [r["TargetHealth"]["State"] for r in rows if r["Target"]["Id"] == new[0]]
            healthy.append(states == ["healthy"])
        if not all(healthy) or not arns:
            return False, f"{new[0]} healthy in {sum(healthy)}/{len(arns)} target groups"
        return True, f"{new[0]} healthy in {len(arns)}/{len(arns)} target groups"

    return Step("hub healthy in its target groups", check)


def builder_step(groups: Groups, victim: Victim, before: set[str]) -> Step:
    """The lost builder is out of service and the group is back at its desired capacity (the
    controller may lower it meanwhile when the queue is empty: that counts as recovered too)."""

    def check() -> tuple[bool, str]:
        (g,) = groups.describe_groups([victim.group]) or [{}]
        now = {i["InstanceId"] for i in g.get("Instances", []) if i.get("LifecycleState") == "InService"}
        desired = int(g.get("DesiredCapacity", len(before)))
        new = sorted(now - before)
        ok = victim.instance_id not in now and len(now) >= desired
        return ok, f"{len(now)}/{desired} InService" + (f", new {', '.join(new)}" if new else "")

    return Step("builder replaced", check)


def tasks_step(koji: KojiTasks, victim: Victim) -> Step:
    """No OPEN koji task is left on the lost builder's host (the controller freed them)."""

    def check() -> tuple[bool, str]:
        left = koji.open_tasks(victim.slot)
        if left is None:
            return True, f"koji has no host {victim.slot}"
        return not left, f"{len(left)} open task(s) on {victim.slot}" + (f": {left}" if left else "")

    return Step("tasks rescheduled", check)


PROGRESS_EVERY = 60.0  # seconds between "still waiting" lines when nothing changes


def watch(report: Report, clock: Callable[[], float], sleep: Callable[[float], None], start: float,
          timeout: float, poll: float, echo: Callable[[str], None]) -> Report:
    """Poll every step until all are done or `timeout` seconds pass since `start`. Says what it is
    still waiting for whenever that changes, and at least every PROGRESS_EVERY seconds."""
    said, said_at = "", 0.0
    while True:
        now = clock() - start
        for s in report.steps:
            if s.done_after is None:
                ok, s.last = s.check()
                if ok:
                    s.done_after = now
                    echo(f"  {s.name}: after {_fmt(now)} ({s.last})")
        report.seconds = now
        if report.recovered or now >= timeout:
            return report
        waiting = "; ".join(f"{s.name}: {s.last}" for s in report.steps if s.done_after is None)
        if waiting != said or now - said_at >= PROGRESS_EVERY:
            echo(f"  {_fmt(now)} still waiting ({_fmt(timeout - now)} left): {waiting}")
            said, said_at = waiting, now
        sleep(poll)


def run(groups: Groups, ec2: Any, elbv2: Any, victim: Victim, koji: KojiTasks | None, *,
        clock: Callable[[], float], sleep: Callable[[float], None], timeout: float = 2700, poll: float = 15,
        echo: Callable[[str], None] = print) -> Report:
    """Terminate `victim` through EC2 and watch the recovery steps that apply to it."""
    (g,) = groups.describe_groups([victim.group])
    before = {i["InstanceId"] for i in g.get("Instances", []) if i.get("LifecycleState") == "InService"}
    report = Report(victim)
    if victim.role == "hub":
        report.steps.append(hub_step(groups, elbv2, victim))
    else:
        report.steps.append(builder_step(groups, victim, before))
        if koji is not None and victim.slot:
            report.steps.append(tasks_step(koji, victim))
    start = clock()
    ec2.terminate_instances(InstanceIds=[victim.instance_id])
    echo(f"terminated {victim.describe()}; watching (timeout {_fmt(timeout)})")
    return watch(report, clock, sleep, start, timeout, poll, echo)


class KojiSessionTasks:
    """KojiTasks over a logged-in koji ClientSession (getHost, listTasks)."""

    def __init__(self, session: Any):
        self.session = session

    def open_tasks(self, host: str) -> list[int] | None:
        info = self.session.getHost(host)
        if not info:
            return None
        rows = self.session.listTasks(opts={"host_id": info["id"], "state": [TASK_OPEN]})
        return sorted(int(t["id"]) for t in rows)


def koji_from_profile(profile: str) -> KojiSessionTasks:
    """A koji session from a `koji` profile (as `kojistack client-config` writes it), logged in by cert."""
    import koji

    try:
        opts = koji.read_config(profile)
    except koji.ConfigurationError as err:
        raise UserError(f"--koji-profile {profile}: {err} (write one with `kojistack client-config`)") from None
    session = koji.ClientSession(opts["server"], opts={k: opts[k] for k in ("serverca",) if opts.get(k)})
    try:
        session.ssl_login(opts["cert"], None, opts.get("serverca"))
    except Exception as err:  # noqa: BLE001 - koji raises many kinds; the message is what matters
        raise OperationError(f"cannot log in to koji with profile {profile}: {err}") from None
    return KojiSessionTasks(session)
