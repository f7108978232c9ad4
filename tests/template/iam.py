"""Enumerates every permission the templates grant: IAM role statements (both Fn::If branches),
managed policies, the stack key's policy, and the koji permissions the hub seeds (users.sql).

Each grant becomes one ledger key, `<who> <Sid> <action>`, with `[*]` appended when the statement's
Resource is "*" (those must be AWS actions without resource-level permissions).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kojistack import names
from support.paths import REPO

USERS_SQL = REPO / "cloud-init" / "payload" / "hub" / "sql" / "users.sql"
LEDGER = Path(__file__).with_name("iam_ledger.txt")


@dataclass(frozen=True, order=True)
class Grant:
    who: str      # role logical ID, "StackKey" (key policy) or "koji:<user>"
    sid: str      # statement Sid, "managed" or "perm"
    action: str   # "service:Action", a managed policy name, or a koji permission
    star: bool    # Resource is "*"

    @property
    def key(self) -> str:
        return f"{self.who} {self.sid} {self.action}" + (" [*]" if self.star else "")


def _branches(item: Any) -> Iterator[dict]:
    """Statements in a list item, following both branches of Fn::If (NoValue yields nothing)."""
    if isinstance(item, dict) and "Fn::If" in item:
        for branch in item["Fn::If"][1:]:
            yield from _branches(branch)
    elif isinstance(item, dict) and item.get("Ref") == "AWS::NoValue":
        return
    elif isinstance(item, dict):
        yield item


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def statement_grants(who: str, document: dict) -> Iterator[Grant]:
    for item in _listed(document.get("Statement", [])):
        for st in _branches(item):
            assert st.get("Effect") == "Allow", f"{who}: only Allow statements are expected: {st}"
            assert "NotAction" not in st and "NotResource" not in st, f"{who}: NotAction/NotResource: {st}"
            star = "*" in _listed(st.get("Resource", []))
            for action in _listed(st["Action"]):
                yield Grant(who, st.get("Sid", "-"), action, star)


def _managed_name(arn: Any) -> str:
    text = arn.get("Fn::Sub", "") if isinstance(arn, dict) else str(arn)
    return text.rsplit("/", 1)[-1]


def template_grants(template: dict) -> set[Grant]:
    """Every grant to a role (inline policies, attached AWS::IAM::Policy, managed policies) and the key policy."""
    res = template["Resources"]
    grants: set[Grant] = set()
    for logical, r in res.items():
        props = r.get("Properties", {})
        if r["Type"] == "AWS::IAM::Role":
            for arn in props.get("ManagedPolicyArns", []):
                grants.add(Grant(logical, "managed", _managed_name(arn), False))
            for pol in props.get("Policies", []):
                grants |= set(statement_grants(logical, pol["PolicyDocument"]))
        elif r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for role in props.get("Roles", []):
                grants |= set(statement_grants(role["Ref"], props["PolicyDocument"]))
        elif r["Type"] == "AWS::KMS::Key":
            for g in statement_grants(logical, props["KeyPolicy"]):
                grants.add(Grant(g.who, g.sid, g.action, False))  # in a key policy "*" means this key
    return grants


def koji_grants(sql: str | None = None) -> set[Grant]:
    """The koji permissions users.sql grants: ('user', 'perm') pairs after `user_perms`."""
    text = sql if sql is not None else USERS_SQL.read_text()
    body = text[text.index("INSERT INTO user_perms"):]
    pairs = re.findall(r"\(\s*(:?'[^']+')\s*,\s*'([a-z-]+)'\s*\)", body)
    assert pairs, "no permission pairs found in users.sql"
    return {Grant("koji:" + (_PSQL_USERS[u[1:].strip("'")] if u.startswith(":") else u.strip("'")), "perm", p, False)
            for u, p in pairs}


#: the psql variables kojistack-db passes users.sql: the admin is a parameter, the others names.env's
_PSQL_USERS = {"admin_user": "<AdminUserName>", "kojira_user": names.USER_KOJIRA,
               "controller_user": names.USER_CONTROLLER}


def read_ledger(path: Path = LEDGER) -> dict[str, str]:
    """{key: reason} from the ledger; lines are `KEY | reason`, '#' starts a comment."""
    entries: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, reason = line.partition("|")
        assert sep, f"{path.name}:{n}: no '|' between the permission and its reason"
        key = " ".join(key.split())
        assert key not in entries, f"{path.name}:{n}: {key} is listed twice"
        entries[key] = reason.strip()
    return entries
