"""Fixtures for the template tests: the generated templates as dicts, for a few configurations."""

from __future__ import annotations

import json

import pytest

from kojistack.config import ArchConfig, Config
from kojistack.template.compose import build_template

# Representative build-time configurations (defaults, one arch, 3 AZs, no spot, Fedora, domain).
CONFIGS = {
    "default": Config(),
    "x86-only-3az-per-az-nat": Config(availability_zones=3, nat="per-az",
                                      builders=(ArchConfig("x86_64", ("c6i.xlarge", "c6a.xlarge")),)),
    "aarch64-no-spot-fedora": Config(spot=False, distro="fedora",
                                     builders=(ArchConfig("aarch64", ("c7g.2xlarge",)),)),
    "el10-domain": Config(distro="el10", domain="koji.example.com"),
}


def as_dict(cfg: Config, variant: str) -> dict:
    return json.loads(json.dumps(build_template(cfg, variant).to_dict()))


@pytest.fixture(scope="session")
def templates() -> dict[tuple[str, str], dict]:
    """{(config name, variant): template dict} for every config and both variants."""
    return {(name, v): as_dict(cfg, v) for name, cfg in CONFIGS.items() for v in ("new", "existing")}


@pytest.fixture(scope="session")
def default(templates) -> dict:
    return templates[("default", "new")]


def resources(t: dict, type_: str) -> dict[str, dict]:
    return {k: r for k, r in t["Resources"].items() if r["Type"] == type_}
