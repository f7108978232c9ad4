"""Results of `kojistack check` stages kept by the content hash of their inputs and the versions of
their tools, so a re-check after a one-file change re-runs only the stages that read that file
(issue 14 item 8). A stage opts in with a `fingerprint(templates_dir) -> str` attribute on its check
function; the cache lives in $XDG_CACHE_HOME/kojistack/check (~/.cache when unset)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from . import CheckResult


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kojistack" / "check"


def digest(parts: Iterable[str], files: Iterable[Path]) -> str:
    """SHA-256 over the strings, then over each file's name and bytes (in sorted order)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() + b"\0")
    for path in sorted(Path(f) for f in files):
        h.update(str(path.name).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def tree(root: Path) -> list[Path]:
    """Every file under root, caches of Python left out."""
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def tool_version(*argv: str) -> str:
    """First line a tool prints for its version ("missing" when it cannot run: the stage says why)."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    except OSError:
        return f"{argv[0]} missing"
    return (out.stdout + out.stderr).strip().splitlines()[0] if (out.stdout + out.stderr).strip() else "?"


def load(directory: Path, key: str) -> CheckResult | None:
    path = directory / f"{key}.json"
    try:
        return CheckResult(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def store(directory: Path, key: str, result: CheckResult) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(asdict(result)))
        tmp.replace(directory / f"{key}.json")
    except OSError:  # a cache that cannot be written only costs time
        pass
