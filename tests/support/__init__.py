"""Helpers shared by several test wings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

NO_PYTHON39 = ("Python 3.9 is needed for this test (EL9's system Python runs the controller and the hub's "
               "helpers) and none was found: install one (`pyenv install 3.9.18`, or your distro's python3.9) "
               "or set KOJISTACK_PYTHON39=/path/to/python3.9 (README.md, 'Running the tests')")


def python39() -> str:
    """Python 3.9 (EL9's system Python): $KOJISTACK_PYTHON39, pyenv's 3.9.x, or python3.9 on PATH.
    .ci/run makes sure one exists; a missing one fails the tests that need it with NO_PYTHON39 (never
    skips, never a traceback). Call it inside a test, not at import, so the rest of the suite runs."""
    given = os.environ.get("KOJISTACK_PYTHON39")
    if given:
        if not (Path(given).is_file() and os.access(given, os.X_OK)):
            pytest.fail(f"KOJISTACK_PYTHON39={given} is not an executable file. {NO_PYTHON39}", pytrace=False)
        return given
    for candidate in sorted((Path.home() / ".pyenv" / "versions").glob("3.9*/bin/python3.9"), reverse=True):
        return str(candidate)
    found = shutil.which("python3.9")
    if not found:
        pytest.fail(NO_PYTHON39, pytrace=False)
    return found
