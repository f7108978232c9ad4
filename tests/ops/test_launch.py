"""Launch links: well-formed, URL-encoded, and only with parameters the template has."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from kojistack.errors import UserError
from kojistack.ops import launch
from support.paths import REPO

TEMPLATE = {"Parameters": {"AccessCidr": {"Type": "String"}, "AdminUser": {"Type": "String"}},
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}


def parse_launch(url: str) -> tuple[urllib.parse.ParseResult, dict[str, str]]:
    parsed = urllib.parse.urlparse(url)
    path, _, query = parsed.fragment.partition("?")
    assert path == "/stacks/create/review"
    return parsed, dict(urllib.parse.parse_qsl(query, strict_parsing=True))


def test_launch_url_is_encoded_and_round_trips():
    template_url = "https://b.s3.eu-west-1.amazonaws.com/kojistack/0.1.0-abc/kojistack.json?x=1&y=2"
    url = launch.launch_url(template_url, "eu-west-1", "my-koji", {"AccessCidr": "10.0.0.0/8", "AdminUser": "a b&c"})
    parsed, query = parse_launch(url)
    assert parsed.netloc == "eu-west-1.console.aws.amazon.com"
    assert urllib.parse.parse_qs(parsed.query) == {"region": ["eu-west-1"]}
    assert query == {"templateURL": template_url, "stackName": "my-koji",
                     "param_AccessCidr": "10.0.0.0/8", "param_AdminUser": "a b&c"}
    assert "&y=2" not in parsed.fragment and " " not in url


@pytest.mark.parametrize("name", ["1koji", "koji_stack", "", "k" * 129])
def test_bad_stack_names_are_refused(name):
    with pytest.raises(UserError, match="must start with a letter"):
        launch.launch_url("https://b.s3.us-east-1.amazonaws.com/t.json", "us-east-1", name)


def test_markdown_button_links_to_the_url():
    assert launch.markdown_button("https://x/y?a=1") == f"[![Launch Stack]({launch.BUTTON_IMAGE})](https://x/y?a=1)"


@pytest.mark.parametrize("pair", ["NoEquals", "=value"])
def test_bad_param_pairs(pair):
    with pytest.raises(UserError, match="must look like Key=Value"):
        launch.parse_params([pair])


def test_unknown_parameter_of_a_large_template_gets_a_hint():
    known = [f"Param{i}" for i in range(30)] + ["AccessCidr"]
    with pytest.raises(UserError) as err:
        launch.check_params({"AccesCidr": "x", "Zzz": "y"}, known, "t.json")
    assert str(err.value) == ("t.json has no parameter AccesCidr, Zzz (did you mean: AccesCidr -> AccessCidr?); "
                              "it has 31 parameters (see them with `aws cloudformation get-template-summary`)")


def test_param_values_may_hold_equals():
    assert launch.parse_params(["A=b=c", "A=d"]) == {"A": "d"}


def test_launch_url_command(run, aws, aws_env):
    aws("s3").create_bucket(Bucket="tpl")
    aws("s3").put_object(Bucket="tpl", Key="t.json", Body=json.dumps(TEMPLATE))
    template_url = f"{aws_env['AWS_ENDPOINT_URL']}/tpl/t.json"
    result = run("launch-url", "--template-url", template_url, "--param", "AccessCidr=1.2.3.4/32",
                 "--stack-name", "build")
    assert result.exit_code == 0, result.output
    _, query = parse_launch(result.stdout.strip())
    assert query == {"templateURL": template_url, "stackName": "build", "param_AccessCidr": "1.2.3.4/32"}
    result = run("launch-url", "--template-url", template_url, "--markdown")
    assert result.stdout.startswith("[![Launch Stack](")


def test_launch_url_rejects_unknown_parameter(run, aws, aws_env):
    aws("s3").create_bucket(Bucket="tpl")
    aws("s3").put_object(Bucket="tpl", Key="t.json", Body=json.dumps(TEMPLATE))
    result = run("launch-url", "--template-url", f"{aws_env['AWS_ENDPOINT_URL']}/tpl/t.json",
                 "--param", "AccesCidr=1.2.3.4/32")
    assert result.exit_code == 2
    assert ("has no parameter AccesCidr (did you mean: AccesCidr -> AccessCidr?); "
            "its parameters are: AccessCidr, AdminUser") in result.stderr


def test_launch_url_missing_template(run, aws, aws_env):
    aws("s3").create_bucket(Bucket="tpl")
    result = run("launch-url", "--template-url", f"{aws_env['AWS_ENDPOINT_URL']}/tpl/none.json", "--param", "A=1")
    assert result.exit_code == 2
    assert "cannot read the template at" in result.stderr


@pytest.mark.parametrize("url, region", [
    ("https://my-templates.s3.eu-west-1.amazonaws.com/kojistack/latest/kojistack.json", "eu-west-1"),
    ("https://s3.ap-southeast-2.amazonaws.com/my.dotted.bucket/kojistack/latest/kojistack.json", "ap-southeast-2"),
    ("https://my-templates.s3-us-west-2.amazonaws.com/k.json", "us-west-2"),
    ("https://my-templates.s3.amazonaws.com/k.json", "us-east-1"),
    ("https://b.s3.us-gov-west-1.amazonaws.com/k.json", "us-gov-west-1"),
    ("https://raw.githubusercontent.com/o/r/main/k.json", None),
])
def test_the_region_of_a_template_url(url, region):
    assert launch.region_of_url(url) == region


def test_launch_url_for_a_template_you_host_needs_no_credentials(run, no_aws_credentials, monkeypatch):
    """Issue 12 item 2: a link for a template the user hosts, opened in the template's region."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    url = "https://my-templates.s3.eu-west-1.amazonaws.com/kojistack/0.1.0-abc/kojistack.json"
    result = run("launch-url", "--template-url", url, "--markdown")
    assert result.exit_code == 0, result.output
    link = result.stdout.strip().split("](", 2)[2].rstrip(")")
    assert link.startswith("https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#")
    fragment = urllib.parse.urlsplit(link).fragment
    query = urllib.parse.parse_qs(fragment.split("?", 1)[1])
    assert query == {"templateURL": [url], "stackName": ["koji"]}


