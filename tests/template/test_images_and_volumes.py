"""issue 11 item 10: the AMI lookup exists only when some image must be looked up; the volumes'
key follows EbsKmsKey, and the stack key grants Auto Scaling's service-linked role only then.

AWS rule encoded: Auto Scaling launches instances with volumes on a customer managed key only if the
key policy grants its service-linked role (Auto Scaling user guide, "Required AWS KMS key policy for
use with encrypted volumes", Example 1:
https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html);
an account whose default EBS key is such a key without the grant cannot launch with `Encrypted` alone.
"""

from __future__ import annotations

import pytest

from kojistack import ids

from .conftest import resources

ROLE = ("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling")


def conditions(t: dict, params: dict[str, str]) -> dict[str, bool]:
    """Every condition of `t` evaluated for the given parameter values (others at their defaults)."""
    values = {k: p.get("Default", "") for k, p in t["Parameters"].items()} | params

    def ev(x):
        if isinstance(x, dict):
            (fn, arg), = x.items()
            if fn == "Ref":
                return values[arg]
            if fn == "Condition":
                return ev(t["Conditions"][arg])
            if fn == "Fn::Equals":
                return ev(arg[0]) == ev(arg[1])
            if fn == "Fn::Not":
                return not ev(arg[0])
            if fn == "Fn::And":
                return all(ev(a) for a in arg)
            if fn == "Fn::Or":
                return any(ev(a) for a in arg)
            raise AssertionError(f"unexpected {fn}")
        return x
    return {name: ev(body) for name, body in t["Conditions"].items()}


def existing(t: dict, params: dict[str, str]) -> set[str]:
    on = conditions(t, params)
    return {k for k, r in t["Resources"].items() if "Condition" not in r or on[r["Condition"]]}


def resolve_if(value, on: dict[str, bool]):
    while isinstance(value, dict) and "Fn::If" in value:
        cond, yes, no = value["Fn::If"]
        value = yes if on[cond] else no
    return value


LOOKUP = {ids.AMI_LOOKUP_FUNCTION, ids.AMI_LOOKUP_ROLE, ids.AMI_LOOKUP_LOG_GROUP}


@pytest.mark.parametrize("key", [("default", "new"), ("default", "existing"), ("aarch64-no-spot-fedora", "new")],
                         ids=str)
def test_the_ami_lookup_exists_only_while_an_image_must_be_looked_up(templates, key):
    t = templates[key]
    overrides = [p for p in t["Parameters"] if p.startswith("ImageId")]
    assert overrides
    assert LOOKUP <= existing(t, {})
    for some in overrides:
        assert LOOKUP <= existing(t, {some: "ami-0123456789abcdef0"}) or len(overrides) == 1
    everything = {p: "ami-0123456789abcdef0" for p in overrides}
    left = existing(t, everything)
    assert not LOOKUP & left, sorted(LOOKUP & left)
    assert not [k for k in left if t["Resources"][k]["Type"] == "Custom::AmiLookup"]


def _volume_keys(t: dict, on: dict[str, bool]) -> set:
    keys = set()
    for lt in resources(t, "AWS::EC2::LaunchTemplate").values():
        for bdm in lt["Properties"]["LaunchTemplateData"]["BlockDeviceMappings"]:
            keys.add(str(resolve_if(bdm["Ebs"].get("KmsKeyId", {"Ref": "AWS::NoValue"}), on)))
    return keys


def _autoscaling_statements(t: dict, on: dict[str, bool]) -> list[dict]:
    policy = t["Resources"][ids.STACK_KEY]["Properties"]["KeyPolicy"]["Statement"]
    out = [resolve_if(s, on) for s in policy]
    return [s for s in out if s != {"Ref": "AWS::NoValue"} and s.get("Principal") == {"AWS": {"Fn::Sub": ROLE}}]


def test_volumes_use_the_account_default_key_unless_told(default):
    on = conditions(default, {})
    assert _volume_keys(default, on) == {str({"Ref": "AWS::NoValue"})}
    assert not _autoscaling_statements(default, on)


def test_volumes_on_the_stack_key_grant_the_auto_scaling_role_what_aws_documents(default):
    on = conditions(default, {"EbsKmsKey": "stack"})
    assert _volume_keys(default, on) == {str({"Fn::GetAtt": [ids.STACK_KEY, "Arn"]})}
    use, grant = _autoscaling_statements(default, on)
    assert sorted(use["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*",
                                     "kms:ReEncrypt*"]
    assert grant["Action"] == ["kms:CreateGrant"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}


def test_volumes_on_a_given_key(default):
    arn = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
    on = conditions(default, {"EbsKmsKey": arn})
    assert _volume_keys(default, on) == {str({"Ref": "EbsKmsKey"})}
    assert not _autoscaling_statements(default, on)
    pattern = default["Parameters"]["EbsKmsKey"]["AllowedPattern"]
    import re
    assert all(re.fullmatch(pattern, v) for v in ("", "stack", arn))
    assert not any(re.fullmatch(pattern, v) for v in ("alias/aws/ebs", "Stack", arn + "x"))
