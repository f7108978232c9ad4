"""Commands that publish templates for others to launch: upload, launch-url."""

from __future__ import annotations

from pathlib import Path

import click

from ..ops import launch
from ..ops.session import Aws
from .options import DEFAULT_TEMPLATES, aws_options, lazy_aws_options


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
    from ..ops.templates import refuse_stale
    from ..ops.upload import find_templates, upload_templates

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
@click.option("--template-url", required=True,
              help="HTTPS URL of a template in S3 (yours or a release's: docs/launch.md).")
@click.option("--stack-name", default=launch.DEFAULT_STACK_NAME, show_default=True)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Pre-filled parameter, repeatable; must be one the template declares, with a value its "
                   "constraints allow (both read from S3).")
@click.option("--markdown", is_flag=True, help="Print a Markdown Launch Stack button instead of the bare link.")
@lazy_aws_options
def launch_url(region: str | None, open_aws, template_url: str, stack_name: str, params: tuple[str, ...],
               markdown: bool) -> None:
    """Print the console quick-create link for a template hosted in S3.

    The link opens the console in the template's own region (from its URL; --region when the URL does
    not say). No AWS credentials are needed unless --param is given (the template is read to check it)."""
    from ..errors import UserError
    from ..ops import paramcheck
    from ..ops.templates import remote_parameters, remote_template

    values = launch.parse_params(params)
    launch.check_stack_name(stack_name)
    url_region = launch.region_of_url(template_url)
    if url_region and region and url_region != region:
        raise UserError(f"--template-url is in {url_region} but --region is {region}: the console opens the "
                        f"stack in the template's region; drop --region or use a template in {region}")
    if values:
        aws = open_aws(url_region)
        launch.check_params(values, remote_parameters(aws, template_url), template_url)
        template = remote_template(aws, template_url)
        if template is not None:  # the values against the template's constraints, as the console would
            paramcheck.check(template, values, template_url)
        region = region or aws.region
    region = url_region or region
    if not region:
        raise UserError(f"--template-url {template_url} does not name a region (not an S3 URL like "
                        "https://BUCKET.s3.REGION.amazonaws.com/KEY): pass --region")
    url = launch.launch_url(template_url, region, stack_name, values)
    click.echo(launch.markdown_button(url) if markdown else url)
