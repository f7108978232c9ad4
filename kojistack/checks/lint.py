"""cfn-lint, pinned and in-process: informational rules on, every region we lint for. No
suppression outside a resource's own Metadata."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from . import CheckResult

if TYPE_CHECKING:
    from .cache import Units

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")


def lint_text(text: str, regions: tuple[str, ...] = REGIONS) -> list[str]:
    """cfn-lint findings for one template, as 'RULE path: message' lines."""
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=list(regions), include_checks=["I"]))
    return [f"{m.rule.id} {'/'.join(map(str, m.path))}: {m.message}" for m in matches]


def _tables() -> tuple[dict, dict]:
    import cfnlint

    ext = Path(cfnlint.__file__).parent / "data" / "schemas" / "extensions"
    ec2 = json.loads((ext / "aws_ec2_instance" / "instancetype_enum.json").read_text())
    rds = json.loads((ext / "aws_rds_dbinstance" / "dbinstanceclass_enum.json").read_text())
    return ec2, rds


def _postgres_classes(rds: dict, region: str) -> set[str]:
    for rule in rds[region]["allOf"]:
        props = rule["if"]["properties"]
        if props.get("Engine", {}).get("const") == "postgres" and props.get("LicenseModel") is False:
            return set(rule["then"]["properties"]["DBInstanceClass"]["enum"])
    return set()


def instance_types(t: dict) -> set[str]:
    """Every EC2 type the template can launch: ASG overrides and instance-type parameters' values."""
    found = set()
    for r in t.get("Resources", {}).values():
        mip = r.get("Properties", {}).get("MixedInstancesPolicy")
        if mip:
            found |= {o["InstanceType"] for o in mip["LaunchTemplate"].get("Overrides", [])}
    for name, p in t.get("Parameters", {}).items():
        if name.endswith("InstanceType"):
            found |= set(p.get("AllowedValues", [])) | ({p["Default"]} if p.get("Default") else set())
    return found


def regional_findings(t: dict, regions: tuple[str, ...] = REGIONS) -> list[str]:
    """Instance types and DB classes a region does not offer. cfn-lint itself checks only literal
    launch-template types, not ASG overrides or parameter values (calibration §2.2)."""
    ec2, rds = _tables()
    classes = set(t.get("Parameters", {}).get("DbInstanceClass", {}).get("AllowedValues", []))
    out = []
    for region in regions:
        for itype in sorted(instance_types(t) - set(ec2[region]["enum"])):
            out.append(f"region {region}: instance type {itype} is not offered there")
        for cls in sorted(classes - _postgres_classes(rds, region)):
            out.append(f"region {region}: DB class {cls} is not offered for PostgreSQL there")
    return out


def read_template(path: Path) -> tuple[str, dict]:
    """The text and the parsed template of a JSON or YAML CloudFormation file; UserError when it is not
    one (not UTF-8, not JSON or YAML, not a mapping with Resources)."""
    from cfnlint.decode import decode_str

    from ..errors import UserError

    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as err:
        raise UserError(f"{path}: cannot read it: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (offset {err.start}): not a CloudFormation template") from None
    parsed, errors = decode_str(text)
    if errors or not isinstance(parsed, dict):
        why = errors[0].message if errors else "the top level is not a mapping"
        raise UserError(f"{path}: not a CloudFormation template in JSON or YAML: {why}")
    if "Resources" not in parsed:
        raise UserError(f"{path}: not a CloudFormation template: it has no Resources section")
    return text, dict(parsed)


def _findings(text: str, parsed: dict) -> list[str]:
    return lint_text(text) + regional_findings(json.loads(json.dumps(parsed)))


def lint_files(files: list[Path], units: Units | None = None) -> list[str]:
    """Findings of every file, prefixed with its name; one unit per template (checks.cache): its
    text, cfn-lint's version, the regions and this module's code."""
    from importlib.metadata import version

    from .cache import Units

    units = units or Units()
    tool = f"cfn-lint {version('cfn-lint')}"
    out = []
    for f in files:
        text, parsed = read_template(Path(f))
        key = units.key("cfn-lint", __file__, [tool, *REGIONS, text])
        out += [f"{Path(f).name}: {line}" for line in units.run(key, partial(_findings, text, parsed))]
    return out


def check(templates_dir: Path, units: Units | None = None) -> CheckResult:
    files = sorted(Path(templates_dir).glob("*.json"))
    if not files:
        return CheckResult("cfn-lint", False, f"no templates in {templates_dir}")
    findings = lint_files(files, units)
    return CheckResult("cfn-lint", not findings,
                       f"{len(files)} templates, regions {', '.join(REGIONS)}, informational rules on: "
                       f"{len(findings)} findings (with instance types and DB classes per region)", findings)
