"""A build-time option is declared once, as a Config field (issue 13 item 2): its config-file key,
its validation messages and its command-line flag all come from that field
(kojistack/config.py option/options, kojistack/cli/options.py config_options)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import click
import pytest
import yaml
from click.testing import CliRunner

from kojistack.cli import KojistackGroup, main
from kojistack.cli.options import config_options, load_config_from_flags
from kojistack.config import Config, load_config, option, options
from kojistack.errors import UserError
from support.paths import REPO


@dataclass(frozen=True)
class Wider(Config):
    """Config with one more option, added the way a new one is: one field, no other edit."""

    log_retention_days: int = option(14, help="Days CloudWatch Logs keeps the logs", choices=(7, 14, 30))
    ami_prefix: str = option("", help="Name prefix of the image to use")


def wider_cli() -> click.Group:
    @click.group(cls=KojistackGroup)
    def cli() -> None:
        pass

    @cli.command()
    @config_options(cls=Wider)
    def show(**flags) -> None:
        cfg = load_config_from_flags(cls=Wider, **flags)
        click.echo(f"{cfg.log_retention_days} {cfg.ami_prefix!r} {cfg.distro}")
    return cli


def test_a_new_field_is_a_config_key(tmp_path):
    p = tmp_path / "kojistack.yaml"
    p.write_text("log_retention_days: 30\nami_prefix: golden\ndistro: fedora\n")
    cfg = load_config(p, cls=Wider)
    assert (cfg.log_retention_days, cfg.ami_prefix, cfg.distro) == (30, "golden", "fedora")
    p.write_text("colour: blue\n")
    with pytest.raises(UserError, match="allowed keys: .*log_retention_days, ami_prefix"):
        load_config(p, cls=Wider)


@pytest.mark.parametrize("text, message", [
    ("log_retention_days: 5\n", "log_retention_days: 5 is not allowed; use one of 7, 14, 30"),
    ("log_retention_days: true\n", "log_retention_days: True is not allowed"),
    ("ami_prefix: 7\n", "ami_prefix: must be text, got 7"),
])
def test_a_new_field_is_validated_in_the_users_terms(tmp_path, text, message):
    p = tmp_path / "kojistack.yaml"
    p.write_text(text)
    with pytest.raises(UserError) as err:
        load_config(p, cls=Wider)
    assert message in str(err.value)


def test_a_new_field_is_a_flag_with_its_help_and_validation(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(wider_cli(), ["show", "--log-retention-days", "30", "--ami-prefix", "golden",
                                     "--distro", "el10"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip() == "30 'golden' el10"
    bad = runner.invoke(wider_cli(), ["show", "--log-retention-days", "5"])
    assert bad.exit_code == 2 and "log_retention_days: 5 is not allowed; use one of 7, 14, 30" in bad.output
    assert "Traceback" not in bad.output
    text = runner.invoke(wider_cli(), ["show", "--help"]).output
    assert "--log-retention-days" in text and "Days CloudWatch Logs keeps the logs (7, 14, 30)" in text


def test_existing_flags_keep_their_spelling():
    """Users' scripts call these (README): the fields' flags must stay as they were."""
    generate = main.commands["generate"]
    spelled = {o for p in generate.params if isinstance(p, click.Option) for o in p.opts + p.secondary_opts}
    assert {"--config", "--az-count", "--arch", "--spot", "--no-spot", "--nat", "--distro", "--domain",
            "--vpc"} <= spelled
    assert {s.flag for s in options()} == {"--az-count", "--arch", "--spot", "--nat", "--distro", "--domain", "--vpc"}


def test_the_readme_shows_every_option():
    """README's kojistack.yaml example has exactly the config keys, and its flag list every flag."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("### `kojistack.yaml`", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert list(yaml.safe_load(block)) == [s.key for s in options()]
    listed = re.search(r"Every flag of `kojistack generate` \(([^)]*)\)", readme.replace("\n", " "))
    assert listed is not None
    flags = {f.split("/")[0] for f in re.findall(r"`(--[a-z-/]+)`", listed.group(1))}
    assert flags == {s.flag for s in options()}


def test_the_arch_flags_dest_stays_a_key_of_the_file(tmp_path):
    """`arches: [x86_64]` in the file, as --arch x86_64 (config files use it; tests/ops/test_deploy.py),
    the flag winning; anything but a list is named."""
    p = tmp_path / "kojistack.yaml"
    p.write_text("arches: [x86_64]\nbuilders:\n  x86_64:\n    instance_types: [m6i.4xlarge]\n")
    cfg = load_config(p)
    assert cfg.arches == ("x86_64",) and cfg.builders[0].instance_types == ("m6i.4xlarge",)
    assert load_config(p, {"arches": ["aarch64"]}).arches == ("aarch64",)
    p.write_text("arches: x86_64\n")
    with pytest.raises(UserError, match=r"arches: must be a list \(the values --arch takes, repeated\)"):
        load_config(p)
    p.write_text("arch: [x86_64]\n")
    with pytest.raises(UserError, match="arch: unknown key in the config; allowed keys: .*builders, arches"):
        load_config(p)
