"""Results of `kojistack check` kept per unit of work, by the content hash of the unit's inputs,
the versions of its tools and the check's own code, so a re-check after a one-file change re-runs
only the units that read that file (issue 14 item 8). A unit is one template for cfn-lint and for
checkov, one distinct user data for `cloud-init schema`, one script (with the files it sources)
for shellcheck, and the generation for freshness. The cache lives in $XDG_CACHE_HOME/kojistack/check
(~/.cache when unset); a cache that cannot be read or written only costs time."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: the cache's own machinery and the result type: part of every key
_MACHINERY = (Path(__file__), Path(__file__).with_name("__init__.py"))


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kojistack" / "check"


def digest(parts: Iterable[str], files: Iterable[Path], root: Path | None = None) -> str:
    """SHA-256 over the strings, then over each file's name (relative to `root`, else its base
    name), executable bit and bytes, in sorted order."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() + b"\0")
    for path in sorted({Path(f) for f in files}):
        name = path.relative_to(root).as_posix() if root is not None else path.name
        h.update(name.encode() + b"\0" + (b"x" if path.stat().st_mode & 0o111 else b"-"))
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def tree(root: Path) -> list[Path]:
    """Every file under root, caches of Python left out."""
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".pyo"))


def tool_version(*argv: str) -> str:
    """What a tool prints for its version, all of it ("missing" when it cannot run: the stage says
    why). All of it: shellcheck's first line is its name, the version is on the second."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    except OSError:
        return f"{argv[0]} missing"
    return " | ".join((out.stdout + out.stderr).strip().splitlines()) or "?"


class Units:
    """One stage's view of the result cache. `key` names a unit by its inputs; `run` answers it
    from `directory` when that key was kept, else computes it and keeps it (JSON values). Without a
    directory every unit runs. `ran` and `reused` count the units (what `kojistack check` prints)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.ran = 0
        self.reused = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(stage: str, code: str, parts: Iterable[str] = (), files: Iterable[Path] = (),
            root: Path | None = None) -> str:
        """The unit's key: the stage, its check module's code (`code`: that module's __file__), the
        cache's own code, `parts` (tool versions, settings, texts) and `files` (names and bytes)."""
        return (digest([stage, *(Path(p).read_text() for p in (code, *_MACHINERY)), *parts], files, root))

    def get(self, key: str) -> Any | None:
        if self.directory is None:
            return None
        try:
            value = json.loads((self.directory / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        with self._lock:
            self.reused += 1
        return value

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self.ran += 1
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
            tmp.write_text(json.dumps(value))
            tmp.replace(self.directory / f"{key}.json")
        except OSError:  # a cache that cannot be written only costs time
            pass

    def run(self, key: str, compute: Callable[[], T]) -> T:
        """The kept value of `key`, or `compute()` (kept for next time)."""
        found = self.get(key)
        if found is not None:
            return found
        value = compute()
        self.put(key, value)
        return value
