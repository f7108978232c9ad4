"""Issue 12 item 8 (and item 1's `make templates`): what a contributor meets before the first test runs.

The Makefile is run for real by make, in a scratch copy with stand-in programs in .venv/bin (a
recorded call each), so no test installs anything.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import support
from support.paths import REPO

PY311 = sys.executable  # the tests run on 3.11+


def fake_venv(root: Path, python_ok: bool = True) -> Path:
    """A .venv whose python/pip/pytest/kojistack only record their arguments in calls.log."""
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "pip", "pytest", "kojistack"):
        exit_code = 1 if name == "python" and not python_ok else 0
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{root}/calls.log"\n'
                          + f'[ "$1" = -c ] && exit {exit_code}\n'
                          + ('[ "$1" = -m ] && echo "bench ran"\n' if name == "python" else "")
                          + "exit 0\n")
        script.chmod(0o755)
    return bin_dir


def scratch(tmp_path: Path) -> Path:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def make(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", f"PY={PY311}", *args], cwd=root,
                          capture_output=True, text=True, timeout=120)


def calls(root: Path) -> list[str]:
    log = root / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def stamps(root: Path, *names: str) -> None:
    for name in names:
        (root / ".venv" / name).touch()
    checkov = root / ".venv-checkov" / "bin" / "checkov"
    checkov.parent.mkdir(parents=True, exist_ok=True)
    checkov.touch()


def test_a_venv_from_a_too_old_python_is_rebuilt(tmp_path):
    root = scratch(tmp_path)
    fake_venv(root, python_ok=False)  # answers "too old" to the version probe
    stamps(root, ".run-deps", ".test-deps")
    dry = make(root, "-n", "templates")
    assert "rm -rf .venv" in dry.stdout and f"{PY311} -m venv .venv" in dry.stdout, dry.stdout + dry.stderr


def test_a_good_venv_is_reused(tmp_path):
    root = scratch(tmp_path)
    fake_venv(root)
    stamps(root, ".run-deps", ".test-deps")
    dry = make(root, "-n", "templates")
    assert "rm -rf" not in dry.stdout and "-m venv" not in dry.stdout, dry.stdout


def test_make_templates_installs_only_what_generating_needs(tmp_path):
    root = scratch(tmp_path)
    fake_venv(root)
    result = make(root, "templates")
    assert result.returncode == 0, result.stdout + result.stderr
    installs = [c for c in calls(root) if c.startswith("pip install")]
    assert installs and not any("[test]" in c or "koji==" in c for c in installs), installs
    assert "kojistack generate --out templates" in calls(root)


def test_make_test_records_its_wall_time_and_make_bench_prints_it(tmp_path):
    root = scratch(tmp_path)
    fake_venv(root)
    stamps(root, ".run-deps", ".test-deps")
    before = make(root, "bench")
    assert "make test: no run recorded yet" in before.stdout, before.stdout + before.stderr
    ran = make(root, "test")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert any(c.startswith("pytest -v") for c in calls(root))  # one line per test as it runs
    after = make(root, "bench")
    assert "bench ran" in after.stdout
    assert re.search(r"last make test: \d+ s wall, exit 0, \d+ cores", after.stdout), after.stdout


def test_make_lint_runs_ruff_mypy_and_cfn_lint_and_make_fix_runs_ruffs_fixes(tmp_path):
    root = scratch(tmp_path)
    fake_venv(root)
    stamps(root, ".run-deps", ".test-deps")
    lint = make(root, "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    ran = [c for c in calls(root) if not c.startswith("python -c")]  # not the venv's version probe
    assert ran == ["python -m ruff check .", "python -m mypy", "kojistack lint"]
    (root / "calls.log").unlink()
    fix = make(root, "fix")
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert [c for c in calls(root) if not c.startswith("python -c")] == ["python -m ruff check --fix ."]


def test_make_test_fast_leaves_out_the_slow_marker_registered_in_pyproject(tmp_path):
    root = scratch(tmp_path)
    fake_venv(root)
    stamps(root, ".run-deps", ".test-deps")
    assert make(root, "test-fast").returncode == 0
    (call,) = [c for c in calls(root) if c.startswith("pytest")]
    assert "not slow" in call
    assert re.search(r'^\s*"slow: ', (REPO / "pyproject.toml").read_text(), re.M)


def test_readme_names_every_prerequisite_of_make_test():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    # every apt-get line of .ci/run (the pyenv build tools excepted: only for building a Python 3.9)
    lines = re.findall(r"apt-get install -y -qq --no-install-recommends (?:\\\n\s*)?(.+?) >/dev/null", ci, re.S)
    apt = [pkg for line in lines if "build-essential" not in line for pkg in line.replace("\\", " ").split()]
    assert "selinux-utils" in apt and "logrotate" in apt, apt
    missing = [pkg for pkg in apt if pkg not in readme]
    assert not missing, f"README.md does not name {missing}"
    assert "Python 3.9" in readme and "KOJISTACK_PYTHON39" in readme


def test_without_python_3_9_the_tests_that_need_it_fail_with_a_sentence(tmp_path, monkeypatch):
    monkeypatch.delenv("KOJISTACK_PYTHON39", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="Python 3.9 is needed") as failed:
        support.python39()
    assert "KOJISTACK_PYTHON39" in str(failed.value)
    monkeypatch.setenv("KOJISTACK_PYTHON39", str(tmp_path / "nope"))
    with pytest.raises(pytest.fail.Exception, match="is not an executable file"):
        support.python39()


def test_the_slow_modules_exist():
    import tiers

    missing = [m for m in tiers.SLOW_MODULES if not (REPO / "tests" / m).is_file()]
    assert not missing, f"tests/tiers.py names modules that are gone: {missing}"


def test_no_test_imports_through_the_tests_package():
    """`make test` runs the pytest script, which does not put the repository on sys.path: `from tests.x`
    works under `python -m pytest` only and stops `make test` at collection (it did, 2026-11-29)."""
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("*.py")
                 if re.search(r"^\s*(from|import) tests[. ]", p.read_text(), re.M)]
    assert not offenders
