"""Tables of bad (and good) input for the security suite, and a small evaluator of CloudFormation
Rules (Fn::And/Or/Not/Equals/Contains over Ref), so every Rules assertion can be tried here.

The evaluator covers the intrinsic functions kojistack's Rules use; Fn::EachMemberEquals and
Fn::ValueOfAll read the account (subnet VPC ids) and are evaluated only by CloudFormation.
"""

from __future__ import annotations

import re
from typing import Any

# (parameter, good samples, bad samples): every AllowedPattern in either template must be here.
PATTERN_SAMPLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "VpcCidr": (("10.80.0.0/16", "172.16.0.0/16", "192.168.0.0/16"),
                ("11.0.0.0/16", "10.80.0.0/20", "172.32.0.0/16", "", "10.80.0.0/16 ")),
    "AccessCidr": (("203.0.113.0/24", "0.0.0.0/0", "10.0.0.1/32"),
                   ("203.0.113.0", "203.0.113.0/33", "", "any", "203.0.113.0/24,10.0.0.0/8")),
    "AdminUserName": (("kojiadmin", "ops_1", "abc"),
                      ("Admin", "ab", "1admin", "a" * 33, "koji admin", "")),
    "KojiVersion": (("1.35.3", "1.36.0", ""), ("1.35", "1.35.3-1", "latest", " 1.35.3")),
    "CustomDomain": (("", "koji.example.com", "a-b.example.org"),
                     ("Koji.example.com", "example", "-a.example.com", "a..example.com", "koji.example.com.")),
    "NotificationEmail": (("", "koji-admins@example.com", "a.b+alarms@mail.example.org"),
                          ("koji-admins", "@example.com", "a@b", "a b@example.com", "a@example.com,b@example.com")),
    "AllowedScms": (("", "src.fedoraproject.org:/rpms/*:no:fedpkg,sources", "git.example.com:/*:no"),
                    ("a;rm -rf /", "$(id)", "x" * 513, "a\nb", "`id`")),
    "ImageIdX8664": (("", "ami-0123456789abcdef0", "ami-12345678"),
                     ("ami-123", "AMI-12345678", "ami-0123456789abcdef0123", "ami-xyz12345")),
    "ImageIdAarch64": (("", "ami-0123456789abcdef0"), ("ami-123", "ami-0123456789ABCDEF0")),
    "OsRelease": (("9", "43"), ("", "9.4", "100", "nine")),
    "DbSnapshotIdentifier": (("", "koji-final-2026", "arn:aws:rds:us-east-1:123456789012:snapshot:rds:koji-2026-11-26"),
                             ("1abc", "snap shot", "a" * 256, "snap;drop")),
    "ExistingFileSystemId": (("", "fs-0123abcd", "fs-0123456789abcdef0"),
                             ("fs-123", "fs-0123ABCD", "efs-0123abcd", "fs-0123abcd ")),
    "RestoreCaSecretArn": (("", "arn:aws:secretsmanager:us-east-1:123456789012:secret:koji-CaSecret-AbC123",
                            "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-AbC123"),
                           ("arn:aws:s3:::bucket", "CaSecret",
                            "arn:aws:secretsmanager:us-east-1:12345678901:secret:x")),
    "RestoreBuilderCaSecretArn": (("", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:koji-B-AbC123"),
                                  ("arn:aws:kms:eu-west-1:123456789012:key/x", "secret:x")),
    "EbsKmsKey": (("", "stack", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                   "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"),
                  ("Stack", "alias/aws/ebs", "arn:aws:kms:us-east-1:123456789012:alias/ebs",
                   "1234abcd-12ab-34cd-56ef-1234567890ab", "stack ")),
    "RestoreKeyArn": (("", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
                      ("alias/koji", "1234abcd-12ab-34cd-56ef-1234567890ab",
                       "arn:aws:kms:us-east-1:123456789012:alias/koji")),
}


def pattern_accepts(pattern: str, value: str) -> bool:
    """CloudFormation matches AllowedPattern against the whole value (Java regex; these use its
    common subset with Python's `re`)."""
    return re.fullmatch(pattern, value) is not None


class RuleError(Exception):
    """An intrinsic the evaluator does not know."""


def evaluate(node: Any, params: dict[str, str]) -> Any:
    """Value of a Rules expression with `params` as the parameter values."""
    if isinstance(node, (str, int)):
        return str(node)
    if isinstance(node, list):
        return [evaluate(n, params) for n in node]
    if not isinstance(node, dict) or len(node) != 1:
        raise RuleError(f"not an expression: {node!r}")
    (fn, arg), = node.items()
    if fn == "Ref":
        return params[arg]
    if fn == "Fn::Equals":
        a, b = evaluate(arg, params)
        return a == b
    if fn == "Fn::Not":
        (a,) = arg
        return not _bool(evaluate(a, params))
    if fn == "Fn::Or":
        return any(_bool(evaluate(a, params)) for a in arg)
    if fn == "Fn::And":
        return all(_bool(evaluate(a, params)) for a in arg)
    if fn == "Fn::Contains":
        haystack, needle = evaluate(arg, params)
        return needle in haystack
    raise RuleError(f"the evaluator does not know {fn}")


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise RuleError(f"expected a condition, got {value!r}")
    return value


def failing_rules(template: dict, params: dict[str, str]) -> list[str]:
    """AssertDescriptions of the Rules that reject `params` (defaults fill what is not given);
    rules using intrinsics only CloudFormation can evaluate are left out."""
    values = {k: str(p.get("Default", "")) for k, p in template.get("Parameters", {}).items()}
    values.update(params)
    failed = []
    for name, rule in sorted(template.get("Rules", {}).items()):
        try:
            if "RuleCondition" in rule and not _bool(evaluate(rule["RuleCondition"], values)):
                continue
            for a in rule["Assertions"]:
                if not _bool(evaluate(a["Assert"], values)):
                    failed.append(a["AssertDescription"])
        except RuleError:
            if name != "SubnetsInVpc":
                raise
    return failed
