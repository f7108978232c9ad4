"""Least privilege beyond the ledger (issue 11, item 6): no managed policy that reads every SSM
parameter, no builder action on its peers, only condition keys AWS documents, and the stack key's
CloudWatch Logs grant limited to the stack's own log groups."""

from __future__ import annotations

import json
import re

import pytest

from kojistack import ids, names

from .conftest import resources
from .iam import template_grants

# Every condition key the templates may use, with where AWS documents it.
DOCUMENTED_KEYS = {
    "aws:TagKeys": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tagkeys",
    "aws:ResourceTag/aws:autoscaling:groupName":
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourcetag",
    "aws:SourceAccount": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceaccount",
    "aws:SourceArn": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcearn",
    "cloudwatch:namespace": "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html",
    "kms:EncryptionContext:aws:logs:arn":
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    "kms:CallerAccount": "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account",
    "kms:ViaService": "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service",
    "ec2:SourceInstanceARN": "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-policies-for-amazon-ec2.html "
                             "(\"an AWS global condition key\")",
    "kms:GrantIsForAWSResource":
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource",
}
# Policy variables, with where AWS documents them as such.
DOCUMENTED_VARIABLES = {
    # the instance resource's key as a variable, compared with ec2:SourceInstanceARN, as AWS's own
    # managed policy does it to let an instance act on itself only
    "${ec2:InstanceId}": "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSEC2VssSnapshotPolicy.html",
}
INSTANCE_ROLES = (ids.HUB_ROLE, ids.BUILDER_ROLE)


def _documents(t: dict):
    """(who, policy document) for every role policy and the key policies."""
    for name, r in t["Resources"].items():
        props = r.get("Properties", {})
        if r["Type"] == "AWS::IAM::Role":
            for pol in props.get("Policies", []):
                yield name, pol["PolicyDocument"]
        elif r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for role in props.get("Roles", []):
                yield role["Ref"], props["PolicyDocument"]
        elif r["Type"] == "AWS::KMS::Key":
            yield name, props["KeyPolicy"]


def _statements(doc: dict):
    for item in doc.get("Statement", []):
        if "Fn::If" in item:
            yield from (b for b in item["Fn::If"][1:] if "Ref" not in b)
        else:
            yield item


ROLE_VARIANTS = [("default", "new"), ("default", "existing"), ("aarch64-no-spot-fedora", "new")]


@pytest.mark.parametrize("name", ROLE_VARIANTS, ids=str)
def test_instance_roles_carry_no_managed_policy(templates, name):
    """AmazonSSMManagedInstanceCore grants ssm:GetParameter(s) on "*": a package build could read
    every SSM parameter of the account. The roles hold only their inline, scoped statements."""
    t = templates[name]
    for role in INSTANCE_ROLES:
        assert not t["Resources"][role]["Properties"].get("ManagedPolicyArns"), role


def test_builders_read_and_write_only_their_stack_parameters_and_get_session_manager_only(templates):
    grants = template_grants(templates[("default", "new")])
    ssm = {g.action for g in grants if g.who == ids.BUILDER_ROLE and g.action.split(":")[0] in ("ssm", "ec2messages")}
    assert ssm == {"ssm:GetParameter", "ssm:PutParameter", "ssm:UpdateInstanceInformation"}
    starred = {g.action for g in grants if g.who == ids.BUILDER_ROLE and g.star}
    assert starred == {"ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
                       "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                       "ssmmessages:OpenDataChannel"}


def test_builders_hold_no_auto_scaling_action(templates):
    """No documented condition key limits CompleteLifecycleAction/SetInstanceHealth to the calling
    instance: a builder holding them could abandon or kill its peers. The controller does it."""
    grants = template_grants(templates[("default", "new")])
    assert not sorted(g.key for g in grants if g.who == ids.BUILDER_ROLE and g.action.startswith("autoscaling:"))


def test_builders_tag_only_their_own_instance(templates):
    policy = templates[("default", "new")]["Resources"][ids.BUILDER_POLICY]["Properties"]["PolicyDocument"]
    (tagging,) = [s for s in policy["Statement"] if "ec2:CreateTags" in s["Action"]]
    assert tagging["Condition"]["ArnLike"] == {"ec2:SourceInstanceARN": {"Fn::Sub": (
        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${!ec2:InstanceId}")}}
    assert tagging["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": [names.TAG_CSR_SHA256]}


@pytest.mark.parametrize("name", ROLE_VARIANTS, ids=str)
def test_only_documented_condition_keys_and_variables(templates, name):
    used_keys, used_vars = set(), set()
    for who, doc in _documents(templates[name]):
        for st in _statements(doc):
            for _operator, keys in st.get("Condition", {}).items():
                used_keys |= {(who, k) for k in keys}
            text = json.dumps({k: st.get(k) for k in ("Resource", "Condition")}).replace("${!", "${")
            used_vars |= {(who, v) for v in re.findall(r"\$\{[a-z0-9]+:[A-Za-z0-9]+\}", text)}
    unknown = sorted((who, k) for who, k in used_keys if k not in DOCUMENTED_KEYS)
    assert not unknown, f"condition keys not in DOCUMENTED_KEYS (cite AWS's page or drop them): {unknown}"
    unknown_vars = sorted((who, v) for who, v in used_vars if v not in DOCUMENTED_VARIABLES)
    assert not unknown_vars, unknown_vars


def test_the_key_check_catches_aws_arn():
    doc = {"Statement": [{"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
                          "Condition": {"StringEquals": {"aws:ARN": "${ec2:SourceInstanceARN}"}}}]}
    keys = {k for st in _statements(doc) for keys in st["Condition"].values() for k in keys}
    assert keys - DOCUMENTED_KEYS.keys() == {"aws:ARN"}


def _sub_text(value) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str) else json.dumps(value)


@pytest.mark.parametrize("name", ROLE_VARIANTS, ids=str)
def test_the_stack_key_serves_cloudwatch_logs_for_the_stacks_log_groups_only(templates, name):
    t = templates[name]
    policy = t["Resources"][ids.STACK_KEY]["Properties"]["KeyPolicy"]
    (logs,) = [s for s in policy["Statement"] if s.get("Sid") == "CloudWatchLogsOfThisStack"]
    (operator, keys), = logs["Condition"].items()
    assert operator == "ArnEquals" and list(keys) == ["kms:EncryptionContext:aws:logs:arn"]
    allowed = sorted(_sub_text(v).rsplit("log-group:", 1)[1] for v in keys["kms:EncryptionContext:aws:logs:arn"])
    assert not [a for a in allowed if "*" in a or "?" in a], allowed
    on_key = sorted(_sub_text(r["Properties"].get("LogGroupName", "<generated name>"))
                    for r in resources(t, "AWS::Logs::LogGroup").values()
                    if r["Properties"].get("KmsKeyId") == {"Fn::GetAtt": [ids.STACK_KEY, "Arn"]})
    assert on_key and set(on_key) <= set(allowed), (on_key, allowed)
