"""docs/operations.md stays true: every failure mode the design names has a row with a test, every
test it cites exists, the restore parameters and the PostgreSQL pin it names are the template's."""

from __future__ import annotations

import re

from kojistack.template.database import POSTGRES
from support.paths import REPO

DOC = REPO / "docs" / "operations.md"
FAILURE_MODES = ("Hub instance lost", "An AZ down", "RDS failover", "Builder lost mid-build", "Spot interruption",
                 "Controller crash", "Certificate expiry", "Stack update replaces the hub", "koji upgrade",
                 "Stack deleted", "Restore into a new stack")
RESTORE_PARAMETERS = ("DbSnapshotIdentifier", "ExistingFileSystemId", "RestoreCaSecretArn",
                      "RestoreBuilderCaSecretArn", "RestoreKeyArn")


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"^\| \*\*(.+?)\*\*", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in line.strip("|").split(" | ")]
    return rows


def test_every_failure_mode_has_a_row_with_all_columns():
    rows = _rows()
    assert set(FAILURE_MODES) <= rows.keys(), sorted(set(FAILURE_MODES) - rows.keys())
    for name in FAILURE_MODES:
        assert len(rows[name]) == 5 and all(rows[name]), name


def test_every_cited_test_exists():
    path, checked = "", 0
    for ref_path, name in re.findall(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", DOC.read_text()):
        path = ref_path or path  # "`::name`" continues the last file named
        if not path:
            continue
        text = (REPO / path).read_text()
        assert not name or f"def {name}(" in text, f"{path}::{name} does not exist"
        checked += 1
    assert checked >= 25, checked


def test_restore_parameters_and_the_postgres_pin_are_the_templates(templates):
    text = DOC.read_text()
    for name in RESTORE_PARAMETERS:
        assert f"{name}=" in text
        assert all(name in t["Parameters"] for t in templates.values())
    assert f'POSTGRES = ("{POSTGRES[0]}", "{POSTGRES[1]}")' in text
