"""`kojistack upload` against a moto server: objects land where the printed URLs point; every error path."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest

from kojistack import __version__

TEMPLATES = {"kojistack.json": {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}},
             "kojistack-existing-vpc.json": {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}}


@pytest.fixture()
def tiny_templates(tmp_path) -> Path:
    """Two tiny stand-in template files (upload does not read them): faster than the real ones."""
    out = tmp_path / "templates"
    out.mkdir()
    for name, body in TEMPLATES.items():
        (out / name).write_text(json.dumps(body))
    return out


def signed_get(url: str) -> bytes:
    """GET `url` signed with the test credentials, as the console does for a private template object."""
    request = AWSRequest(method="GET", url=url)
    S3SigV4Auth(boto3.Session().get_credentials(), "s3", "us-east-1").add_auth(request)
    return urllib.request.urlopen(urllib.request.Request(url, headers=dict(request.headers))).read()


def printed(output: str, label: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in output.splitlines() if line.strip().startswith(label + ":")]


def test_upload_puts_objects_where_printed_urls_point(run, aws, tiny_templates):
    aws("s3").create_bucket(Bucket="kojistack-tpl")
    result = run("upload", "--bucket", "kojistack-tpl", "--templates", str(tiny_templates))
    assert result.exit_code == 0, result.output
    urls = printed(result.stdout, "template") + printed(result.stdout, "latest")
    assert len(urls) == 4
    for url in urls:
        name = url.rsplit("/", 1)[1]
        assert json.loads(signed_get(url)) == TEMPLATES[name]
    keys = sorted(o["Key"] for o in aws("s3").list_objects_v2(Bucket="kojistack-tpl")["Contents"])
    assert [k for k in keys if "/latest/" in k] == ["kojistack/latest/kojistack-existing-vpc.json",
                                                     "kojistack/latest/kojistack.json"]
    assert all(k.startswith(f"kojistack/{__version__}-") or "/latest/" in k for k in keys)
    launches = printed(result.stdout, "launch")
    fragment = urllib.parse.urlparse(launches[0]).fragment
    query = dict(urllib.parse.parse_qsl(fragment.split("?", 1)[1]))
    assert query["templateURL"] == printed(result.stdout, "template")[0]
    assert printed(result.stdout, "markdown")[0].startswith("[![Launch Stack](https://s3.amazonaws.com/")


def test_upload_is_stable_for_the_same_templates(run, aws, tiny_templates):
    aws("s3").create_bucket(Bucket="bucket-one")
    first = run("upload", "--bucket", "bucket-one", "--templates", str(tiny_templates), "--prefix", "p/q/").stdout
    second = run("upload", "--bucket", "bucket-one", "--templates", str(tiny_templates), "--prefix", "p/q").stdout
    assert first == second and "/bucket-one/p/q/latest/kojistack.json" in first


def test_upload_missing_bucket(run, aws, tiny_templates):
    result = run("upload", "--bucket", "no-such-bucket", "--templates", str(tiny_templates))
    assert result.exit_code == 2
    assert "bucket 'no-such-bucket' does not exist" in result.stderr


def test_upload_bucket_in_another_region(run, aws, tiny_templates):
    aws("s3", "eu-west-1").create_bucket(Bucket="far-away",
                                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    result = run("upload", "--bucket", "far-away", "--templates", str(tiny_templates))
    assert result.exit_code == 2
    assert "bucket 'far-away' is in eu-west-1, not us-east-1" in result.stderr
    assert run("upload", "--bucket", "far-away", "--templates", str(tiny_templates),
               "--region", "eu-west-1").exit_code == 0


def test_upload_access_denied(run, aws, tiny_templates, restrict):
    aws("s3").create_bucket(Bucket="locked")
    restrict()
    result = run("upload", "--bucket", "locked", "--templates", str(tiny_templates))
    assert result.exit_code == 1
    assert "access denied to bucket 'locked'" in result.stderr


def test_upload_no_credentials(run, no_aws_credentials, tiny_templates):
    result = run("upload", "--bucket", "any", "--templates", str(tiny_templates))
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.stderr


def test_upload_unknown_profile(run, aws_env, tiny_templates):
    result = run("upload", "--bucket", "any", "--templates", str(tiny_templates), "--profile", "ghost")
    assert result.exit_code == 2
    assert "AWS profile 'ghost' is not in" in result.stderr


def test_upload_without_templates(run, aws, tmp_path):
    aws("s3").create_bucket(Bucket="bucket-two")
    result = run("upload", "--bucket", "bucket-two", "--templates", str(tmp_path / "nothing"))
    assert result.exit_code == 2
    assert "no templates in" in result.stderr


def test_s3_urls_on_aws(monkeypatch):
    import boto3 as _boto3

    from kojistack.ops.session import Aws
    from kojistack.ops.upload import s3_url

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws = Aws(_boto3.Session(region_name="eu-west-1"), "eu-west-1")
    assert s3_url(aws, "koji-tpl", "kojistack/latest/kojistack.json") == \
        "https://koji-tpl.s3.eu-west-1.amazonaws.com/kojistack/latest/kojistack.json"
    assert s3_url(aws, "koji.example.com", "a b.json") == "https://s3.eu-west-1.amazonaws.com/koji.example.com/a%20b.json"
