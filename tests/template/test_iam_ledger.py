"""The least-privilege ledger: every permission granted is listed with a reason, nothing stale;
`*` only where AWS has no resource-level permission; every AWS call the instances' code makes is
granted; the controller's koji `admin` is used for freeTask and scheduler.doRun only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kojistack.controller import kojiport

from .calls import role_calls
from .iam import LEDGER, Grant, koji_grants, read_ledger, template_grants

FAKE_HUB = Path(__file__).resolve().parents[1] / "fakes" / "kojihub.py"


@pytest.fixture(scope="module")
def grants(templates) -> set[Grant]:
    found: set[Grant] = set()
    for t in templates.values():
        found |= template_grants(t)
    return found | koji_grants()


def test_every_grant_has_a_ledger_line_and_no_line_is_stale(grants):
    ledger = read_ledger()
    keys = {g.key for g in grants}
    missing = sorted(keys - ledger.keys())
    stale = sorted(ledger.keys() - keys)
    assert not missing, f"granted but not in {LEDGER.name} (add `KEY | why`):\n" + "\n".join(missing)
    assert not stale, f"in {LEDGER.name} but no longer granted (remove):\n" + "\n".join(stale)
    assert all(len(reason) >= 20 for reason in ledger.values()), "every entry needs a one-line reason"


def test_star_resources_are_only_actions_without_resource_level_permission(grants):
    ledger = read_ledger()
    stars = [g.key for g in grants if g.star]
    assert stars, "expected the Describe*/PutMetricData statements"
    for key in stars:
        assert ledger[key].startswith("no resource-level permission"), key


def test_the_ledger_catches_a_new_permission(templates):
    t = {"Resources": {"HubRole": {"Type": "AWS::IAM::Role", "Properties": {}},
                       "Extra": {"Type": "AWS::IAM::Policy", "Properties": {
                           "Roles": [{"Ref": "HubRole"}],
                           "PolicyDocument": {"Statement": [{"Fn::If": ["C", {
                               "Sid": "Sneaky", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                               {"Ref": "AWS::NoValue"}]}]}}}}}
    (grant,) = template_grants(t)
    assert grant.key == "HubRole Sneaky s3:GetObject [*]"
    assert grant.key not in read_ledger()


def test_koji_permissions_are_read_from_users_sql():
    sql = "INSERT INTO user_perms x FROM (VALUES (:'admin_user', 'admin'), ('kojira', 'repo')) AS g"
    assert {g.key for g in koji_grants(sql)} == {"koji:<AdminUserName> perm admin", "koji:kojira perm repo"}


def _fake_hub_required_perm() -> dict[str, str]:
    """{method: permission} from the fake hub (which mirrors koji 1.35.3's checks) for methods that need one."""
    text = FAKE_HUB.read_text()
    out = {}
    for name, body in re.findall(r"\n    def m_(\w+)\(self, ctx[^\n]*\n(.*?)(?=\n    def |\Z)", text, re.S):
        m = re.search(r"_require\(ctx, \"(\w+)\"\)", body)
        if m:
            out[name.replace("scheduler_", "scheduler.").replace("host_", "host.")] = m.group(1)
    return out


def test_controller_uses_koji_admin_only_for_free_task_and_scheduler_run():
    needs = _fake_hub_required_perm()
    assert needs.get("addHost") == "host" and needs.get("freeTask") == "admin"  # the parse works
    admin_calls = sorted(c for c in kojiport.CALLS if needs.get(c) == "admin")
    assert admin_calls == ["freeTask", "scheduler.doRun"]
    reason = read_ledger()["koji:kojistack-ctl perm admin"]
    assert "freeTask" in reason and "scheduler.doRun" in reason


def test_the_call_scanner_sees_boto3_and_the_cli():
    from .calls import calls_in
    text = 'sm = boto3.client("secretsmanager")\nsm.delete_secret(SecretId=n)\naws elbv2 describe-target-health'
    assert calls_in(text) == {"secretsmanager:DeleteSecret", "elasticloadbalancing:DescribeTargetHealth"}


def test_the_scanner_agrees_with_the_controllers_own_list_of_calls():
    """kojistack/controller/awsport.py declares API_CALLS for the IAM policy; the scanner must find the same."""
    from kojistack.controller.awsport import API_CALLS

    from .calls import AWSPORT_CLIENTS, REPO, calls_in
    found = calls_in((REPO / "kojistack" / "controller" / "awsport.py").read_text(), AWSPORT_CLIENTS)
    assert found == {action for action, _ in API_CALLS}


@pytest.mark.parametrize("role", ["HubRole", "BuilderRole"])
def test_every_aws_call_of_the_instance_code_is_granted(grants, role):
    granted = {g.action for g in grants if g.who == role}
    used = role_calls(role)
    missing = {a: sorted(f) for a, f in used.items() if a not in granted}
    assert not missing, f"{role} code calls actions its role does not grant: {missing}"
