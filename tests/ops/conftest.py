"""Fixtures for the ops tests: a moto server on loopback (AWS cannot be reached here) and CLI runners.

The moto server is a real HTTP endpoint reached through AWS_ENDPOINT_URL, exactly as a user would
point the CLI at another endpoint; moto stands in for AWS because there is no AWS account here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from kojistack.cli import main

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server process on loopback; its URL uses `localhost` (moto maps such template URLs to S3)."""
    port = _free_port()
    proc = subprocess.Popen([str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:  # pragma: no cover
        proc.kill()
        raise RuntimeError("moto_server did not start")
    yield url
    proc.terminate()
    proc.wait()


@pytest.fixture()
def aws_env(moto_endpoint, tmp_path, monkeypatch):
    """Environment of a user with credentials and a region, every AWS call going to the moto server."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"))
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    for key in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture()
def aws(aws_env):
    """boto3 clients on the moto server, for arranging and checking state."""
    session = boto3.Session(region_name=REGION)
    return lambda service, region=REGION: session.client(service, region_name=region)


@pytest.fixture()
def run():
    """Run `kojistack ARGS...` in-process; returns click's Result (exit_code, stdout, stderr)."""
    def _run(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return _run


def set_auth(endpoint: str, count: str) -> None:
    """Make the moto server enforce IAM after `count` more requests ("inf" switches enforcement off)."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=count.encode(),
                                                  headers={"Content-Type": "text/plain"}, method="POST"))


@pytest.fixture()
def restrict(aws, moto_endpoint, monkeypatch):
    """Call after arranging: switches the CLI to an IAM user allowed nothing, with IAM enforced."""
    def _restrict() -> None:
        iam = aws("iam")
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        set_auth(moto_endpoint, "0")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    yield _restrict
    set_auth(moto_endpoint, "inf")


@pytest.fixture()
def no_aws_credentials(aws_env, monkeypatch):
    """The environment of a user who has not configured AWS credentials at all."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key, raising=False)


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


_IMAGES: dict[str, str] = {}


def moto_image(aws) -> str:
    """An AMI id moto knows (its preloaded images survive a reset; looked up once: the listing is slow)."""
    if "id" not in _IMAGES:
        _IMAGES["id"] = aws("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return _IMAGES["id"]


def make_group(aws, name: str, size: int, tags: dict[str, str] | None = None) -> list[str]:
    """An auto scaling group of `size` moto instances; returns their ids."""
    ec2 = aws("ec2")
    image = moto_image(aws)
    lt_name = f"lt-{name}"
    try:
        ec2.create_launch_template(LaunchTemplateName=lt_name,
                                   LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"})
    except ec2.exceptions.ClientError:
        pass
    aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=size, MaxSize=max(size, 1), DesiredCapacity=size,
        AvailabilityZones=["us-east-1a"], LaunchTemplate={"LaunchTemplateName": lt_name},
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in (tags or {}).items()])
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return [i["InstanceId"] for i in group["Instances"]]


def user_secret(aws, stack: str, user: str) -> str:
    """The name `kojistack user add` gives USER's secret in STACK (it carries the stack's unique id)."""
    from kojistack.ops import stackinfo
    description = aws("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return stackinfo.user_secret_name(description, user)
