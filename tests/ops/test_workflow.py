"""The GitHub Actions workflows: this repository's `kojistack check`, the recipe a user copies
(docs/ci/kojistack-check.yml: kojistack from a released wheel, no source), and the release workflow
(on a tag: build, check, upload, attach). Their scripts pass shellcheck."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from support.paths import REPO

CHECK = REPO / ".github" / "workflows" / "kojistack-check.yml"
USER_RECIPE = REPO / "docs" / "ci" / "kojistack-check.yml"
RELEASE = REPO / ".github" / "workflows" / "release.yml"
ALL = [CHECK, USER_RECIPE, RELEASE]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def runs(path: Path, job: str) -> list[str]:
    return [s.get("run", "") for s in load(path)["jobs"][job]["steps"]]


def order(scripts: list[str], needles: dict[str, str]) -> dict[str, int]:
    return {name: next(i for i, r in enumerate(scripts) if needle in r) for name, needle in needles.items()}


@pytest.mark.parametrize("path", [CHECK, USER_RECIPE], ids=lambda p: p.name if p != USER_RECIPE else "user")
def test_check_runs_kojistack_check_after_installing_its_tools(path):
    scripts = runs(path, "check")
    at = order(scripts, {"apt": "apt-get install", "kojistack": "pipx install", "checkov": "checkov==",
                         "check": "kojistack check"})
    assert at["check"] > max(at["apt"], at["kojistack"], at["checkov"])
    assert "shellcheck" in scripts[at["apt"]] and "cloud-init" in scripts[at["apt"]]


@pytest.mark.parametrize("path", [CHECK, USER_RECIPE], ids=lambda p: p.name if p != USER_RECIPE else "user")
def test_check_restores_the_unit_results_of_earlier_runs(path):
    """A re-check after a one-file change costs only what changed in CI too (issue 14 item 8):
    actions/cache restores the check's result cache (checks.cache.default_dir) before the check."""
    steps = load(path)["jobs"]["check"]["steps"]
    check = next(i for i, s in enumerate(steps) if "kojistack check" in s.get("run", ""))
    cache = [s for s in steps[:check] if s.get("uses", "").startswith("actions/cache@")]
    assert len(cache) == 1 and cache[0]["with"]["path"] == steps[check]["env"]["XDG_CACHE_HOME"] + "/kojistack/check"
    assert cache[0]["with"]["restore-keys"] == "kojistack-check-"


@pytest.mark.parametrize("path", [CHECK, USER_RECIPE], ids=lambda p: p.name if p != USER_RECIPE else "user")
def test_kojistack_is_installed_from_a_wheel_not_the_source_tree(path):
    text = "\n".join(runs(path, "check"))
    assert "-e ." not in text and "pip install ." not in text
    assert re.search(r"pipx install \S*(\.whl|KOJISTACK_WHEEL)", text)


def test_the_user_recipe_needs_no_kojistack_source():
    doc = load(USER_RECIPE)
    assert doc["env"]["KOJISTACK_WHEEL"].endswith("-py3-none-any.whl")
    text = USER_RECIPE.read_text()
    assert "pip wheel" not in text and "cloud-init/" not in text.split("steps:")[1]


def test_release_builds_checks_uploads_and_attaches_on_a_tag():
    doc = load(RELEASE)
    assert doc[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as True
    scripts = runs(RELEASE, "release")
    at = order(scripts, {"build": "python -m build", "fresh": "git diff --exit-code -- templates/",
                         "check": "kojistack check", "upload": "kojistack upload", "attach": "gh release create"})
    assert at["build"] < at["fresh"] < at["check"] < at["upload"] < at["attach"]
    attach = scripts[at["attach"]]
    assert "dist/*" in attach and "templates/*.json" in attach
    assert "--prefix kojistack" in scripts[at["upload"]]


def test_checkov_pins_match_the_makefile():
    makefile = (REPO / "Makefile").read_text()
    for path in ALL:
        assert f"checkov=={load(path)['env']['CHECKOV_VERSION']}" in makefile, path.name


def test_actions_are_pinned_and_permissions_least():
    for path in ALL:
        doc = load(path)
        expected = ({"contents": "write", "id-token": "write"} if path == RELEASE else {"contents": "read"})
        assert doc["permissions"] == expected, path.name
        uses = [s["uses"] for job in doc["jobs"].values() for s in job["steps"] if "uses" in s]
        assert uses and all(re.fullmatch(r"(actions|aws-actions)/[a-z-]+@v\d+", u) for u in uses), path.name


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_run_scripts_pass_shellcheck(path, tmp_path):
    for name, job in load(path)["jobs"].items():
        for i, step in enumerate(job["steps"]):
            if "run" not in step:
                continue
            script = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", step["run"])
            file = tmp_path / f"{name}-{i}.sh"
            file.write_text("#!/bin/bash\nset -euo pipefail\n" + script)
            subprocess.run(["shellcheck", "-s", "bash", str(file)], check=True)
