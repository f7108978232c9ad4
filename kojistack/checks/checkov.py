"""checkov over every template, in its own environment (`.venv-checkov`, `--skip-download`).

Adds the checkov gate of `kojistack check`: zero failed checks, and every skip sits in the
resource's own Metadata (`{"checkov": {"skip": [{"id": ..., "comment": ...}]}}`) with a comment
saying why. Counts passed, failed and skipped per template.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import CheckResult

if TYPE_CHECKING:
    from .cache import Units

VENV_BIN = Path(".venv-checkov") / "bin" / "checkov"
ENV_OVERRIDE = "KOJISTACK_CHECKOV"


@dataclass(frozen=True)
class Counts:
    """checkov's outcome for one template."""

    template: str
    passed: int
    failed: list[str]  # "CHECK_ID Type.Logical: name"
    skipped: list[str]  # "CHECK_ID Type.Logical: comment"

    def line(self) -> str:
        return f"{self.template}: {self.passed} passed, {len(self.failed)} failed, {len(self.skipped)} skipped"


def find_checkov() -> Path | None:
    """$KOJISTACK_CHECKOV, else .venv-checkov beside the source tree or in the working directory
    (the Makefile's `$(CHECKOV)` target makes it), else `checkov` on PATH."""
    if os.environ.get(ENV_OVERRIDE):
        return Path(os.environ[ENV_OVERRIDE])
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (base / VENV_BIN).exists():
            return base / VENV_BIN
    found = shutil.which("checkov")
    return Path(found) if found else None


def uncommented_skips(template: dict) -> list[str]:
    """Skips in resource Metadata that carry no reason (checkov itself accepts them silently)."""
    bad = []
    for logical, res in sorted(template.get("Resources", {}).items()):
        for skip in (res.get("Metadata") or {}).get("checkov", {}).get("skip", []):
            if not str(skip.get("comment", "")).strip():
                bad.append(f"{logical}: checkov skip {skip.get('id', '?')} has no comment saying why")
    return bad


def run_checkov(checkov: Path, templates: list[Path]) -> list[Counts]:
    """Run checkov once over the template files and count its results per template."""
    args = [str(checkov), "--framework", "cloudformation", "--skip-download", "--output", "json", "--compact"]
    for t in templates:
        args += ["--file", str(t)]
    proc = subprocess.run(args, capture_output=True, text=True, check=False,
                          env={**os.environ, "LOG_LEVEL": "ERROR"})
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"checkov gave no JSON report (exit {proc.returncode}): " + " | ".join(tail)) from None
    if isinstance(report, list):  # several frameworks; we ask for one
        report = next(r for r in report if r.get("check_type") == "cloudformation")
    if report.get("summary", {}).get("parsing_errors"):
        raise RuntimeError(f"checkov could not parse: {report['results'].get('parsing_errors')}")
    results = report.get("results", {})

    def of(kind: str, name: str) -> list[dict]:
        return [i for i in results.get(kind, []) if Path(i["file_path"]).name == name]

    def fmt(item: dict, what: str) -> str:
        return f"{item['check_id']} {item['resource']}: {what}"

    return [Counts(t.name, len(of("passed_checks", t.name)),
                   sorted(fmt(i, i.get("check_name", "")) for i in of("failed_checks", t.name)),
                   sorted(fmt(i, (i.get("check_result") or {}).get("suppress_comment", ""))
                          for i in of("skipped_checks", t.name)))
            for t in templates]


def _version(tool: Path) -> str:
    """The checkov that would run, with its version: its own environment's package metadata names
    it (`checkov --version` takes seconds)."""
    found = sorted(tool.resolve().parents[1].glob("lib/python*/site-packages/checkov-*.dist-info"))
    from .cache import tool_version
    return f"{tool} {found[-1].name if found else tool_version(str(tool), '--version')}"


def check(templates_dir: Path, units: Units | None = None) -> CheckResult:
    """One unit per template (checks.cache: its bytes, the checkov and its version, this module's
    code); the templates not answered from the cache go through one checkov run together."""
    from .cache import Units

    units = units or Units()
    files = sorted(Path(templates_dir).glob("*.json"))
    if not files:
        return CheckResult("checkov", False, f"no templates in {templates_dir}")
    checkov = find_checkov()
    if checkov is None or not checkov.exists():
        return CheckResult("checkov", False, "checkov not found: run `make .venv-checkov/bin/checkov` "
                                             f"(or set {ENV_OVERRIDE})")
    tool = _version(checkov)
    keys = {f: units.key("checkov", __file__, [tool], [f]) for f in files}
    kept: dict[Path, Any] = {f: units.get(keys[f]) for f in files}
    missing = [f for f in files if kept[f] is None]
    if missing:
        try:
            fresh = run_checkov(checkov, missing)
        except RuntimeError as err:
            return CheckResult("checkov", False, str(err))
        for f, counts in zip(missing, fresh, strict=True):
            kept[f] = {"counts": asdict(counts), "unreasoned": uncommented_skips(json.loads(f.read_text()))}
            units.put(keys[f], kept[f])
    per_template = [Counts(**kept[f]["counts"]) for f in files]
    details: list[str] = []
    for f, counts in zip(files, per_template, strict=True):
        details += [f"{f.name}: FAILED {x}" for x in counts.failed]
        details += [f"{f.name}: {x}" for x in kept[f]["unreasoned"]]
    return CheckResult("checkov", not details, "; ".join(c.line() for c in per_template), details)
