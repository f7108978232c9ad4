"""CLI commands of the ops wing; `register(main)` adds them to the kojistack command group."""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path

import click

from ..errors import UserError
from . import launch
from .session import Aws, open_session

DEFAULT_TEMPLATES = Path("templates")


def aws_options(fn=None, *, profile_flag: str = "--profile"):
    """--profile and --region, as the AWS CLI has them (AWS_PROFILE / AWS_REGION when not given).

    client-config calls the AWS one --aws-profile, because its --profile names the koji profile.
    """
    def decorate(fn):
        @click.option(profile_flag, "aws_profile", envvar="AWS_PROFILE", default=None,
                      help="AWS profile (default: AWS_PROFILE).")
        @click.option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], default=None,
                      help="AWS region (default: AWS_REGION).")
        @functools.wraps(fn)
        def wrapper(*args, aws_profile: str | None, region: str | None, **kwargs):
            return fn(*args, aws=open_session(aws_profile, region), **kwargs)
        return wrapper
    return decorate(fn) if fn else decorate


@click.command()
@click.option("--bucket", required=True, help="S3 bucket in the target region.")
@click.option("--prefix", default="kojistack", show_default=True, help="Key prefix inside the bucket.")
@click.option("--templates", "templates_dir", type=click.Path(path_type=Path), default=DEFAULT_TEMPLATES,
              show_default=True, help="Directory holding the generated templates.")
@click.option("--stack-name", default=launch.DEFAULT_STACK_NAME, show_default=True,
              help="Stack name the launch link suggests.")
@aws_options
def upload(aws: Aws, bucket: str, prefix: str, templates_dir: Path, stack_name: str) -> None:
    """Upload the templates; print their S3 URLs, launch links and a Markdown button."""
    from .upload import find_templates, upload_templates

    launch.check_stack_name(stack_name)
    for item in upload_templates(aws, bucket, prefix, find_templates(templates_dir)):
        url = launch.launch_url(item.latest_url, aws.region, stack_name)
        click.echo(f"{item.name} ({item.size:,} bytes)")
        click.echo(f"  template:  {item.versioned_url}")
        click.echo(f"  latest:    {item.latest_url}")
        click.echo(f"  launch:    {launch.launch_url(item.versioned_url, aws.region, stack_name)}")
        click.echo(f"  markdown:  {launch.markdown_button(url)}")


@click.command("launch-url")
@click.option("--template-url", required=True, help="S3 URL of an uploaded template.")
@click.option("--stack-name", default=launch.DEFAULT_STACK_NAME, show_default=True)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Pre-filled parameter, repeatable; must be one the template declares.")
@click.option("--markdown", is_flag=True, help="Print a Markdown Launch Stack button instead of the bare link.")
@aws_options
def launch_url(aws: Aws, template_url: str, stack_name: str, params: tuple[str, ...], markdown: bool) -> None:
    """Print the console quick-create link for an uploaded template."""
    from .templates import remote_parameters

    values = launch.parse_params(params)
    launch.check_stack_name(stack_name)
    if values:
        launch.check_params(values, remote_parameters(aws, template_url), template_url)
    url = launch.launch_url(template_url, aws.region, stack_name, values)
    click.echo(launch.markdown_button(url) if markdown else url)


@click.command()
@click.option("--stack-name", required=True, help="Stack to create or update.")
@click.option("--template", "template", type=click.Path(path_type=Path), default=None,
              help="Template file (default: templates/kojistack.json, or the existing-VPC one when "
                   "./kojistack.yaml says vpc: existing).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Generate the template from this kojistack.yaml and deploy it (instead of templates/).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Stack parameter, repeatable.")
@click.option("--bucket", default=None, help="S3 bucket for templates over 51,200 bytes (same region).")
@click.option("--yes", is_flag=True, help="Do not ask before replacing or deleting stateful resources.")
@click.option("--disable-rollback", is_flag=True, help="Keep failed resources for inspection (first creates).")
@click.option("--poll-seconds", type=float, default=5.0, show_default=True, hidden=True)
@aws_options
def deploy(aws: Aws, stack_name: str, template: Path | None, config_path: Path | None, params: tuple[str, ...],
           bucket: str | None, yes: bool, disable_rollback: bool, poll_seconds: float) -> None:
    """Create or update a stack through a change set, following its events; print its outputs."""
    from .deploy import DeployRequest, deploy as run_deploy, format_outputs

    with tempfile.TemporaryDirectory(prefix="kojistack-deploy-") as workdir:
        request = DeployRequest(stack_name, template_for_deploy(template, config_path, Path(workdir)),
                                launch.parse_params(params), bucket, yes, disable_rollback, poll_seconds)
        echo, status_line = live_output()
        final = run_deploy(aws, request, echo, lambda q: click.confirm(q, default=False, err=True),
                           status_line=status_line)
    click.echo(f"stack {stack_name}: {final['StackStatus']}")
    for line in format_outputs(final):
        click.echo(f"  {line}")


