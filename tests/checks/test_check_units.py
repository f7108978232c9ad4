"""`kojistack check` re-runs only the units of work whose inputs changed (issue 14 item 8): one
template for cfn-lint and checkov, one distinct user data for `cloud-init schema`, one script (with
what it sources) for shellcheck, the generation for freshness.

Each test runs `python -m kojistack check` for real, as a user does, in its own copy of the inputs
(kojistack/, cloud-init/, templates/) that shares a result cache filled once by a cold run (so
each test's edit is its own). The real
shellcheck and cloud-init run behind logging shims on PATH, so the tests count the tools' own
invocations; cfn-lint (in-process) and checkov are counted by each stage's "units run" line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kojistack.checks.checkov import ENV_OVERRIDE, find_checkov
from kojistack.checks.cloudinit import user_data_texts
from support.paths import REPO

pytestmark = pytest.mark.slow

_STAGE = re.compile(r"^(ok  |FAIL) ([\w-]+): .*units run (\d+), from the cache (\d+)\)$")
SHELLCHECK_SHIM = """#!/bin/bash
echo "shellcheck $*" >> "$TOOL_LOG"
if [ "$1" = --version ] && [ -n "$SHELLCHECK_VERSION" ]; then
  printf 'ShellCheck - shell script analysis tool\\nversion: %s\\n' "$SHELLCHECK_VERSION"; exit 0
fi
exec {real} "$@"
"""
# cloud-init's shim is a Python script on the real one's interpreter: the check reads that
# interpreter from the shebang to load cloud-init's schema
CLOUD_INIT_SHIM = """#!{interpreter}
import os, sys
with open(os.environ["TOOL_LOG"], "a") as log:
    log.write("cloud-init " + " ".join(sys.argv[1:]) + "\\n")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""
BUILDER_ONLY = Path("cloud-init/payload/builder/bin/kojistack-spot-watch")


class Tree:
    """A copy of the inputs and the shared cache; `check()` runs kojistack check there."""

    def __init__(self, root: Path, shims: Path, cache: Path) -> None:
        self.root, self.log = root, root / "tools.log"
        self.env = {**os.environ, "PATH": f"{shims}:{os.environ['PATH']}", "PYTHONPATH": str(root),
                    "XDG_CACHE_HOME": str(cache), "TOOL_LOG": str(self.log)}
        checkov = find_checkov()
        assert checkov is not None, "make .venv-checkov/bin/checkov"
        self.env[ENV_OVERRIDE] = str(checkov.resolve())

    def check(self, **env: str) -> tuple[dict[str, int], list[str]]:
        """(units run per stage, the tools' invocations other than --version)."""
        self.log.write_text("")
        out = subprocess.run([sys.executable, "-m", "kojistack", "check"], cwd=self.root, capture_output=True,
                             text=True, env={**self.env, **env})
        ran = {m[2]: int(m[3]) for m in map(_STAGE.match, out.stdout.splitlines()) if m}
        assert set(ran) == {"freshness", "cfn-lint", "checkov", "cloud-init"}, out.stdout + out.stderr
        calls = [line for line in self.log.read_text().splitlines() if not line.endswith("--version")]
        return ran, calls


def generate(tree: Tree) -> None:
    subprocess.run([sys.executable, "-m", "kojistack", "generate", "--out", "templates"], cwd=tree.root,
                   env=tree.env, check=True, capture_output=True)


def _copy_inputs(dest: Path) -> None:
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("kojistack", "cloud-init", "templates"):
        shutil.copytree(REPO / part, dest / part, ignore=skip)


