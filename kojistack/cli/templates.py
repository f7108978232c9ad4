"""Commands on the templates in the working directory: generate, lint, check, diagram. No AWS calls."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..errors import UserError
from .options import DEFAULT_TEMPLATES, config_options, config_source, load_config_from_flags


@click.command()
@config_options
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_TEMPLATES, show_default=True,
              help="Directory to write the templates into.")
def generate(out_dir: Path, **flags) -> None:
    """Write the CloudFormation templates (deterministic; nothing is written on any error)."""
    from ..template.compose import write_templates

    cfg = load_config_from_flags(**flags)
    source = config_source(flags["config_path"])
    click.echo(f"config: {source}" if source else "config: none (no ./kojistack.yaml): the defaults and flags")
    start = time.perf_counter()
    written = write_templates(cfg, out_dir)
    took = time.perf_counter() - start
    for path, size in written:
        click.echo(f"wrote {path} ({size:,} bytes)")
    click.echo(f"generated {len(written)} template(s) in {took:.2f} s")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def lint(paths: tuple[Path, ...]) -> None:
    """Run cfn-lint (pinned, in-process, informational rules on, four regions) over the templates."""
    from ..checks.lint import lint_files

    files = list(paths) or sorted(DEFAULT_TEMPLATES.glob("*.json"))
    if not files:
        raise UserError(f"no templates to lint in {DEFAULT_TEMPLATES}/: run `kojistack generate` first")
    findings = lint_files(files)
    for line in findings:
        click.echo(line)
    click.echo(f"cfn-lint: {len(findings)} finding(s) in {len(files)} template(s)")
    if findings:
        sys.exit(1)


@click.command()
@config_options
@click.option("--templates", "templates_dir", type=click.Path(path_type=Path), default=DEFAULT_TEMPLATES,
              show_default=True, help="Directory holding the committed templates.")
@click.option("--no-cache", is_flag=True, help="Run every unit of work (a template, a user data, a script) even "
                                              "when its inputs, tools and check code are unchanged (results "
                                              "are kept per unit in $XDG_CACHE_HOME/kojistack/check).")
def check(templates_dir: Path, no_cache: bool = False, **flags) -> None:
    """Everything CI runs: freshness, cfn-lint, cloud-init, shellcheck, checkov. Fails on any finding."""
    from ..checks import run_checks
    from ..checks.freshness import use_config

    use_config(load_config_from_flags(**flags))
    failed = 0
    from ..checks.cache import default_dir

    for stage in run_checks(templates_dir, cache=None if no_cache else default_dir()):
        result = stage.result
        mark = "ok  " if result.ok else "FAIL"
        click.echo(f"{mark} {result.name}: {result.summary} ({stage.seconds:.2f} s; units run {stage.ran}, "
                   f"from the cache {stage.reused})")
        for line in result.details:
            click.echo(f"     {line}")
        failed += not result.ok
    if failed:
        click.echo(f"kojistack check: {failed} check(s) failed", err=True)
        sys.exit(1)
    click.echo("kojistack check: all checks passed")


@click.command()
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("docs/architecture.png"),
              show_default=True, help="Output file of the overview; its PNG and SVG are written, and the full "
                                      "resource graph beside them as <stem>-full.png/.svg.")
@click.option("--template", type=click.Path(path_type=Path), default=DEFAULT_TEMPLATES / "kojistack.json",
              show_default=True, help="Generated template to draw.")
def diagram(out: Path, template: Path) -> None:
    """Draw the architecture from a generated template: the overview a person reads (who connects to
    whom, on which port, what is kept on delete) and the full resource graph, each as PNG + SVG."""
    try:
        from ..ops.diagram import draw_file, load
        from ..ops.overview import draw as draw_overview

        written = list(draw_overview(load(template), out))
        written += list(draw_file(template, out.with_name(out.stem + "-full" + out.suffix)))
    except ImportError as err:
        raise UserError(f"diagram needs matplotlib ({err.name or err}): pip install 'kojistack[plot]'") from None
    except OSError as err:
        raise UserError(f"-o {out}: cannot write the picture there: {err.strerror or err}") from None
    for path in written:
        click.echo(f"wrote {path}")