def live_output():
    """(echo, status_line): on a terminal a transient last line says what is still in progress."""
    import sys

    if not sys.stdout.isatty():
        return click.echo, None
    width = 100

    def echo(text: str) -> None:
        click.echo("\r" + " " * width + "\r" + text)

    def status_line(text: str) -> None:
        click.echo("\r" + text[:width].ljust(width), nl=False)

    return echo, status_line


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
    local = Path("kojistack.yaml")
    variant = load_config(local).vpc if local.exists() else "new"
    return DEFAULT_TEMPLATES / ("kojistack-existing-vpc.json" if variant == "existing" else "kojistack.json")


@click.command("client-config")
@click.option("--stack", required=True, help="Stack name.")
@click.option("--profile", "koji_profile", default=None, help="koji profile to write (default: the stack name).")
@click.option("--user", default=None, help="Write the profile of a user made by `kojistack user add` "
                                          "instead of the admin.")
@click.option("--force", is_flag=True, help="Replace an existing profile of that name.")
@aws_options(profile_flag="--aws-profile")
def client_config(aws: Aws, stack: str, koji_profile: str | None, user: str | None, force: bool) -> None:
    """Write a koji client profile (certs 0600), a PKCS#12 for the browser and the stack CA."""
    from .clientconfig import client_config as write_profile

    profile = koji_profile or stack
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", profile):
        raise UserError(f"--profile {profile!r}: use letters, digits, '.', '_' and '-'")
    written = write_profile(aws, stack, profile, user, force)
    for path in sorted(written.files):
        click.echo(f"wrote {path}")
    if written.p12:
        click.echo(f"browser: import {written.p12} (password in {written.p12}.password) "
                   f"and trust the CA {written.ca}")
    click.echo(f"try it:  koji -p {profile} moshimoshi")


@click.group()
def user() -> None:
    """Koji users with client certificates, minted and revoked on the hub."""


@user.command("add")
@click.argument("name")
@click.option("--stack", required=True, help="Stack name.")
@click.option("--perm", "perms", multiple=True, help="koji permission to grant, repeatable (e.g. build, repo).")
@aws_options
def user_add(aws: Aws, name: str, stack: str, perms: tuple[str, ...]) -> None:
    """Mint a certificate + PKCS#12 for NAME into a per-user secret and grant permissions."""
    from .users import check_user, fetch_hint, run_on_hub

    check_user(name, perms)
    output = run_on_hub(aws, stack, ["add", name, *perms]).rstrip()
    if output:
        click.echo(output)
    for line in fetch_hint(aws, stack, name):
        click.echo(line)


@user.command("revoke")
@click.argument("name")
@click.option("--stack", required=True, help="Stack name.")
@aws_options
def user_revoke(aws: Aws, name: str, stack: str) -> None:
    """Revoke NAME's certificates (CRL checked by httpd) and disable the koji user."""
    from .users import check_user, run_on_hub

    check_user(name)
    output = run_on_hub(aws, stack, ["revoke", name]).rstrip()
    click.echo(output or f"revoked {name} on the hub")


@click.command()
@click.option("--stack", required=True, help="Stack name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@aws_options
def status(aws: Aws, stack: str, as_json: bool) -> None:
    """Stack state, hub health, builders per arch, queue depth, unservable work, launch failures."""
    import json

    from .status import gather, render

    found = gather(aws, stack)
    click.echo(json.dumps(found, indent=2, sort_keys=True) if as_json else "\n".join(render(found)))


@click.command()
@click.option("--stack", required=True, help="Stack name.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--skip-drain", is_flag=True, help="Do not wait for running builds to finish.")
@click.option("--drain-timeout", type=float, default=3600, show_default=True, help="Seconds to wait for draining.")
@click.option("--poll-seconds", type=float, default=10.0, show_default=True, hidden=True)
@aws_options
def delete(aws: Aws, stack: str, yes: bool, skip_drain: bool, drain_timeout: float, poll_seconds: float) -> None:
    """Drain the builders, then delete the stack after listing what is retained and its cost."""
    from .delete import delete as run_delete

    echo, status_line = live_output()
    run_delete(aws, stack, echo, lambda q: click.confirm(q, default=False, err=True), yes, skip_drain,
               drain_timeout, poll_seconds, status_line=status_line)


@click.command()
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("docs/architecture.png"),
              show_default=True, help="Output file; the PNG and the SVG are both written (same stem).")
@click.option("--template", type=click.Path(path_type=Path), default=DEFAULT_TEMPLATES / "kojistack.json",
              show_default=True, help="Generated template to draw.")
def diagram(out: Path, template: Path) -> None:
    """Draw the architecture (PNG + SVG) from the template's resources and references, by network tier."""
    from .diagram import draw_file

    for path in draw_file(template, out):
        click.echo(f"wrote {path}")


COMMANDS = [upload, launch_url, deploy, client_config, user, status, delete, diagram]


def register(main: click.Group) -> None:
    """Add the ops commands to `main`."""
    for command in COMMANDS:
        main.add_command(command)
