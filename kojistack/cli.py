"""The kojistack command line: generate, lint, check here; each wing registers its own commands."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import __version__
from .errors import OperationError, UserError

DEFAULT_OUT = Path("templates")


class KojistackGroup(click.Group):
    """Turns UserError into a one-line message and exit status 2, OperationError into exit 1."""

    def invoke(self, ctx: click.Context):  # noqa: D102
        try:
            return super().invoke(ctx)
        except UserError as err:
            click.echo(f"kojistack: error: {err}", err=True)
            sys.exit(UserError.exit_code)
        except OperationError as err:
            click.echo(f"kojistack: failed: {err}", err=True)
            sys.exit(OperationError.exit_code)


@click.group(cls=KojistackGroup)
@click.version_option(__version__, prog_name="kojistack")
def main() -> None:
    """Generate, check and operate a push-button Koji build system on AWS."""


def config_options(fn):
    """The build-time flags shared by generate, check and deploy (each overrides kojistack.yaml)."""
    opts = [
        click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
                     help="kojistack.yaml to read (default: ./kojistack.yaml if it exists)."),
        click.option("--az-count", type=int, default=None, help="Availability zones: 2 or 3."),
        click.option("--arch", "arches", multiple=True,
                     help="Builder arch, repeatable: x86_64, aarch64 (replaces the config's list)."),
        click.option("--spot/--no-spot", default=None, help="Use spot capacity for builders."),
        click.option("--nat", type=str, default=None, help="NAT gateways: single or per-az."),
        click.option("--distro", type=str, default=None, help="Instance OS: el9, el10 or fedora."),
        click.option("--domain", type=str, default=None, help="Custom domain name for people (optional)."),
        click.option("--vpc", type=str, default=None, help="Templates to write: new, existing or both."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def load_config_from_flags(config_path, az_count, arches, spot, nat, distro, domain, vpc):
    """Read kojistack.yaml (if any) and apply flags; raises UserError naming the bad key or flag."""
    from .config import load_config

    overrides = {
        "availability_zones": az_count,
        "arches": list(arches) if arches else None,
        "spot": spot,
        "nat": nat,
        "distro": distro,
        "domain": domain,
        "vpc": vpc,
    }
    if config_path is None and Path("kojistack.yaml").exists():
        config_path = Path("kojistack.yaml")
    return load_config(config_path, {k: v for k, v in overrides.items() if v is not None})


@main.command()
@config_options
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_OUT, show_default=True,
              help="Directory to write the templates into.")
def generate(out_dir: Path, **flags) -> None:
    """Write the CloudFormation templates (deterministic; nothing is written on any error)."""
    from .template.compose import write_templates

    cfg = load_config_from_flags(**flags)
    start = time.perf_counter()
    written = write_templates(cfg, out_dir)
    took = time.perf_counter() - start
    for path, size in written:
        click.echo(f"wrote {path} ({size:,} bytes)")
    click.echo(f"generated {len(written)} template(s) in {took:.2f} s")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def lint(paths: tuple[Path, ...]) -> None:
    """Run cfn-lint (pinned, in-process, informational rules on, four regions) over the templates."""
    from .checks.lint import lint_files

    files = list(paths) or sorted(DEFAULT_OUT.glob("*.json"))
    if not files:
        raise UserError(f"no templates to lint in {DEFAULT_OUT}/: run `kojistack generate` first")
    findings = lint_files(files)
    for line in findings:
        click.echo(line)
    click.echo(f"cfn-lint: {len(findings)} finding(s) in {len(files)} template(s)")
    if findings:
        sys.exit(1)


@main.command()
@config_options
@click.option("--templates", "templates_dir", type=click.Path(path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Directory holding the committed templates.")
def check(templates_dir: Path, **flags) -> None:
    """Everything CI runs: freshness, cfn-lint, cloud-init, shellcheck, checkov. Fails on any finding."""
    from .checks import all_checks
    from .checks.freshness import use_config

    use_config(load_config_from_flags(**flags))
    failed = 0
    for run in all_checks():
        start = time.perf_counter()
        result = run(templates_dir)
        took = time.perf_counter() - start
        mark = "ok  " if result.ok else "FAIL"
        click.echo(f"{mark} {result.name}: {result.summary} ({took:.2f} s)")
        for line in result.details:
            click.echo(f"     {line}")
        failed += not result.ok
    if failed:
        click.echo(f"kojistack check: {failed} check(s) failed", err=True)
        sys.exit(1)
    click.echo("kojistack check: all checks passed")


def _register_wings() -> None:
    from .ops import commands as ops_commands
    from .ops import drills as ops_drills
    from .sim import commands as sim_commands

    for wing in (ops_commands, ops_drills, sim_commands):
        wing.register(main)


_register_wings()

if __name__ == "__main__":  # pragma: no cover
    main()
