"""Which shipped schema upgrades to apply when a newer koji meets an older database.

koji ships /usr/share/koji/schema-upgrade-X.Y-X.Z.sql for each release that changed the schema.
The database records (kojistack_meta.koji_schema) the koji version its schema matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Version = tuple[int, ...]
_UPGRADE = re.compile(r"^schema-upgrade-(\d+(?:\.\d+)+)-(\d+(?:\.\d+)+)\.sql$")


class SchemaError(Exception):
    """The database schema cannot be brought to the installed koji version."""


def parse_version(text: str) -> Version:
    """'1.35.3' -> (1, 35): schema versions are major.minor."""
    match = re.match(r"^(\d+)\.(\d+)", text.strip())
    if not match:
        raise SchemaError(f"not a koji version: {text!r}")
    return int(match.group(1)), int(match.group(2))


def plan(db_version: str, installed_version: str, files: Iterable[str]) -> list[str]:
    """The upgrade files to apply, in order, to go from db_version to installed_version."""
    have, want = parse_version(db_version), parse_version(installed_version)
    if have > want:
        raise SchemaError(f"the database schema is for koji {db_version}, newer than the installed "
                          f"koji {installed_version}: install koji {db_version} or newer")
    steps = []
    for name in files:
        match = _UPGRADE.match(name)
        if match:
            steps.append((parse_version(match.group(1)), parse_version(match.group(2)), name))
    chosen = [name for start, end, name in sorted(steps) if have <= start and end <= want]
    return chosen
