"""Issue 12 item 6: one spelling per meaning across every command, --debug, and prompts that exit as documented."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.commands import leaf_commands
from kojistack import cli

ROOT = Path(__file__).resolve().parents[2]


def flags(command: click.Command) -> list[tuple[str, click.Option]]:
    return [(flag, p) for p in command.params if isinstance(p, click.Option) for flag in p.opts]


@pytest.mark.parametrize("name", sorted(leaf_commands()))
def test_a_stack_is_named_by_stack_name(name):
    stackish = [flag for flag, _ in flags(leaf_commands()[name]) if flag.startswith("--stack")]
    assert stackish in ([], ["--stack-name"]), f"kojistack {name}: {stackish}"


@pytest.mark.parametrize("name", sorted(leaf_commands()))
def test_profile_and_region_are_the_aws_ones(name):
    for flag, option in flags(leaf_commands()[name]):
        if flag == "--profile":
            assert option.envvar == "AWS_PROFILE", f"kojistack {name}: --profile is not the AWS profile"
        if flag == "--region":
            assert "AWS_REGION" in option.envvar, f"kojistack {name}: --region is not the AWS region"
        assert flag != "--aws-profile", f"kojistack {name}: the AWS profile is --profile"


@pytest.mark.parametrize("name", sorted(leaf_commands()))
def test_timeouts_are_in_minutes(name):
    for flag, option in flags(leaf_commands()[name]):
        if "timeout" in flag:
            assert flag.endswith("-minutes") and "inutes" in option.help, f"kojistack {name}: {flag}"


def test_debug_is_an_option_and_documented():
    assert "--debug" in [flag for flag, _ in flags(cli.main)]
    assert "--debug" in (ROOT / "docs" / "operations-tools.md").read_text()


@pytest.fixture
def quiet_botocore():
    """--debug turns botocore's logger up for the process; put it back for the tests that follow."""
    import logging

    logger = logging.getLogger("botocore")
    level, root_handlers = logger.level, list(logging.getLogger().handlers)
    yield
    logger.setLevel(level)
    logging.getLogger().handlers[:] = root_handlers


def test_debug_prints_the_traceback_of_an_ordinary_error_and_plain_runs_do_not(tmp_path, quiet_botocore):
    bad = tmp_path / "kojistack.yaml"
    bad.write_text("availability_zones: 9\n")
    plain = CliRunner().invoke(cli.main, ["generate", "--config", str(bad), "--out", str(tmp_path / "t")])
    debug = CliRunner().invoke(cli.main, ["--debug", "generate", "--config", str(bad), "--out", str(tmp_path / "t")])
    assert plain.exit_code == debug.exit_code == 2
    assert "Traceback" not in plain.output and "availability_zones" in plain.output
    assert "Traceback" in debug.output and "availability_zones" in debug.output
