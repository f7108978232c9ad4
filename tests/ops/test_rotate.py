"""`kojistack rotate-admin-cert` against moto's Secrets Manager; the hub side (kojistack-user run by
SSM Run Command) is stood in for by a function that writes the secret as the hub would, since no
hub runs here."""

from __future__ import annotations

import datetime
import json

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws

from kojistack.errors import OperationError
from kojistack.ops import rotate
from kojistack.ops.session import Aws
from kojistack.template.secrets import PLACEHOLDER

REGION = "us-east-1"


def _cert_pem(cn: str, days: int) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _creds(days: int) -> str:
    return json.dumps({"username": "kojiadmin", "cert_pem": _cert_pem("kojiadmin", days), "key_pem": "..."})


@pytest.fixture
def aws(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        yield Aws(boto3.Session(region_name=REGION), REGION)


def _secret(aws: Aws, value: str) -> str:
    return aws.client("secretsmanager").create_secret(Name="ks-admin", SecretString=value)["ARN"]


def test_rotation_replaces_the_certificate(aws):
    arn = _secret(aws, _creds(365))
    calls = []

    def hub(a, stack, args):  # what `kojistack-user rotate-admin` does to the secret
        calls.append((stack, args))
        a.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=_creds(730))
        return "rotated"

    old, new = rotate.rotate(aws, "ks", arn, hub)
    assert calls == [("ks", ["rotate-admin"])]
    assert old.serial != new.serial and new.not_after > old.not_after
    assert new.subject == "CN=kojiadmin" and new.line().startswith(f"serial {new.serial:x}, CN=kojiadmin")


def test_a_hub_that_changes_nothing_is_a_failure(aws):
    arn = _secret(aws, _creds(365))
    with pytest.raises(OperationError, match="did not change"):
        rotate.rotate(aws, "ks", arn, lambda a, s, args: "ok")


def test_no_rotation_before_the_hub_wrote_the_first_certificate(aws):
    arn = _secret(aws, PLACEHOLDER)
    called = []
    with pytest.raises(OperationError, match="placeholder"):
        rotate.rotate(aws, "ks", arn, lambda a, s, args: called.append(args) or "")
    assert called == []


def test_a_hand_edited_secret_is_named():
    with pytest.raises(OperationError, match="not JSON"):
        rotate.cert_info("-----BEGIN CERTIFICATE-----")


def test_cli_runs_the_hub_command_through_ssm_and_checks_the_result(aws, monkeypatch):
    """The whole CLI path on moto: stack output -> hub instance -> SSM Run Command -> secret check.
    moto runs no command on the instance, so the secret stays as it was and the CLI must say so."""
    from click.testing import CliRunner

    from kojistack import ids
    from kojistack.cli import main

    monkeypatch.setenv("AWS_REGION", REGION)
    arn = _secret(aws, _creds(365))
    template = {"Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {ids.OUT_ADMIN_SECRET: {"Value": arn}}}
    aws.client("cloudformation").create_stack(StackName="ks", TemplateBody=json.dumps(template))
    ec2 = aws.client("ec2")
    lt = ec2.create_launch_template(LaunchTemplateName="hub", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "m7i.large"})["LaunchTemplate"]["LaunchTemplateId"]
    aws.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="ks-hub", MinSize=1, MaxSize=1, DesiredCapacity=1, LaunchTemplate={"LaunchTemplateId": lt},
        AvailabilityZones=["us-east-1a"])
    result = CliRunner().invoke(main, ["rotate-admin-cert", "--stack-name", "ks"])
    text = result.output + (getattr(result, "stderr", "") or "")
    assert result.exit_code == 1, text
    assert "did not change" in text and arn in text
    sent = aws.client("ssm").list_commands()["Commands"]
    assert [c["Parameters"]["commands"] for c in sent] == [["/opt/kojistack/files/bin/kojistack-user rotate-admin"]]
