"""Fails when a committed template differs from what the generator makes now (stale template)."""

from __future__ import annotations

import difflib
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from . import CheckResult

if TYPE_CHECKING:
    from .cache import Units

_cfg: Config | None = None


def use_config(cfg: Config) -> None:
    """The config `kojistack check` was given (the committed templates come from it)."""
    global _cfg
    _cfg = cfg


#: the wings of the package that generation never loads (tests/checks/test_check_cache.py holds
#: this true by generating in a fresh interpreter): editing them does not re-run this check
NOT_GENERATOR = ("checks", "cli", "ops", "sim", "bench.py", "__main__.py")


def generator_inputs() -> list[Path]:
    """What generation reads: the package without NOT_GENERATOR (the controller ships in the hub's
    payload, so it is an input), and every file under cloud-init/."""
    from ..template.payload import CLOUD_INIT
    from .cache import tree
    package = Path(__file__).resolve().parents[1]
    return [p for p in tree(package) if p.relative_to(package).parts[0] not in NOT_GENERATOR] + tree(CLOUD_INIT)


def _compare(templates_dir: Path) -> dict:
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
    return asdict(CheckResult("freshness", not stale, f"{len(expected)} templates compared with a fresh generation",
                              stale))


def check(templates_dir: Path, units: Units | None = None) -> CheckResult:
    """One unit (checks.cache): the committed templates, what generation reads, the config, and the
    versions of the libraries it renders with."""
    from importlib.metadata import version

    from .cache import Units, digest

    units = units or Units()
    libs = [f"{name} {version(name)}" for name in ("troposphere", "jinja2", "pyyaml")]
    inputs = generator_inputs()
    sources = digest([], inputs, root=Path(os.path.commonpath(inputs)))  # by path, as the payloads pack them
    key = units.key("freshness", __file__, [repr(_cfg or Config()), *libs, sources],
                    sorted(Path(templates_dir).glob("*.json")))
    return CheckResult(**units.run(key, lambda: _compare(templates_dir)))
