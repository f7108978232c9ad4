"""ruff and mypy, as configured in pyproject.toml ([tool.ruff], [tool.mypy]), find nothing: `make lint`
runs the same two, `make fix` applies ruff's fixes. The probes show each rule set really fires, and
that the code run on the instances under Python 3.9 is held to 3.9 (pyupgrade stops there)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support.paths import REPO


def ruff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *args],
                          cwd=REPO, input=stdin, capture_output=True, text=True)


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # no cache: nothing written into the tree, and no stale result
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", "/dev/null", *args], cwd=REPO,
                          capture_output=True, text=True)


def test_ruff_finds_nothing():
    proc = ruff()
    assert proc.returncode == 0, f"ruff (fix with `make fix`, then by hand):\n{proc.stdout}{proc.stderr}"


@pytest.mark.slow
def test_mypy_finds_nothing_in_kojistack():
    proc = mypy()  # files = ["kojistack"] in pyproject.toml
    assert proc.returncode == 0, f"mypy:\n{proc.stdout}{proc.stderr}"
    assert "Success: no issues found" in proc.stdout


PROBE = """\
import sys
import os
from typing import List, Optional


def f(xs: List[int], y: Optional[int] = None, z=[]) -> int:
    l = 1\x20
    return len(xs) + (y or 0) + len(sys.argv) + l
"""


def codes(out: str) -> set[str]:
    return {line.split()[1] for line in out.splitlines() if line.count(":") >= 3}


def test_ruff_probe_fires_each_rule_set_and_stops_at_3_9_on_the_instances():
    """The same text, checked as if it were a CLI module (3.11) and the controller (3.9)."""
    host = ruff("--stdin-filename", "kojistack/ops/probe.py", "-", stdin=PROBE)
    assert host.returncode == 1
    assert {"E741", "W291", "F401", "I001", "UP035", "UP006", "UP045", "B006"} <= codes(host.stdout), host.stdout
    on_hub = ruff("--stdin-filename", "kojistack/controller/probe.py", "-", stdin=PROBE)
    assert on_hub.returncode == 1
    found = codes(on_hub.stdout)
    assert {"F401", "UP006", "UP035"} <= found, on_hub.stdout  # list[int] is Python 3.9
    assert "UP045" not in found, on_hub.stdout  # `int | None` is 3.10: not asked of the controller
    same_for_helpers = ruff("--stdin-filename", "cloud-init/payload/hub/python/kojistack_hub/probe.py", "-",
                            stdin=PROBE)
    assert "UP045" not in codes(same_for_helpers.stdout), same_for_helpers.stdout


@pytest.mark.slow
def test_mypy_probe_reports_a_type_error(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import kojistack.ids\n\nx: int = kojistack.ids.HUB_GROUP\n")
    proc = mypy(str(probe))
    assert proc.returncode == 1
    assert "Incompatible types in assignment" in proc.stdout and "[assignment]" in proc.stdout, proc.stdout
