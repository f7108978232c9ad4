"""Adds the cloud-init and shell checks of `kojistack check`: `cloud-init schema` over every user
data in the generated templates (the text inside each launch template's Fn::Base64/Fn::Sub, as
EC2 will see it before substitution), and shellcheck over every shell script under cloud-init/.
Both tools run for real; a missing tool is a failure, never a skip. cloud-init 22.4's schema
allows unknown top-level keys, so those are checked here against the keys its modules define."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..template.payload import CLOUD_INIT as CLOUD_INIT_DIR
from . import CheckResult

if TYPE_CHECKING:
    from .cache import Units


def user_data_texts(template: dict) -> Iterator[tuple[str, str]]:
    """(logical id, cloud-config text) of every launch template's user data."""
    for name, resource in sorted(template.get("Resources", {}).items()):
        if resource.get("Type") != "AWS::EC2::LaunchTemplate":
            continue
        user_data = resource.get("Properties", {}).get("LaunchTemplateData", {}).get("UserData")
        if not isinstance(user_data, dict) or "Fn::Base64" not in user_data:
            continue
        body = user_data["Fn::Base64"]
        if isinstance(body, dict) and "Fn::Sub" in body:
            body = body["Fn::Sub"]
            body = body[0] if isinstance(body, list) else body
        if isinstance(body, str):
            yield name, body


def shell_scripts(root: Path | None = None) -> list[Path]:
    """Every shell script under root (cloud-init/): *.sh files and files with a sh/bash shebang."""
    found = []
    for path in sorted(p for p in (root or CLOUD_INIT_DIR).rglob("*") if p.is_file()):
        if path.suffix == ".sh":
            found.append(path)
            continue
        with open(path, "rb") as f:
            first = f.readline()
        if first.startswith(b"#!") and first.split()[-1].rsplit(b"/", 1)[-1] in (b"sh", b"bash"):
            found.append(path)
    return found


_SOURCE = re.compile(r"^\s*(?:#\s*shellcheck\s+source=(\S+)|(?:\.|source)\s+([^\s;&|$`]+)\s*$)")


def sourced(script: Path) -> set[Path]:
    """The files shellcheck -x reads besides `script`: those its `# shellcheck source=` directives
    name (SCRIPTDIR is the script's directory) and the literal paths it sources, transitively,
    and every .shellcheckrc from the script's directory up (shellcheck's own search)."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        current = todo.pop()
        for line in current.read_text(errors="replace").splitlines():
            m = _SOURCE.match(line)
            name = m and (m.group(1) or m.group(2))
            if not name or name == "/dev/null":
                continue
            path = Path(name.replace("SCRIPTDIR", str(current.parent)))
            path = (script.parent / path).resolve() if not path.is_absolute() else path.resolve()
            if path.is_file() and path not in seen and path != script.resolve():
                seen.add(path)
                todo.append(path)
    seen |= {d / ".shellcheckrc" for d in script.resolve().parents if (d / ".shellcheckrc").is_file()}
    return seen


def _missing(tool: str) -> str | None:
    return None if shutil.which(tool) else f"{tool} is not installed (CI installs it; so must you)"


def known_top_level_keys() -> set[str]:
    """The cloud-config keys the installed cloud-init's modules define (its own JSON schema)."""
    cloud_init = shutil.which("cloud-init")
    assert cloud_init
    with open(cloud_init, "rb") as f:
        interpreter = f.readline()[2:].decode().split()
    path = subprocess.run(interpreter + ["-c", "import cloudinit.config.schema as s; print(s.get_schema_dir())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    schema = json.loads((Path(path) / "schema-cloud-config-v1.json").read_text())
    return {key for d in schema["$defs"].values() for key in d.get("properties", {})}


def _schema(text: str, known: set[str]) -> list[str]:
    """Findings of one user data text: unknown top-level keys, then `cloud-init schema`'s."""
    findings = []
    doc = yaml.safe_load(text)
    unknown = sorted(set(doc) - known) if isinstance(doc, dict) else []
    if unknown:
        findings.append(f"unknown cloud-config keys {', '.join(unknown)}")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(text)
        f.flush()
        result = subprocess.run(["cloud-init", "schema", "-c", f.name], capture_output=True, text=True)
    if result.returncode != 0:
        findings.append((result.stdout + result.stderr).strip().replace(f.name, "user data"))
    return findings


def schema_findings(templates_dir: Path, units: Units | None = None) -> tuple[int, list[str]]:
    """(user data checked, findings) for every *.json template in templates_dir. Each distinct text
    is one unit (checks.cache: the text, cloud-init's version, this module's code) and goes through
    `cloud-init schema` at most once (both templates carry the same hub and builder user data);
    its findings are reported at every place it occurs."""
    from .cache import Units, tool_version

    units = units or Units()
    version = tool_version("cloud-init", "--version")
    known: list[set[str]] = []          # the installed cloud-init's keys, read when a unit runs

    def run(text: str) -> list[str]:
        if not known:
            known.append(known_top_level_keys())
        return _schema(text, known[0])

    count, findings = 0, []
    seen: dict[str, list[str]] = {}
    for template_path in sorted(Path(templates_dir).glob("*.json")):
        template = json.loads(template_path.read_text())
        for name, text in user_data_texts(template):
            count += 1
            if text not in seen:
                seen[text] = units.run(units.key("cloud-init schema", __file__, [version, text]), partial(run, text))
            findings += [f"{template_path.name} {name}: {line}" for line in seen[text]]
    return count, findings


def _shellcheck(script: Path) -> list[str]:
    result = subprocess.run(["shellcheck", "-x", "-f", "gcc", script.name], cwd=script.parent,
                            capture_output=True, text=True)
    return [line for line in (result.stdout + result.stderr).splitlines() if line] if result.returncode else []


def shellcheck_findings(scripts: list[Path], units: Units | None = None) -> list[str]:
    """shellcheck's findings, one unit per script (checks.cache: the script and the files it
    sources, shellcheck's version, this module's code)."""
    from .cache import Units, tool_version

    units = units or Units()
    version = tool_version("shellcheck", "--version")
    findings = []
    for script in scripts:
        key = units.key("shellcheck", __file__, [version], [script, *sourced(script)])
        findings += [f"{script}: {line}" for line in units.run(key, partial(_shellcheck, script))]
    return findings


def check(templates_dir: Path, units: Units | None = None) -> CheckResult:
    missing = [m for m in (_missing("cloud-init"), _missing("shellcheck")) if m]
    if missing:
        return CheckResult("cloud-init", False, "; ".join(missing))
    count, findings = schema_findings(templates_dir, units)
    if count == 0:
        return CheckResult("cloud-init", False, f"no launch-template user data in {templates_dir}/*.json")
    scripts = shell_scripts()
    findings += shellcheck_findings(scripts, units)
    return CheckResult("cloud-init", not findings,
                       f"{count} user data (cloud-init schema), {len(scripts)} shell scripts "
                       f"(shellcheck): {len(findings)} findings", findings)
