"""What `kojistack check` runs. Each check is a function returning a CheckResult; CHECKS lists them in order."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .cache import Units


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    summary: str  # one line: what was checked, with counts
    details: list[str] = field(default_factory=list)  # findings, one per line


class Check(Protocol):
    """A stage: the templates directory in, a result out; its units of work go through `units`
    (checks.cache: answered from the cache while their inputs are unchanged)."""

    def __call__(self, templates_dir: Path, units: Units | None = None) -> CheckResult: ...


def all_checks() -> list[Check]:
    """The checks in the order `kojistack check` runs them (imported lazily: some are slow to import)."""
    from . import checkov, cloudinit, freshness, lint

    # further wings add their check here: checkov (issue 6: security wing), cloud-init (issue 3: hub wing)
    return [freshness.check, lint.check, checkov.check, cloudinit.check]


@dataclass(frozen=True)
class StageRun:
    """One stage of a `kojistack check` run: its result, its wall time, and its units of work
    run and answered from the cache."""

    result: CheckResult
    seconds: float
    ran: int
    reused: int


def run_checks(templates_dir: Path, checks: list[Check] | None = None,
               cache: Path | None = None) -> list[StageRun]:
    """Run the checks side by side (each waits mostly on its own tool: cfn-lint, checkov,
    cloud-init, shellcheck), one thread each, in the order of `checks`. With `cache` (a
    directory), each unit of work whose inputs, tools and check code are unchanged is answered
    from the cache (checks.cache)."""
    from .cache import Units

    checks = all_checks() if checks is None else checks

    def timed(check: Check) -> StageRun:
        start = time.perf_counter()
        units = Units(cache)
        result = check(templates_dir, units)
        return StageRun(result, time.perf_counter() - start, units.ran, units.reused)

    with ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
        return list(pool.map(timed, checks))
