"""Issue 12 item 3: `deploy` checks every parameter against the template's own constraints and Rules
before any AWS call, with the console's messages; takes a parameters file; recovers a stack stuck in
REVIEW_IN_PROGRESS; and `delete` removes such a stack instead of waiting for it.

CloudFormation's messages are quoted from the AWS CloudFormation User Guide ("Parameters": AllowedPattern,
AllowedValues, ConstraintDescription; "Rules": AssertDescription) and its ValidationError texts as
users report them (e.g. aws/aws-connected-device-framework#183: "Parameter 'Tester' must match pattern ...").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kojistack.errors import UserError
from kojistack.ops import paramcheck
from support.paths import REPO

NEW = json.loads((REPO / "templates" / "kojistack.json").read_text())
EXISTING = json.loads((REPO / "templates" / "kojistack-existing-vpc.json").read_text())
FIXTURE = Path(__file__).parent / "fixtures" / "small-stack.json"
GOOD = {"AccessCidr": "203.0.113.0/24"}
EXISTING_GOOD = {**GOOD, "VpcId": "vpc-0123456789abcdef0",
                 "PrivateSubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
                 "PublicSubnetIds": "subnet-01234567,subnet-89abcdef"}


def said(template: dict, values: dict[str, str], creating: bool = True) -> list[str]:
    return paramcheck.problems(template, values, paramcheck.defaults(template), creating)


def test_good_values_pass_both_templates():
    assert said(NEW, GOOD) == []
    assert said(EXISTING, EXISTING_GOOD) == []


@pytest.mark.parametrize("name, value, message", [
    ("AccessCidr", "10.0.0.0/33", "Parameter 'AccessCidr' failed to satisfy constraint: an IPv4 CIDR block"),
    ("AccessCidr", "0.0.0.0/0 ", "Parameter 'AccessCidr' failed to satisfy constraint"),  # the whole value
    ("DbInstanceClass", "db.t4g.huge", "Parameter 'DbInstanceClass' failed to satisfy constraint"),
    ("HubRootVolumeGiB", "5", "Parameter 'HubRootVolumeGiB' failed to satisfy constraint"),
    ("HubRootVolumeGiB", "fifty", "Parameter 'HubRootVolumeGiB' failed to satisfy constraint"),
    ("BuilderX8664MaxSize", "1001", "Parameter 'BuilderX8664MaxSize' failed to satisfy constraint"),
])
def test_each_constraint_is_checked_with_the_consoles_words(name, value, message):
    found = said(NEW, {**GOOD, name: value})
    assert len(found) == 1 and found[0].startswith(message), found


def test_allowed_values_are_listed():
    (found,) = said(NEW, {**GOOD, "DbInstanceClass": "db.t4g.huge"})
    assert "(allowed: " in found and "db.t4g.small" in found


@pytest.mark.parametrize("name, value", [
    ("VpcId", "vpc-nope"), ("VpcId", ""), ("PrivateSubnetIds", "subnet-0123456789abcdef0,subnet-12"),
])
def test_aws_specific_types_must_have_their_form(name, value):
    (found,) = said(EXISTING, {**EXISTING_GOOD, name: value})
    assert found.startswith("Parameter validation failed: parameter value ")
    assert f"for parameter name {name} does not exist" in found


def test_a_required_parameter_on_create():
    assert said(NEW, {}) == ["Parameters: [AccessCidr] must have values"]
    assert said(NEW, {}, creating=False) == []


def test_rules_are_evaluated_with_their_assert_description():
    found = said(NEW, {**GOOD, "BuilderX8664MinSize": "4", "BuilderX8664MaxSize": "2"})
    assert found == ["x86_64 builders: the minimum must not exceed the maximum"]
    found = said(NEW, {**GOOD, "AdminUserName": "kojira"})
    assert any("AdminUserName must not be one of the service users" in f for f in found)


def test_rules_use_the_other_values_given():
    # the default MaxSize with a larger MinSize breaks the rule only through the default
    top = max(NEW["Parameters"]["BuilderX8664MinSize"]["AllowedValues"], key=int)
    low = {**GOOD, "BuilderX8664MaxSize": "1"}
    assert said(NEW, {**low, "BuilderX8664MinSize": str(top)})
    assert paramcheck.rule_problems(NEW, {"BuilderX8664MinSize": str(top)}) == []  # max unknown: left out


def test_every_problem_is_reported_at_once():
    with pytest.raises(UserError) as err:
        paramcheck.check(NEW, {"AccessCidr": "x", "DbMultiAZ": "maybe"}, "kojistack.json")
    text = str(err.value)
    assert "2 parameter problem(s), nothing was sent to AWS" in text
    assert "'AccessCidr'" in text and "'DbMultiAZ'" in text


def test_deploy_refuses_bad_values_before_any_aws_call(run, aws, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: any AWS call would fail
    result = run("deploy", "--stack-name", "koji", "--template", str(REPO / "templates" / "kojistack.json"),
                 "--param", "AccessCidr=203.0.113.0/33", "--param", "BuilderX8664MinSize=4",
                 "--param", "BuilderX8664MaxSize=2")
    assert result.exit_code == 2, result.output
    assert "Parameter 'AccessCidr' failed to satisfy constraint" in result.stderr
    assert "x86_64 builders: the minimum must not exceed the maximum" in result.stderr
    assert "nothing was sent to AWS" in result.stderr


@pytest.mark.parametrize("body", [
    '[{"ParameterKey": "AdminUser", "ParameterValue": "fromfile"}, {"ParameterKey": "AccessCidr", '
    '"ParameterValue": "198.51.100.0/24"}]',
    "# the AWS CLI's list or Key=Value lines\nAdminUser=fromfile\n\nAccessCidr = 198.51.100.0/24\n",
])
def test_parameters_file(run, aws, tmp_path, body):
    params = tmp_path / "params"
    params.write_text(body)
    result = run("deploy", "--stack-name", "koji", "--template", str(FIXTURE), "--poll-seconds", "0",
                 "--param-file", str(params), "--param", "AccessCidr=192.0.2.0/24")
    assert result.exit_code == 0, result.output
    assert aws("ssm").get_parameter(Name="/koji/admin")["Parameter"]["Value"] == "fromfile"
    stack = aws("cloudformation").describe_stacks(StackName="koji")["Stacks"][0]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert values["AccessCidr"] == "192.0.2.0/24"  # --param wins over the file


@pytest.mark.parametrize("body, words", [
    ('[{"ParameterKey": "AdminUser"}]', "item 1 must be"),
    ("[not json", "not valid JSON"),
    ("AdminUser\n", "line 1: 'AdminUser' must look like Key=Value"),
])
def test_a_bad_parameters_file_is_a_user_error(run, aws, tmp_path, body, words):
    params = tmp_path / "params"
    params.write_text(body)
    result = run("deploy", "--stack-name", "koji", "--template", str(FIXTURE), "--param-file", str(params))
    assert result.exit_code == 2 and words in result.stderr, result.output


def _stuck(aws) -> str:
    """A stack in REVIEW_IN_PROGRESS: a CREATE change set that was never executed."""
    cfn = aws("cloudformation")
    created = cfn.create_change_set(StackName="koji", ChangeSetName="left-behind", ChangeSetType="CREATE",
                                    TemplateBody=FIXTURE.read_text(),
                                    Parameters=[{"ParameterKey": "AdminUser", "ParameterValue": "old"}])
    assert cfn.describe_stacks(StackName="koji")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    return created["StackId"]


def test_redeploying_a_stack_stuck_in_review_creates_it(run, aws):
    _stuck(aws)
    result = run("deploy", "--stack-name", "koji", "--template", str(FIXTURE), "--poll-seconds", "0")
    assert result.exit_code == 0, result.output
    assert "create koji" in result.stdout and "stack koji: CREATE_COMPLETE" in result.stdout
    assert aws("ssm").get_parameter(Name="/koji/admin")["Parameter"]["Value"] == "kojiadmin"


def test_deleting_a_stack_stuck_in_review_removes_it_without_waiting(run, aws):
    stack_id = _stuck(aws)
    result = run("delete", "--stack-name", "koji", "--yes", "--poll-seconds", "0")
    assert result.exit_code == 0, result.output
    assert "was never created (REVIEW_IN_PROGRESS" in result.stdout
    status = aws("cloudformation").describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
    assert status == "DELETE_COMPLETE"


def test_a_create_after_review_in_progress_never_asks_for_previous_values():
    from kojistack.ops.deploy import change_set_parameters

    template = json.loads(FIXTURE.read_text())
    # DescribeStacks of a stack whose CREATE change set failed (AWS-shaped: the change set's values)
    stuck = {"StackStatus": "REVIEW_IN_PROGRESS",
             "Parameters": [{"ParameterKey": "AdminUser", "ParameterValue": "old"},
                            {"ParameterKey": "AccessCidr", "ParameterValue": "203.0.113.0/24"}]}
    assert change_set_parameters(template, {"AdminUser": "new"}, stuck) == [
        {"ParameterKey": "AdminUser", "ParameterValue": "new"}]
    live = {**stuck, "StackStatus": "UPDATE_COMPLETE"}
    assert {"ParameterKey": "AccessCidr", "UsePreviousValue": True} in change_set_parameters(
        template, {"AdminUser": "new"}, live)


def test_a_create_that_cannot_be_planned_leaves_no_stack(tmp_path):
    """A CREATE change set that FAILED (an AWS-specific parameter naming nothing in the account: the
    only parameter mistake that reaches AWS after the local check) leaves a REVIEW_IN_PROGRESS stack;
    deploy removes it. AWS-shaped answers through botocore's Stubber: moto never fails a change set."""
    import boto3
    from botocore.stub import ANY, Stubber

    from kojistack.errors import OperationError
    from kojistack.ops.deploy import DeployRequest, deploy
    from kojistack.ops.session import Aws

    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cfn)
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/koji/0"
    cs_id = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/c/0"
    reason = ("Parameter validation failed: parameter value vpc-0123456789abcdef0 for parameter name VpcId "
              "does not exist")
    stub.add_client_error("describe_stacks", "ValidationError", "Stack with id koji does not exist")
    stub.add_response("create_change_set", {"Id": cs_id, "StackId": stack_id}, {
        "StackName": "koji", "ChangeSetName": ANY, "ChangeSetType": "CREATE", "Parameters": ANY,
        "Capabilities": ANY, "TemplateBody": ANY})
    stub.add_response("describe_change_set", {"Status": "FAILED", "StatusReason": reason, "Changes": []},
                      {"ChangeSetName": cs_id})
    stub.add_response("delete_change_set", {}, {"ChangeSetName": cs_id})
    stub.add_response("delete_stack", {}, {"StackName": stack_id})
    stub.activate()

    class StubAws(Aws):
        def client(self, service):
            return cfn

    with pytest.raises(OperationError, match="nothing was created \\(the empty stack koji was removed\\)"):
        deploy(StubAws(boto3.Session(region_name="us-east-1"), "us-east-1"),
               DeployRequest("koji", FIXTURE, {}, poll_seconds=0), lambda _: None, lambda _: False)
    stub.assert_no_pending_responses()
