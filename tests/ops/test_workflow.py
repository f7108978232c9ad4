"""The GitHub Actions workflow: runs `kojistack check` with the tools it needs; its scripts pass shellcheck."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from support.paths import REPO

WORKFLOW = REPO / ".github" / "workflows" / "kojistack-check.yml"


def load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(job: str) -> list[dict]:
    return load()["jobs"][job]["steps"]


def test_check_job_runs_kojistack_check_after_installing_its_tools():
    runs = [s.get("run", "") for s in steps("check")]
    order = {name: next(i for i, r in enumerate(runs) if needle in r) for name, needle in [
        ("apt", "apt-get install"), ("kojistack", "pip install -q -e ."), ("checkov", "checkov=="),
        ("check", "kojistack check")]}
    assert order["check"] > max(order["apt"], order["kojistack"], order["checkov"])
    apt = runs[order["apt"]]
    assert "shellcheck" in apt and "cloud-init" in apt


def test_checkov_and_koji_pins_match_the_makefile():
    makefile = (REPO / "Makefile").read_text()
    env = load()["env"]
    assert f"checkov=={env['CHECKOV_VERSION']}" in makefile
    assert re.search(rf"KOJI_VERSION\s*:=\s*{re.escape(env['KOJI_VERSION'])}\b", makefile)


def test_actions_are_pinned_and_permissions_read_only():
    doc = load()
    assert doc["permissions"] == {"contents": "read"}
    uses = [s["uses"] for job in doc["jobs"].values() for s in job["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"actions/[a-z-]+@v\d+", u) for u in uses)


def test_run_scripts_pass_shellcheck(tmp_path):
    doc = load()
    for name, job in doc["jobs"].items():
        for i, step in enumerate(job["steps"]):
            if "run" not in step:
                continue
            script = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", step["run"])
            path = tmp_path / f"{name}-{i}.sh"
            path.write_text("#!/bin/bash\nset -euo pipefail\n" + script)
            subprocess.run(["shellcheck", "-s", "bash", str(path)], check=True)
