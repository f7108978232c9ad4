"""Pages written from the code stay equal to it: docs/parameters.md (from the templates) and
docs/troubleshooting.md (one section for every step name a failure record can carry)."""

from __future__ import annotations

import re

from kojistack import names
from kojistack.ops.paramdoc import render_dir
from support.paths import REPO

DOCS = REPO / "docs"
# the scripts that write the failure record's step (via `step NAME`), and the units kojistack-report
# names when no step was written yet (cloud-init/user-data/common/report.sh: `step=$(cat …/step || echo "$unit")`)
STEP_SCRIPTS = ("cloud-init/user-data/common/fetch-payload.sh", "cloud-init/payload/hub/bin/kojistack-bootstrap",
                "cloud-init/payload/hub/bin/kojistack-ready", "cloud-init/payload/builder/bin/kojistack-bootstrap")
REPORTING_UNITS = (names.UNIT_BOOTSTRAP, names.UNIT_READY)


def test_parameters_page_is_generated_from_the_committed_templates():
    page = (DOCS / "parameters.md").read_text()
    assert page == render_dir(REPO / "templates"), \
        "docs/parameters.md is stale: run `make templates` (python -m kojistack.ops.paramdoc)"


def test_parameters_page_names_every_parameter_of_both_templates():
    import json

    page = (DOCS / "parameters.md").read_text()
    for name in ("kojistack.json", "kojistack-existing-vpc.json"):
        for key in json.loads((REPO / "templates" / name).read_text())["Parameters"]:
            assert f"| `{key}` |" in page, key


def step_names() -> set[str]:
    found = set()
    for rel in STEP_SCRIPTS:
        for line in (REPO / rel).read_text().splitlines():
            if not line.lstrip().startswith("#"):
                found |= set(re.findall(r"(?:^|;|then)\s*step ([a-z][a-z0-9-]*)\s*(?:;|$)", line))
    return found


def test_the_step_names_are_found():
    names = step_names()
    assert {"preflight", "fetch-payload", "packages", "identity", "smoke-endpoint", "hand-over"} <= names
    assert not names & {"NAME", "named", "and", "is"}


def test_troubleshooting_has_a_section_for_every_step_and_no_stale_one():
    page = (DOCS / "troubleshooting.md").read_text()
    headings = set()
    for heading in re.findall(r"^### (.+)$", page, re.M):
        headings |= set(re.findall(r"`([^`]+)`", heading))
    wanted = step_names() | set(REPORTING_UNITS)
    assert not wanted - headings, f"docs/troubleshooting.md lacks a section for {sorted(wanted - headings)}"
    assert not headings - wanted, f"docs/troubleshooting.md has sections for steps no script writes: " \
                                  f"{sorted(headings - wanted)}"


def test_architecture_names_only_paths_that_exist_and_every_template_module():
    """docs/architecture.md (issue 13 items 3 and 6): every repository path it names exists (no
    stale path: cloud-init/<role>/files/ was one), and its module table lists every module of
    kojistack/template/."""
    import re

    from support.paths import REPO

    page = (DOCS / "architecture.md").read_text()
    paths = set(re.findall(r"(?<![\w/.<-])((?:kojistack|cloud-init|tests|docs|templates)/(?:[\w./-]|<[\w.]+>)*[\w/>])",
                           page))
    # a <placeholder> segment stands for any name: some file must match
    missing = sorted(p for p in paths if not list(REPO.glob(re.sub(r"<[\w.]+>", "*", p).rstrip("/"))))
    assert paths and not missing, f"docs/architecture.md names paths that do not exist: {missing}"
    modules = {p.name for p in (REPO / "kojistack" / "template").glob("*.py") if p.name != "__init__.py"}
    listed = set(re.findall(r"`(\w+\.py)`", page.split("## The CloudFormation, part by part", 1)[1]))
    assert modules <= listed, f"docs/architecture.md's module table lacks {sorted(modules - listed)}"
