"""Commands on a stack's life: deploy, status, urls, logs, delete."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from ..errors import UserError
from ..ops import launch
from ..ops.session import Aws
from .options import DEFAULT_TEMPLATES, aws_options, live_output, stack_name_option


@click.command()
@click.option("--stack-name", required=True, help="Stack to create or update.")
@click.option("--template", "template", type=click.Path(path_type=Path), default=None,
              help="Template file (default: templates/kojistack.json, or the existing-VPC one when "
                   "./kojistack.yaml says vpc: existing).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Generate the template from this kojistack.yaml and deploy it (instead of templates/).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Stack parameter, repeatable (wins over --param-file).")
@click.option("--param-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Parameters from a file: the AWS CLI's JSON list ([{\"ParameterKey\": ..., "
                   "\"ParameterValue\": ...}]) or Key=Value lines.")
@click.option("--bucket", default=None, help="S3 bucket for templates over 51,200 bytes (same region).")
@click.option("--yes", is_flag=True, help="Do not ask before replacing or deleting stateful resources.")
@click.option("--disable-rollback", is_flag=True, help="Keep failed resources for inspection (first creates).")
@click.option("--poll-seconds", type=float, default=5.0, show_default=True, hidden=True)
@aws_options
def deploy(aws: Aws, stack_name: str, template: Path | None, config_path: Path | None, params: tuple[str, ...],
           param_file: Path | None, bucket: str | None, yes: bool, disable_rollback: bool,
           poll_seconds: float) -> None:
    """Create or update a stack through a change set, following its events; print its outputs.

    Every parameter is checked against the template's constraints and Rules before any AWS call."""
    from ..ops.deploy import DeployRequest, format_outputs
    from ..ops.deploy import deploy as run_deploy

    values = {**(launch.read_param_file(param_file) if param_file else {}), **launch.parse_params(params)}
    with tempfile.TemporaryDirectory(prefix="kojistack-deploy-") as workdir:
        request = DeployRequest(stack_name, template_for_deploy(template, config_path, Path(workdir)),
                                values, bucket, yes, disable_rollback, poll_seconds)
        echo, status_line = live_output()
        final = run_deploy(aws, request, echo, lambda q: click.confirm(q, default=False, err=True),
                           status_line=status_line)
    click.echo(f"stack {stack_name}: {final['StackStatus']}")
    for line in format_outputs(final):
        click.echo(f"  {line}")


def template_for_deploy(template: Path | None, config_path: Path | None, workdir: Path) -> Path:
    """--template as given; with --config, the template generated from that config (into `workdir`);
    otherwise the committed templates/kojistack.json, or the existing-VPC one when ./kojistack.yaml
    says `vpc: existing`."""
    from ..config import load_config

    if template is not None:
        if config_path is not None:
            raise UserError("pass either --template or --config, not both")
        return template
    if config_path is not None:
        from ..template.compose import FILENAMES, render_all

        cfg = load_config(config_path)
        variant = "existing" if cfg.vpc == "existing" else "new"
        out = workdir / FILENAMES[variant]
        out.write_text(render_all(cfg)[FILENAMES[variant]])
        return out
    from ..ops.templates import refuse_stale
    from .options import local_config

    local = local_config()
    variant = load_config(local).vpc if local else "new"
    chosen = DEFAULT_TEMPLATES / ("kojistack-existing-vpc.json" if variant == "existing" else "kojistack.json")
    if chosen.exists() and local:
        refuse_stale([chosen], local, "deploying it", ", or pass --template to deploy that file as it is")
    return chosen


@click.command()
@stack_name_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@aws_options
def status(aws: Aws, stack: str, as_json: bool) -> None:
    """Stack state, hub health, builders per arch, queue depth, unservable work, launch failures."""
    import json

    from ..ops.status import gather, render

    found = gather(aws, stack)
    click.echo(json.dumps(found, indent=2, sort_keys=True) if as_json else "\n".join(render(found)))


@click.command()
@stack_name_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@aws_options
def urls(aws: Aws, stack: str, as_json: bool) -> None:
    """Web UI, hub and files URLs; for a custom domain, the DNS record (CNAME) to create."""
    import json

    from ..ops import stackinfo
    from ..ops.urls import render
    from ..ops.urls import urls as stack_urls

    found = stack_urls(stackinfo.describe(aws, stack))
    click.echo(json.dumps(found, indent=2, sort_keys=True) if as_json else "\n".join(render(found)))


@click.command()
@stack_name_option
@click.option("--role", type=click.Choice(["hub", "builders", "all"]), default="all", show_default=True,
              help="Whose logs: the hub's, the builders' or both.")
@click.option("--since", default="1h", show_default=True, help="How far back: like 30m, 2h or 7d.")
@click.option("--filter", "pattern", default=None, help="Only lines containing this text.")
@click.option("--instance", default=None, help="Only this instance (i-...).")
@click.option("--limit", type=click.IntRange(1, 100000), default=1000, show_default=True,
              help="At most this many lines per role.")
@click.option("--follow", is_flag=True, help="Keep printing new lines as they arrive (Ctrl-C stops).")
@click.option("--poll-seconds", type=float, default=5.0, show_default=True, hidden=True)
@click.option("--rounds", type=int, default=None, hidden=True)
@aws_options
def logs(aws: Aws, stack: str, role: str, since: str, pattern: str | None, instance: str | None,
         limit: int, follow: bool, poll_seconds: float, rounds: int | None) -> None:
    """Print the hub's and builders' logs (journal, kojid, kojira, httpd) from CloudWatch Logs."""
    from ..ops import stackinfo
    from ..ops.logs import follow as follow_logs
    from ..ops.logs import parse_since, read

    window = parse_since(since)
    stackinfo.describe(aws, stack)
    roles = ["hub", "builders"] if role == "all" else [role]
    lines = (follow_logs(aws, stack, roles, window, pattern, instance, poll_seconds, rounds) if follow
             else read(aws, stack, roles, window, pattern, instance, limit))
    shown = 0
    try:
        for when, who, stream, message in lines:
            click.echo(f"{when:%Y-%m-%d %H:%M:%S} {who} {stream} {message}")
            shown += 1
    except KeyboardInterrupt:
        return
    if not shown:
        click.echo(f"no log lines in the last {since} ({', '.join(roles)})", err=True)


@click.command()
@stack_name_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--skip-drain", is_flag=True, help="Do not wait for running builds to finish.")
@click.option("--drain-timeout-minutes", type=click.FloatRange(min=0), default=60, show_default=True,
              help="Minutes to wait for running builds to finish.")
@click.option("--poll-seconds", type=float, default=10.0, show_default=True, hidden=True)
@aws_options
def delete(aws: Aws, stack: str, yes: bool, skip_drain: bool, drain_timeout_minutes: float,
           poll_seconds: float) -> None:
    """Drain the builders, then delete the stack after listing what is retained and its cost."""
    from ..ops.delete import delete as run_delete

    echo, status_line = live_output()
    run_delete(aws, stack, echo, lambda q: click.confirm(q, default=False, err=True), yes, skip_drain,
               drain_timeout_minutes * 60, poll_seconds, status_line=status_line)
