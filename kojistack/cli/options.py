"""Options and output helpers the command modules share: AWS session flags, build-time config flags,
the stack name, and a live status line for long waits."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ..errors import UserError
from ..ops.session import open_session

DEFAULT_TEMPLATES = Path("templates")


def stack_name_option(fn):
    """--stack-name NAME: every command that acts on a stack names it this way (as the AWS CLI does)."""
    return click.option("--stack-name", "stack", required=True, metavar="NAME",
                        help="Name of the kojistack stack.")(fn)


def _profile_and_region(fn):
    fn = click.option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], default=None,
                      help="AWS region (default: AWS_REGION).")(fn)
    return click.option("--profile", "aws_profile", envvar="AWS_PROFILE", default=None,
                        help="AWS profile (default: AWS_PROFILE).")(fn)


def aws_options(fn):
    """--profile and --region, as the AWS CLI has them (AWS_PROFILE / AWS_REGION when not given).

    They always mean the AWS profile and region; a koji profile is --koji-profile.
    """
    @_profile_and_region
    @functools.wraps(fn)
    def wrapper(*args, aws_profile: str | None, region: str | None, **kwargs):
        return fn(*args, aws=open_session(aws_profile, region), **kwargs)
    return wrapper


def lazy_aws_options(fn):
    """--profile and --region for a command that may not need AWS at all: it gets `region` (as
    given) and `open_aws(region=None)`, which opens the session (and checks credentials) only when called."""
    @_profile_and_region
    @functools.wraps(fn)
    def wrapper(*args, aws_profile: str | None, region: str | None, **kwargs):
        return fn(*args, region=region, open_aws=lambda other=None: open_session(aws_profile, region or other),
                  **kwargs)
    return wrapper


def config_flag(spec):
    """The click option of one build-time option (kojistack.config.Spec): a bool is --x/--no-x, a
    repeatable one (from_flag) takes many values, an int is parsed by click; the allowed values are
    checked by Config, so a bad one gets the same message from a flag as from the file."""
    if spec.is_bool:
        return click.option(f"{spec.flag}/--no-{spec.flag[2:]}", spec.dest, default=None, help=spec.help())
    if spec.repeatable:
        return click.option(spec.flag, spec.dest, multiple=True, help=spec.help())
    kind = int if isinstance(spec.default, int) else str
    return click.option(spec.flag, spec.dest, type=kind, default=None, help=spec.help())


def config_options(fn=None, *, cls=None):
    """--config and one flag per build-time option of `cls` (default kojistack.config.Config), each
    overriding kojistack.yaml: the flags come from the Config fields (kojistack/config.py), never
    spelled here. The command gets `config_path` and each option's dest; pass them all to
    load_config_from_flags."""
    from ..config import options

    def decorate(fn):
        opts = [click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
                             help="kojistack.yaml to read (default: ./kojistack.yaml if it exists).")]
        opts += [config_flag(spec) for spec in options(cls)]
        for opt in reversed(opts):
            fn = opt(fn)
        return fn
    return decorate(fn) if fn is not None else decorate


LOCAL_CONFIG = Path("kojistack.yaml")
IGNORED_NAMES = ("kojistack.yml", "Kojistack.yaml", "kojistack.YAML", "kojistack.yaml.yaml", ".kojistack.yaml")


def local_config() -> Path | None:
    """./kojistack.yaml when it exists. A config file under another name that kojistack would silently
    ignore (kojistack.yml, ...) is an error, not a surprise."""
    here = {p.name for p in Path(".").iterdir()} if Path(".").is_dir() else set()
    ignored = [name for name in IGNORED_NAMES if name in here]
    if ignored:
        also = f"; {LOCAL_CONFIG} is read and {ignored[0]} is not" if LOCAL_CONFIG.name in here else ""
        raise UserError(f"found {ignored[0]}, which kojistack does not read: it reads ./{LOCAL_CONFIG} "
                        f"(or --config FILE){also}: rename or remove {ignored[0]}")
    return LOCAL_CONFIG if LOCAL_CONFIG.name in here else None


def config_source(config_path: Path | None) -> Path | None:
    """The config file a command reads: --config, else ./kojistack.yaml, else none (defaults)."""
    return config_path if config_path is not None else local_config()


def load_config_from_flags(config_path, cls=None, **flags):
    """Read kojistack.yaml (if any) and apply the flags config_options made (by dest); raises
    UserError naming the bad key or flag."""
    from ..config import load_config

    given = {dest: value for dest, value in flags.items() if value is not None and value != ()}
    return load_config(config_source(config_path), given, cls)


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
