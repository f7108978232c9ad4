"""Helpers shared by several test wings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def python39() -> str:
    """Python 3.9 (EL9's system Python): $KOJISTACK_PYTHON39, pyenv's 3.9.x, or python3.9 on PATH.
    .ci/run makes sure one exists; a missing one fails the tests that need it (never skips)."""
    if os.environ.get("KOJISTACK_PYTHON39"):
        return os.environ["KOJISTACK_PYTHON39"]
    for candidate in sorted((Path.home() / ".pyenv" / "versions").glob("3.9*/bin/python3.9"), reverse=True):
        return str(candidate)
    return shutil.which("python3.9") or "python3.9"