@pytest.fixture(scope="module")
def warmed(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(inputs, shims, cache) after one cold run that ran every unit."""
    base = tmp_path_factory.mktemp("units")
    shims, cache, inputs = base / "bin", base / "cache", base / "inputs"
    shims.mkdir()
    real_sc, real_ci = shutil.which("shellcheck"), shutil.which("cloud-init")
    assert real_sc and real_ci, "shellcheck and cloud-init are installed here (as .ci/run does in CI)"
    interpreter = Path(real_ci).read_text().splitlines()[0][2:].strip()
    (shims / "shellcheck").write_text(SHELLCHECK_SHIM.format(real=real_sc))
    (shims / "cloud-init").write_text(CLOUD_INIT_SHIM.format(interpreter=interpreter, real=real_ci))
    for shim in shims.iterdir():
        shim.chmod(0o755)
    _copy_inputs(inputs)
    tree = Tree(inputs, shims, cache)
    generate(tree)                      # the copy's templates are fresh whatever main's are
    ran, calls = tree.check()
    assert ran["cfn-lint"] == 2 and ran["checkov"] == 2 and ran["freshness"] == 1
    assert sum(c.startswith("shellcheck -x") for c in calls) >= 13
    return inputs, shims, cache


@pytest.fixture
def tree(warmed, tmp_path: Path) -> Tree:
    """A fresh copy of the warmed inputs (each test edits its own)."""
    inputs, shims, cache = warmed
    shutil.copytree(inputs, tmp_path / "inputs", ignore=shutil.ignore_patterns("__pycache__", "tools.log"))
    return Tree(tmp_path / "inputs", shims, cache)


def test_an_unchanged_tree_runs_nothing(tree: Tree):
    ran, calls = tree.check()
    assert ran == {"freshness": 0, "cfn-lint": 0, "checkov": 0, "cloud-init": 0}
    assert calls == []


def test_an_edited_builder_script_reruns_its_shellcheck_and_freshness_only(tree: Tree):
    """The templates are not regenerated: cfn-lint, checkov and cloud-init schema read only them."""
    with open(tree.root / BUILDER_ONLY, "a") as f:
        f.write("# edited\n")
    ran, calls = tree.check()
    assert ran == {"freshness": 1, "cfn-lint": 0, "checkov": 0, "cloud-init": 1}
    assert calls == [f"shellcheck -x -f gcc {BUILDER_ONLY.name}"]


def test_an_edited_sourced_file_reruns_the_scripts_that_source_it(tree: Tree):
    with open(tree.root / "cloud-init/payload/hub/sh/common.sh", "a") as f:
        f.write("# edited\n")
    _, calls = tree.check()
    assert sorted(calls) == [f"shellcheck -x -f gcc {n}" for n in
                             ("common.sh", "kojistack-bootstrap", "kojistack-ready", "kojistack-smoke")]


def test_docs_and_the_simulator_rerun_nothing(tree: Tree):
    (tree.root / "docs").mkdir()
    (tree.root / "docs" / "simulator.md").write_text("edited\n")
    with open(tree.root / "kojistack/sim/bench.py", "a") as f:
        f.write("# edited\n")
    ran, calls = tree.check()
    assert ran == {"freshness": 0, "cfn-lint": 0, "checkov": 0, "cloud-init": 0}
    assert calls == []


def _user_data(tree: Tree) -> dict[str, str]:
    """Logical id -> user data text of every launch template in the copy's templates."""
    return {f"{t.name} {name}": text for t in sorted((tree.root / "templates").glob("*.json"))
            for name, text in user_data_texts(json.loads(t.read_text()))}


def test_regenerated_templates_rerun_the_template_units(tree: Tree):
    """A changed builder payload changes both templates (they carry it) and the user data of the
    machines that run it (its hash), not the hub's: every template unit runs, and `cloud-init
    schema` once for each user data text that changed."""
    before = _user_data(tree)
    with open(tree.root / BUILDER_ONLY, "a") as f:
        f.write("# edited, then the templates regenerated\n")    # an edit no other test makes (one cache)
    generate(tree)
    after = _user_data(tree)
    changed = set(after.values()) - set(before.values())
    assert changed and all(before[k] == after[k] for k in after if k.endswith("HubLaunchTemplate"))
    ran, calls = tree.check()
    assert ran["freshness"] == 1 and ran["cfn-lint"] == 2 and ran["checkov"] == 2
    assert len([c for c in calls if c.startswith("cloud-init schema")]) == len(changed)
    assert [c for c in calls if c.startswith("shellcheck")] == [f"shellcheck -x -f gcc {BUILDER_ONLY.name}"]


def test_a_new_shellcheck_version_reruns_every_script_and_nothing_else(tree: Tree):
    ran, calls = tree.check(SHELLCHECK_VERSION="99.0.0")
    assert ran["freshness"] == ran["cfn-lint"] == ran["checkov"] == 0
    assert calls and all(c.startswith("shellcheck -x") for c in calls)
    assert len(calls) == ran["cloud-init"] >= 13
