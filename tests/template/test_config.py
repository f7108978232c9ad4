"""Build-time config: defaults, overrides, and every error path (named key, what is allowed,
exit status 2, nothing written)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from kojistack.cli import main
from kojistack.config import Config, load_config
from kojistack.errors import UserError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "kojistack.yaml"
    p.write_text(text)
    return p


def test_defaults_are_el9_two_azs_both_arches_spot():
    cfg = Config()
    assert (cfg.distro, cfg.availability_zones, cfg.arches, cfg.spot, cfg.nat) == \
        ("el9", 2, ("x86_64", "aarch64"), True, "single")
    assert cfg.variants == ("new", "existing")


def test_file_and_flags_combine_flags_win(tmp_path):
    p = write(tmp_path, "distro: fedora\navailability_zones: 3\nbuilders:\n  aarch64:\n"
                        "    instance_types: [c7g.xlarge, m7g.xlarge]\n")
    cfg = load_config(p, {"distro": "el10"})
    assert cfg.distro == "el10" and cfg.availability_zones == 3
    assert cfg.arches == ("aarch64",) and cfg.builders[0].instance_types == ("c7g.xlarge", "m7g.xlarge")


def test_arch_flag_picks_arches_and_keeps_configured_types(tmp_path):
    p = write(tmp_path, "builders:\n  x86_64:\n    instance_types: [m6i.4xlarge]\n  aarch64: {}\n")
    cfg = load_config(p, {"arches": ["x86_64"]})
    assert cfg.arches == ("x86_64",) and cfg.builders[0].instance_types == ("m6i.4xlarge",)


BAD_FILES = [
    ("colour: blue\n", "colour: unknown key"),
    ("availability_zones: 4\n", "availability_zones: 4 is not allowed; use one of 2, 3"),
    ("availability_zones: two\n", "availability_zones: 'two' is not allowed"),
    ("availability_zones: true\n", "availability_zones: True is not allowed"),
    ("nat: many\n", "nat: 'many' is not allowed; use one of single, per-az"),
    ("distro: ubuntu\n", "distro: 'ubuntu' is not allowed; use one of el9, el10, fedora"),
    ("spot: maybe\n", "spot: must be true or false"),
    ("vpc: default\n", "vpc: 'default' is not allowed"),
    ("domain: Not_A_Domain\n", "domain: 'Not_A_Domain' is not a lower-case DNS name"),
    ("builders: []\n", "builders: must map an arch"),
    ("builders:\n  sparc: {}\n", "builders.sparc: unknown arch; allowed: x86_64, aarch64"),
    ("builders:\n  x86_64:\n    types: [c6i.large]\n", "builders.x86_64.types: unknown key"),
    ("builders:\n  x86_64:\n    instance_types: c6i.large\n", "builders.x86_64.instance_types: must be a list"),
    ("builders:\n  x86_64:\n    instance_types: []\n", "builders.x86_64.instance_types: give at least one"),
    ("builders:\n  x86_64:\n    instance_types: [c7g.large]\n", "c7g.large does not run x86_64"),
    ("builders:\n  aarch64:\n    instance_types: [c6i.large]\n", "c6i.large does not run aarch64"),
    ("builders:\n  x86_64:\n    instance_types: [c6i.large, c6i.xlarge]\n", "use one size for all types"),
    ("builders:\n  x86_64:\n    instance_types: [bogus]\n", "'bogus' is not an EC2 instance type"),
    ("builders:\n  x86_64:\n    instance_types: [c6i.large, c6i.large]\n", "duplicate instance types"),
    ("", "the config file is empty"),
    ("- a\n- b\n", "the top level must be a mapping"),
    ("distro: [el9\n", "not valid YAML: line 2, column 1: expected ',' or ']'"),
]


@pytest.mark.parametrize("text,message", BAD_FILES, ids=[m for _, m in BAD_FILES])
def test_bad_config_file_is_a_named_error(tmp_path, text, message):
    with pytest.raises(UserError) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value)


def test_missing_config_file_names_the_flag(tmp_path):
    with pytest.raises(UserError, match=r"--config: cannot read .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


BAD_FLAGS = [
    (["--az-count", "4"], "availability_zones: 4 is not allowed"),
    (["--arch", "sparc"], "--arch: 'sparc' is not allowed"),
    (["--nat", "none"], "nat: 'none' is not allowed"),
    (["--distro", "debian"], "distro: 'debian' is not allowed"),
    (["--domain", "UPPER.example.com"], "domain: 'UPPER.example.com'"),
    (["--vpc", "maybe"], "vpc: 'maybe' is not allowed"),
]


@pytest.mark.parametrize("flags,message", BAD_FLAGS, ids=[m for _, m in BAD_FLAGS])
def test_bad_flag_exits_2_and_leaves_templates_untouched(tmp_path, flags, message):
    out = tmp_path / "templates"
    runner = CliRunner()
    ok = runner.invoke(main, ["generate", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    before = digest(out)
    res = runner.invoke(main, ["generate", "--out", str(out), *flags])
    assert res.exit_code == 2
    assert message in res.output
    assert digest(out) == before


def test_bad_config_file_through_the_cli_exits_2(tmp_path):
    p = write(tmp_path, "colour: blue\n")
    res = CliRunner().invoke(main, ["generate", "--config", str(p), "--out", str(tmp_path / "t")])
    assert res.exit_code == 2 and "colour: unknown key in the config; allowed keys:" in res.output
    assert not (tmp_path / "t").exists()


def test_unwritable_out_dir_is_a_named_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    res = CliRunner().invoke(main, ["generate", "--out", str(blocker / "templates")])
    assert res.exit_code == 2 and "--out: cannot write templates" in res.output
