"""Representative build-time configurations the tests render, and how a template becomes a dict."""

from __future__ import annotations

import json

from kojistack.config import ArchConfig, Config
from kojistack.template.compose import build_template

# Defaults, one arch, 3 AZs, no spot, Fedora, a custom domain.
CONFIGS = {
    "default": Config(),
    "x86-only-3az-per-az-nat": Config(availability_zones=3, nat="per-az",
                                      builders=(ArchConfig("x86_64", ("c6i.xlarge", "c6a.xlarge")),)),
    "aarch64-no-spot-fedora": Config(spot=False, distro="fedora",
                                     builders=(ArchConfig("aarch64", ("c7g.2xlarge",)),)),
    "el10-domain": Config(distro="el10", domain="koji.example.com"),
}
VARIANTS = ("new", "existing")


def as_dict(cfg: Config, variant: str) -> dict:
    return json.loads(json.dumps(build_template(cfg, variant).to_dict()))
