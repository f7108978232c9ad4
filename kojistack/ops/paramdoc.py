"""docs/parameters.md: the parameter reference, written from the generated templates (both entry
templates; a parameter only one of them has says so). `python -m kojistack.ops.paramdoc` (run by
`make templates`) rewrites it; tests/ops/test_docs.py keeps the committed page equal to it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TEMPLATES = {"kojistack.json": "new-VPC template", "kojistack-existing-vpc.json": "existing-VPC template"}
HEADER = """# Parameter reference

Generated from `templates/` by `make templates` (`python -m kojistack.ops.paramdoc`); do not edit:
`tests/ops/test_docs.py` fails when this page and the templates disagree. Groups are in the order the
CloudFormation console shows them. Values are checked before any AWS call by `kojistack deploy`
(the same constraints and Rules as the console). The Rules that tie parameters together are listed
at the end.
"""


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _allowed(p: dict[str, Any]) -> str:
    if "AllowedValues" in p:
        return ", ".join(f"`{v}`" for v in p["AllowedValues"])
    if "MinValue" in p or "MaxValue" in p:
        return f"{p.get('MinValue', '')} to {p.get('MaxValue', '')}"
    if "AllowedPattern" in p:
        return p.get("ConstraintDescription", "") + f" (pattern `{p['AllowedPattern']}`)"
    return f"an AWS `{p['Type']}`" if p["Type"].startswith(("AWS::", "List<")) else "any"


def render(templates: dict[str, dict[str, Any]]) -> str:
    """The page, from {file name: template dict}."""
    groups: list[tuple[str, list[str]]] = []
    params: dict[str, dict[str, Any]] = {}
    labels: dict[str, str] = {}
    present: dict[str, list[str]] = {}
    rules: dict[str, list[str]] = {}
    for name in TEMPLATES:
        t = templates[name]
        meta = t["Metadata"]["AWS::CloudFormation::Interface"]
        for group in meta["ParameterGroups"]:
            label = group["Label"]["default"]
            found = next((g for g in groups if g[0] == label), None)
            if found is None:
                found = (label, [])
                groups.append(found)
            for p in group["Parameters"]:
                if p not in found[1]:
                    found[1].append(p)
        for key, p in t["Parameters"].items():
            params.setdefault(key, p)
            labels.setdefault(key, meta["ParameterLabels"].get(key, {}).get("default", key))
            present.setdefault(key, []).append(name)
        for rule, body in t.get("Rules", {}).items():
            for a in body["Assertions"]:
                if a["AssertDescription"] not in rules.setdefault(rule, []):
                    rules[rule].append(a["AssertDescription"])
    out = [HEADER]
    for label, names in groups:
        out += [f"\n## {label}\n", "| Parameter | Console label | Default | Allowed | What it does |",
                "|---|---|---|---|---|"]
        for key in names:
            p = params[key]
            only = "" if len(present[key]) == len(TEMPLATES) else f" (only in the {TEMPLATES[present[key][0]]})"
            default = f"`{p['Default']}`" if p.get("Default", None) not in (None, "") else "(empty)" \
                if "Default" in p else "(required)"
            out.append(f"| `{key}` | {_cell(labels[key])} | {default} | {_cell(_allowed(p))} | "
                       f"{_cell(p.get('Description', ''))}{only} |")
    out += ["\n## Rules (checked together, before anything is created)\n"]
    for rule, texts in rules.items():
        out.append(f"- `{rule}`: " + "; ".join(texts))
    return "\n".join(out) + "\n"


def render_dir(templates_dir: Path) -> str:
    return render({name: json.loads((templates_dir / name).read_text()) for name in TEMPLATES})


if __name__ == "__main__":  # pragma: no cover
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("templates")
    dest = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("docs/parameters.md")
    dest.write_text(render_dir(src))
    print(f"wrote {dest}")
