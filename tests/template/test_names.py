"""Names that must work for any stack name, and again after the stack is deleted and re-created.

AWS rules encoded here (issue 11, item 9):
- SSM: "A parameter name can't be prefixed with "aws" or "ssm" (case-insensitive)" (PutParameter,
  Naming Constraints, https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html);
  a stack named `aws-koji` must not make the hub's first put-parameter fail.
- EC2: a launch template name is 3-128 characters (CreateLaunchTemplate, LaunchTemplateName,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html); a stack name
  may have 128 (CloudFormation quotas).
- What the machines create at run time (SSM parameters, per-user secrets) is not deleted with the
  stack; a stack created again under the same name gets a new AWS::StackId, and must get new names.
"""

from __future__ import annotations

import base64
import re

import pytest

from kojistack import ids, names
from kojistack.ops import stackinfo

from .conftest import resources

STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/{uuid}"
FIRST = "0a1b2c3d-1111-2222-3333-444455556666"
SECOND = "9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff"


def _evaluate(value, stack: str, uuid: str):
    """The few intrinsic functions name mappings use, against a fake stack id."""
    if isinstance(value, dict) and "Ref" in value:
        known = {"AWS::StackId": STACK_ID.format(name=stack, uuid=uuid), "AWS::StackName": stack}
        return known.get(value["Ref"], "<" + value["Ref"] + ">")
    if isinstance(value, dict) and "Fn::Split" in value:
        sep, text = value["Fn::Split"]
        return _evaluate(text, stack, uuid).split(sep)
    if isinstance(value, dict) and "Fn::Select" in value:
        index, items = value["Fn::Select"]
        return _evaluate(items, stack, uuid)[int(index)]
    return value if isinstance(value, str) else "<value>"


def _sub(sub: dict, stack: str, uuid: str) -> str:
    """Resolve a {"Fn::Sub": [text, mapping]} whose mapping only uses Ref/Split/Select."""
    text, mapping = sub["Fn::Sub"] if isinstance(sub["Fn::Sub"], list) else (sub["Fn::Sub"], {})
    values = {"AWS::StackName": stack, **{k: _evaluate(v, stack, uuid) for k, v in mapping.items()}}
    return re.sub(r"\$\{([^!}][^}]*)\}", lambda m: str(values.get(m.group(1), m.group(0))), text)


def _hub_env(t: dict, stack: str, uuid: str) -> dict[str, str]:
    ud = t["Resources"][ids.HUB_LAUNCH_TEMPLATE]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    text = _sub(ud, stack, uuid)
    return dict(re.findall(r"^\s*KOJISTACK_(\w+)='([^']*)'$", text, re.M))


def _ssm_name_allowed(name: str) -> bool:
    """PutParameter's naming constraints (the parts a stack name can break)."""
    first = name.lstrip("/")
    return (re.fullmatch(r"[a-zA-Z0-9_.\-/]+", name) is not None
            and not first.lower().startswith(("aws", "ssm")) and len(name) <= 1011)


@pytest.mark.parametrize("stack", ["aws-koji", "SSM-builds", "koji", "A" + "b" * 127])
def test_ssm_parameter_names_are_valid_for_any_stack_name(default, stack):
    prefix = _hub_env(default, stack, FIRST)["SSM_PREFIX"]
    for suffix in ("/ca.pem", "/koji-version", "/csr/i-0123456789abcdef0", "/cert/i-0123456789abcdef0",
                   "/bootstrap/i-0123456789abcdef0"):
        assert _ssm_name_allowed(prefix + suffix), prefix + suffix


def test_the_name_rule_rejects_what_ssm_rejects():
    assert not _ssm_name_allowed("/aws-koji/kojistack/ca.pem")
    assert not _ssm_name_allowed("ssmThing")
    assert _ssm_name_allowed("/kojistack/aws-koji/x/ca.pem")


def test_run_time_names_are_new_when_the_stack_is_created_again(default):
    first, second = _hub_env(default, "koji", FIRST), _hub_env(default, "koji", SECOND)
    for key in ("SSM_PREFIX", "USER_SECRET_PREFIX"):
        assert first[key] != second[key], key
        assert FIRST in first[key] and "koji" in first[key], first[key]


def test_the_ops_tools_compute_the_names_the_hub_uses(default):
    env = _hub_env(default, "aws-koji", FIRST)
    description = {"StackName": "aws-koji", "StackId": STACK_ID.format(name="aws-koji", uuid=FIRST)}
    assert stackinfo.ssm_prefix("aws-koji", description["StackId"]) == env["SSM_PREFIX"]
    assert stackinfo.user_secret_name(description, "alice") == env["USER_SECRET_PREFIX"] + "alice"


def test_builders_and_the_iam_policy_use_the_same_prefix(default):
    for name, lt in resources(default, "AWS::EC2::LaunchTemplate").items():
        if name == ids.HUB_LAUNCH_TEMPLATE:
            continue
        text = _sub(lt["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"], "koji", FIRST)
        assert f"KOJISTACK_SSM_PREFIX='/kojistack/koji/{FIRST}'" in text, name
    policy = default["Resources"][ids.BUILDER_POLICY]["Properties"]["PolicyDocument"]
    arns = [_sub(r, "koji", FIRST) for st in policy["Statement"] for r in st.get("Resource", [])
            if isinstance(r, dict) and "Fn::Sub" in r and ":ssm:" in str(r)]
    assert arns and all(f"parameter/kojistack/koji/{FIRST}/" in a for a in arns), arns


def test_launch_template_names_fit_the_longest_stack_name(templates):
    longest = "s" * 128
    for key, t in templates.items():
        for name, lt in resources(t, "AWS::EC2::LaunchTemplate").items():
            given = lt["Properties"].get("LaunchTemplateName")
            if given is not None:
                assert len(_sub(given, longest, FIRST)) <= 128, (key, name)


def test_user_data_still_decodes(default):
    """The mapping added for ${StackUuid} keeps the user data a plain Fn::Base64 of an Fn::Sub."""
    ud = default["Resources"][ids.HUB_LAUNCH_TEMPLATE]["Properties"]["LaunchTemplateData"]["UserData"]
    assert names.STACK_UUID in ud["Fn::Base64"]["Fn::Sub"][1]
    base64.b64encode(_sub(ud["Fn::Base64"], "koji", FIRST).encode())
