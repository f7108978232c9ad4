"""docs/launch.md stays true: its permissions table names every service of both templates, the README's
button is a working console link (not a link to its own page), and the bucket layout is upload's."""

from __future__ import annotations

import json
import re

from support.paths import REPO

DOC = (REPO / "docs" / "launch.md").read_text()
README = (REPO / "README.md").read_text()
# CloudFormation type namespace -> IAM service prefix (Service Authorization Reference)
PREFIX = {"EC2": "ec2", "AutoScaling": "autoscaling", "ElasticLoadBalancingV2": "elasticloadbalancing",
          "IAM": "iam", "RDS": "rds", "EFS": "elasticfilesystem", "KMS": "kms", "SecretsManager": "secretsmanager",
          "Lambda": "lambda", "Logs": "logs", "CloudWatch": "cloudwatch", "SNS": "sns"}


def resource_types() -> set[str]:
    types = set()
    for name in ("kojistack.json", "kojistack-existing-vpc.json"):
        template = json.loads((REPO / "templates" / name).read_text())
        types |= {r["Type"] for r in template["Resources"].values() if r["Type"].startswith("AWS::")}
    return types


def test_every_resource_type_is_in_the_permissions_table():
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z0-9]+)` \| ([^|]+) \|", DOC, re.M)}
    missing = []
    for rtype in sorted(resource_types()):
        _, namespace, kind = rtype.split("::")
        row = rows.get(PREFIX.get(namespace, "?"), "")
        if kind not in re.findall(r"[A-Za-z]+", row):
            missing.append(rtype)
    assert not missing, f"docs/launch.md's permissions table lacks {missing}"


def test_the_readme_button_opens_the_console_not_its_own_page():
    (link,) = re.findall(r"\[!\[Launch Stack\]\([^)]*\)\]\(([^)]*)\)", README)
    assert link.startswith("https://") and ".console.aws.amazon.com/cloudformation/" in link
    assert "docs/launch.md" in README


def test_the_bucket_layout_is_uploads():
    from kojistack.ops import upload

    assert "<prefix>/<kojistack version>-<sha256 of the templates, 12 hex>/<file>" in upload.__doc__
    assert "kojistack/<version>-<sha12>/kojistack.json" in DOC and "kojistack/latest/kojistack.json" in DOC


def test_regions_are_linked_not_restated():
    from kojistack import regions

    assert "Supported regions" in DOC and "kojistack/regions.py" in DOC
    assert not any(region in DOC for region in sorted(regions.SUPPORTED_REGIONS) if region not in
                   ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"))
