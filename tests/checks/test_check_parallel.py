"""`kojistack check` runs its stages side by side (issue 14 item 8): two checks that each wait for
the other (a two-party barrier) both finish; run one after the other, the first would wait alone
and the barrier break."""

from __future__ import annotations

import threading
from pathlib import Path

from kojistack.checks import CheckResult, run_checks


def test_the_stages_run_side_by_side(tmp_path: Path):
    barrier = threading.Barrier(2, timeout=30)

    def stage(name: str):
        def check(templates_dir: Path, units=None) -> CheckResult:
            barrier.wait()  # raises BrokenBarrierError if the other stage is not running meanwhile
            return CheckResult(name, True, f"saw {templates_dir.name}")
        return check

    results = run_checks(tmp_path, [stage("first"), stage("second")])
    assert [(r.result.name, r.result.ok) for r in results] == [("first", True), ("second", True)]

