"""Drills and credential rotation: chaos, rotate-admin-cert.

`chaos` terminates one instance of a stack and times its recovery (kojistack.ops.chaos);
`rotate-admin-cert` has the hub mint a new admin certificate (kojistack.ops.rotate).
"""

from __future__ import annotations

import random
import time

import click

from .. import ids
from ..errors import OperationError, UserError
from ..ops import chaos as chaos_ops
from ..ops.session import Aws, aws_errors
from .options import aws_options, stack_name_option


def _groups(aws: Aws) -> chaos_ops.Groups:
    from ..controller.awsport import AutoScaling  # the controller's own Auto Scaling reads

    return AutoScaling(aws.client("autoscaling"))


@click.command()
@stack_name_option
@click.option("--target", type=click.Choice(chaos_ops.TARGETS), default="random", show_default=True,
              help="What to terminate: the hub, a builder, or any instance of the stack.")
@click.option("--dry-run", is_flag=True, help="Show what would be terminated; terminate nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before terminating.")
@click.option("--timeout-minutes", type=click.IntRange(1, 180), default=45, show_default=True,
              help="Minutes to wait for recovery before reporting failure.")
@click.option("--koji-profile", default=None,
              help="koji profile (from `kojistack client-config`) to also watch the lost builder's tasks.")
@aws_options
def chaos(aws: Aws, stack: str, target: str, dry_run: bool, yes: bool, timeout_minutes: int,
          koji_profile: str | None) -> None:
    """Terminate one instance of the stack, then watch and time its recovery."""
    groups, ec2, elbv2 = _groups(aws), aws.client("ec2"), aws.client("elbv2")
    with aws_errors(f"reading the instances of stack {stack}"):
        victims = chaos_ops.find_victims(groups, ec2, stack)
    victim = chaos_ops.pick(victims, target, random.Random())
    click.echo(f"stack {stack}: {len(victims)} InService instance(s); chosen: {victim.describe()}")
    if dry_run:
        click.echo("dry run: nothing terminated")
        return
    if not yes:
        if not click.confirm(f"Terminate {victim.instance_id} ({victim.role}) now?", default=False, err=True):
            raise UserError(f"chaos cancelled; nothing was terminated in stack {stack}")
    koji = chaos_ops.koji_from_profile(koji_profile) if koji_profile and victim.role == "builder" else None
    with aws_errors(f"terminating {victim.instance_id} and watching stack {stack}"):
        report = chaos_ops.run(groups, ec2, elbv2, victim, koji, clock=time.monotonic, sleep=time.sleep,
                               timeout=timeout_minutes * 60, echo=click.echo)
    for line in report.lines()[1:]:
        click.echo(line)
    if not report.recovered:
        waiting = [s.name for s in report.steps if s.done_after is None]
        raise OperationError(f"stack {stack} did not recover within {timeout_minutes} minutes: still waiting "
                             f"for {', '.join(waiting)} (docs/operations.md lists what to look at)")


@click.command("rotate-admin-cert")
@stack_name_option
@aws_options
def rotate_admin_cert(aws: Aws, stack: str) -> None:
    """Have the hub mint a new koji admin certificate (the old one is revoked)."""
    from ..ops import stackinfo, users
    from ..ops.rotate import rotate

    secret = stackinfo.require_outputs(stackinfo.describe(aws, stack), ids.OUT_ADMIN_SECRET)[ids.OUT_ADMIN_SECRET]
    old, new = rotate(aws, stack, secret, users.run_on_hub)
    click.echo(f"old: {old.line()} (revoked)")
    click.echo(f"new: {new.line()}")
    click.echo(f"refresh your koji profile: kojistack client-config --stack-name {stack} --region {aws.region} --force")

