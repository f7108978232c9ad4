"""Commands that publish templates for others to launch: upload, launch-url."""

from __future__ import annotations

from pathlib import Path

import click

from ..ops import launch
from ..ops.session import Aws
from .options import DEFAULT_TEMPLATES, aws_options


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
    from ..ops.upload import find_templates, upload_templates

    from ..ops.templates import refuse_stale

    launch.check_stack_name(stack_name)
    files = find_templates(templates_dir)
    refuse_stale(files, templates_dir.parent / "kojistack.yaml", "uploading them", "")
    for item in upload_templates(aws, bucket, prefix, files):
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
    from ..ops.templates import remote_parameters

    values = launch.parse_params(params)
    launch.check_stack_name(stack_name)
    if values:
        launch.check_params(values, remote_parameters(aws, template_url), template_url)
    url = launch.launch_url(template_url, aws.region, stack_name, values)
    click.echo(launch.markdown_button(url) if markdown else url)
