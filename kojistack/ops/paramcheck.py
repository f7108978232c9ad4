"""Stack parameters checked on this machine against the template's own constraints and Rules, before
any AWS call, with the messages the CloudFormation console gives for the same mistakes.

What CloudFormation checks and says (AWS CloudFormation User Guide, "Parameters" and "Rules"):
- AllowedValues, AllowedPattern (the whole value), MinLength/MaxLength, MinValue/MaxValue, Number and
  List<Number> types; a parameter with a ConstraintDescription reports only that:
  "Parameter 'X' failed to satisfy constraint: <ConstraintDescription>"; without one, e.g.
  "Parameter 'X' must match pattern <pattern>" or "Parameter 'X' must be one of AllowedValues".
- A parameter without a default and without a value on create: "Parameters: [X] must have values".
- AWS-specific types (AWS::EC2::VPC::Id, List<AWS::EC2::Subnet::Id>, ...) are looked up in the account;
  the console says "Parameter validation failed: parameter value V for parameter name X does not
  exist". Here only their form is checked (vpc-, subnet-, ... followed by 8 or 17 hex digits).
- Rules: each assertion whose Assert is false fails the operation with its AssertDescription.
  Evaluated here: Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Contains, Fn::EachMemberEquals,
  Fn::EachMemberIn over Ref; an assertion using anything else (Fn::ValueOf, Fn::RefAll) is left to
  CloudFormation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import UserError

_AWS_ID = {
    "AWS::EC2::VPC::Id": ("vpc", "a VPC ID such as vpc-0123456789abcdef0"),
    "AWS::EC2::Subnet::Id": ("subnet", "a subnet ID such as subnet-0123456789abcdef0"),
    "AWS::EC2::SecurityGroup::Id": ("sg", "a security group ID such as sg-0123456789abcdef0"),
    "AWS::EC2::Image::Id": ("ami", "an AMI ID such as ami-0123456789abcdef0"),
    "AWS::EC2::Instance::Id": ("i", "an instance ID such as i-0123456789abcdef0"),
    "AWS::EC2::Volume::Id": ("vol", "a volume ID such as vol-0123456789abcdef0"),
}


class _Unknown(Exception):
    """An assertion refers to something not known here (a value or a function): CloudFormation decides."""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _members(ptype: str, value: str) -> list[str]:
    return [m.strip() for m in value.split(",")] if ptype.startswith("List<") or ptype == "CommaDelimitedList" \
        else [value]


def _constraint_problem(name: str, spec: Mapping[str, Any], value: str) -> str | None:
    """CloudFormation's own words for the first constraint `value` breaks, or None."""
    ptype = spec.get("Type", "String")
    described = spec.get("ConstraintDescription")

    def said(default: str) -> str:
        return f"Parameter '{name}' failed to satisfy constraint: {described}" if described else default

    members = _members(ptype, value)
    if ptype in ("Number", "List<Number>") and not all(_is_number(m) for m in members):
        return said(f"Parameter '{name}' must be a number")
    allowed = [str(v) for v in spec.get("AllowedValues", [])]
    if allowed and not all(m in allowed for m in members):
        return said(f"Parameter '{name}' must be one of AllowedValues") + f" (allowed: {', '.join(allowed)})"
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not all(re.fullmatch(pattern, m) for m in members):
        return said(f"Parameter '{name}' must match pattern {pattern}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return said(f"Parameter '{name}' must contain at least {spec['MinLength']} characters")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return said(f"Parameter '{name}' must contain at most {spec['MaxLength']} characters")
    if "MinValue" in spec and any(float(m) < float(spec["MinValue"]) for m in members):
        return said(f"Parameter '{name}' must be a number not less than {spec['MinValue']}")
    if "MaxValue" in spec and any(float(m) > float(spec["MaxValue"]) for m in members):
        return said(f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}")
    inner = ptype[5:-1] if ptype.startswith("List<") else ptype
    if inner in _AWS_ID:
        prefix, looks = _AWS_ID[inner]
        for m in members:
            if not re.fullmatch(rf"{prefix}-([0-9a-f]{{8}}|[0-9a-f]{{17}})", m):
                return (f"Parameter validation failed: parameter value {m or '(empty)'} for parameter name {name} "
                        f"does not exist ({name} takes {looks})")
    return None


def _evaluate(expr: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(expr, (str, int, float, bool)):
        return str(expr) if not isinstance(expr, bool) else expr
    if isinstance(expr, list):
        return [_evaluate(e, values) for e in expr]
    if not isinstance(expr, dict) or len(expr) != 1:
        raise _Unknown(expr)
    (fn, arg), = expr.items()
    if fn == "Ref":
        if arg not in values:
            raise _Unknown(arg)
        return values[arg]
    args = arg if isinstance(arg, list) else [arg]
    if fn == "Fn::Not":
        return not _evaluate(args[0], values)
    if fn == "Fn::And":
        return all(_evaluate(a, values) for a in args)
    if fn == "Fn::Or":
        return any(_evaluate(a, values) for a in args)
    if fn == "Fn::Equals":
        return _evaluate(args[0], values) == _evaluate(args[1], values)
    if fn == "Fn::Contains":
        return _evaluate(args[1], values) in _evaluate(args[0], values)
    if fn == "Fn::EachMemberEquals":
        members, wanted = _evaluate(args[0], values), _evaluate(args[1], values)
        return all(m == wanted for m in members)
    if fn == "Fn::EachMemberIn":
        members, allowed = _evaluate(args[0], values), _evaluate(args[1], values)
        return all(m in allowed for m in members)
    raise _Unknown(fn)


def _typed(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    params = template.get("Parameters", {})
    return {k: (_members(params[k].get("Type", ""), v) if k in params and "List" in params[k].get("Type", "")
                else v) for k, v in values.items()}


def rule_problems(template: Mapping[str, Any], values: Mapping[str, str]) -> list[str]:
    """The AssertDescription of every Rules assertion that is false for `values` (assertions that
    refer to a value not in `values`, or to a function not evaluated here, are skipped)."""
    known = _typed(template, values)
    found = []
    for _, rule in sorted(template.get("Rules", {}).items()):
        try:
            if "RuleCondition" in rule and not _evaluate(rule["RuleCondition"], known):
                continue
        except _Unknown:
            continue
        for assertion in rule.get("Assertions", []):
            try:
                ok = _evaluate(assertion["Assert"], known)
            except _Unknown:
                continue
            if not ok:
                text = assertion.get("AssertDescription", "a template rule failed")
                if text not in found:
                    found.append(text)
    return found


def problems(template: Mapping[str, Any], given: Mapping[str, str],
             others: Mapping[str, str] | None = None, creating: bool = False) -> list[str]:
    """Every problem of the `given` values; Rules are evaluated over `given` plus `others` (defaults
    or a stack's previous values). With `creating`, a parameter without a default needs a value."""
    params = template.get("Parameters", {})
    found = [p for name, value in sorted(given.items()) if name in params
             for p in [_constraint_problem(name, params[name], value)] if p]
    if creating:
        missing = [n for n, spec in params.items() if "Default" not in spec and n not in given]
        if missing:
            found.append(f"Parameters: [{', '.join(missing)}] must have values")
    found += rule_problems(template, {**(others or {}), **given})
    return found


def defaults(template: Mapping[str, Any]) -> dict[str, str]:
    """The template's default values, as strings."""
    return {n: str(spec["Default"]) for n, spec in template.get("Parameters", {}).items() if "Default" in spec}


def check(template: Mapping[str, Any], given: Mapping[str, str], source: str,
          others: Mapping[str, str] | None = None, creating: bool = False) -> None:
    """Raise UserError listing every problem (nothing is sent to AWS)."""
    found = problems(template, given, others, creating)
    if found:
        lines = "\n  ".join(found)
        raise UserError(f"{source}: {len(found)} parameter problem(s), nothing was sent to AWS:\n  {lines}")
