"""cfn-lint, pinned and in-process: informational rules on, every region we lint for. No
suppression outside a resource's own Metadata."""

from __future__ import annotations

from pathlib import Path

from . import CheckResult

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")


def lint_text(text: str, regions: tuple[str, ...] = REGIONS) -> list[str]:
    """cfn-lint findings for one template, as 'RULE path: message' lines."""
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=list(regions), include_checks=["I"]))
    return [f"{m.rule.id} {'/'.join(map(str, m.path))}: {m.message}" for m in matches]


def lint_files(files: list[Path]) -> list[str]:
    return [f"{f.name}: {line}" for f in files for line in lint_text(Path(f).read_text())]


def check(templates_dir: Path) -> CheckResult:
    files = sorted(Path(templates_dir).glob("*.json"))
    if not files:
        return CheckResult("cfn-lint", False, f"no templates in {templates_dir}")
    findings = lint_files(files)
    return CheckResult("cfn-lint", not findings,
                       f"{len(files)} templates, regions {', '.join(REGIONS)}, informational rules on: "
                       f"{len(findings)} findings", findings)
