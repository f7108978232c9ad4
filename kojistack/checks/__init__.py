"""What `kojistack check` runs. Each check is a function returning a CheckResult; CHECKS lists them in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    summary: str  # one line: what was checked, with counts
    details: list[str] = field(default_factory=list)  # findings, one per line


Check = Callable[[Path], CheckResult]  # argument: the templates directory


def all_checks() -> list[Check]:
    """The checks in the order `kojistack check` runs them (imported lazily: some are slow to import)."""
    from . import checkov, cloudinit, freshness, lint

    # further wings add their check here: checkov (issue 6: security wing), cloud-init (issue 3: hub wing)
    return [freshness.check, lint.check, checkov.check, cloudinit.check]


def run_checks(templates_dir: Path, checks: list[Check] | None = None,
               cache: Path | None = None) -> list[tuple[CheckResult, float]]:
    """Run the checks side by side (each waits mostly on its own tool: cfn-lint, checkov,
    cloud-init, shellcheck), one thread each; (result, seconds) in the order of `checks`. With
    `cache` (a directory), a stage whose check has a `fingerprint` is answered from the cache when
    its inputs and tools are unchanged (checks.cache)."""
    from . import cache as results

    checks = all_checks() if checks is None else checks

    def timed(check: Check) -> tuple[CheckResult, float]:
        start = time.perf_counter()
        fingerprint = getattr(check, "fingerprint", None)
        key = fingerprint(templates_dir) if cache is not None and fingerprint else None
        result = results.load(cache, key) if cache is not None and key else None
        if result is None:
            result = check(templates_dir)
            if cache is not None and key:
                results.store(cache, key, result)
        return result, time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
        return list(pool.map(timed, checks))