def test_launch_url_refuses_a_region_other_than_the_templates(run, no_aws_credentials):
    url = "https://my-templates.s3.eu-west-1.amazonaws.com/k.json"
    result = run("launch-url", "--template-url", url, "--region", "us-east-1")
    assert result.exit_code == 2 and "is in eu-west-1 but --region is us-east-1" in result.stderr


def test_launch_url_without_a_region_anywhere(run, no_aws_credentials, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    result = run("launch-url", "--template-url", "https://example.org/k.json")
    assert result.exit_code == 2 and "pass --region" in result.stderr


def test_launch_url_checks_values_against_the_templates_constraints(run, aws, aws_env):
    """A value the template's AllowedPattern refuses is refused here, with the console's words, before a
    link is printed (the generated template itself, read back from S3 as CloudFormation reads it)."""
    aws("s3").create_bucket(Bucket="tpl")
    aws("s3").put_object(Bucket="tpl", Key="k/kojistack.json",
                         Body=(REPO / "templates" / "kojistack.json").read_bytes())
    template_url = f"{aws_env['AWS_ENDPOINT_URL']}/tpl/k/kojistack.json"
    result = run("launch-url", "--template-url", template_url, "--param", "AccessCidr=everyone")
    assert result.exit_code == 2, result.output
    assert "Parameter 'AccessCidr' failed to satisfy constraint" in result.stderr
    assert "nothing was sent to AWS" in result.stderr and "http" not in result.stdout
    result = run("launch-url", "--template-url", template_url, "--param", "AccessCidr=192.0.2.0/24")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("url, endpoint, where", [
    ("https://b.s3.eu-west-1.amazonaws.com/kojistack/latest/kojistack.json", None,
     ("b", "kojistack/latest/kojistack.json", None)),
    ("https://s3.eu-west-1.amazonaws.com/my.bucket/a%20b.json?versionId=3Lg", None, ("my.bucket", "a b.json", "3Lg")),
    ("https://b.s3-eu-west-1.amazonaws.com/t.json", None, ("b", "t.json", None)),
    ("http://127.0.0.1:5000/tpl/t.json", "http://127.0.0.1:5000", ("tpl", "t.json", None)),
    ("https://example.com/t.json", None, None),
])
def test_s3_location_of_template_urls(url, endpoint, where):
    from kojistack.ops.templates import s3_location
    assert s3_location(url, endpoint) == where
