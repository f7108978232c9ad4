"""What `kojistack check` runs. Each check is a function returning a CheckResult; CHECKS lists them in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    summary: str  # one line: what was checked, with counts
    details: list[str] = field(default_factory=list)  # findings, one per line


Check = Callable[[Path], CheckResult]  # argument: the templates directory


def all_checks() -> list[Check]:
    """The checks in the order `kojistack check` runs them (imported lazily: some are slow to import)."""
    from . import freshness, lint

    checks: list[Check] = [freshness.check, lint.check]
    # further wings append their checks here, one line each
    from . import checkov; checks.append(checkov.check)  # noqa: E702 (issue 6: security wing)
    from . import cloudinit; checks.append(cloudinit.check)  # noqa: E702 (issue 3: hub wing)
    return checks
