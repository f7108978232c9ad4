"""Fails when a committed template differs from what the generator makes now (stale template)."""

from __future__ import annotations

import difflib
from pathlib import Path

from ..config import Config
from . import CheckResult

_cfg: Config | None = None


def use_config(cfg: Config) -> None:
    """The config `kojistack check` was given (the committed templates come from it)."""
    global _cfg
    _cfg = cfg


def check(templates_dir: Path) -> CheckResult:
    from ..template.compose import render_all

    expected = render_all(_cfg or Config())
    stale = []
    for name, text in sorted(expected.items()):
        path = Path(templates_dir) / name
        current = path.read_text() if path.exists() else ""
        if current != text:
            diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(), f"committed/{name}",
                                             f"generated/{name}", n=0, lineterm=""))
            stale.append(f"{name} is stale or missing ({len(diff)} diff lines); run `make templates`")
            stale.extend(diff[:12])
    return CheckResult("freshness", not stale, f"{len(expected)} templates compared with a fresh generation",
                       stale)


def fingerprint(templates_dir: Path) -> str:
    """The templates, the generator's whole package and cloud-init/ tree, the config, and the
    versions of the libraries it renders with (checks.cache)."""
    from importlib.metadata import version

    from ..template.payload import CLOUD_INIT
    from .cache import digest, tree
    package = Path(__file__).resolve().parents[1]
    libs = [f"{name} {version(name)}" for name in ("troposphere", "jinja2", "pyyaml")]
    return digest(["freshness", repr(_cfg or Config()), *libs],
                  [*sorted(Path(templates_dir).glob("*.json")), *tree(package), *tree(CLOUD_INIT)])


check.fingerprint = fingerprint  # type: ignore[attr-defined]
