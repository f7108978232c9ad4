"""`kojistack client-config` against a moto server: a profile the real koji library reads, files at 0600."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import koji
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from .conftest import user_secret
from .pki import credentials

FIXTURE = Path(__file__).parent / "fixtures" / "outputs-stack.json"


def make_stack(aws, name: str = "koji", secret_value: dict | None = None) -> dict[str, str]:
    creds = credentials() if secret_value is None else secret_value
    arn = aws("secretsmanager").create_secret(Name=f"{name}-admin", SecretString=json.dumps(creds))["ARN"]
    aws("cloudformation").create_stack(StackName=name, TemplateBody=FIXTURE.read_text(),
                                       Parameters=[{"ParameterKey": "AdminSecret", "ParameterValue": arn}])
    return creds


def test_profile_is_read_by_koji(run, aws, aws_env):
    creds = make_stack(aws)
    result = run("client-config", "--stack-name", "koji", "--koji-profile", "mykoji")
    assert result.exit_code == 0, result.output
    assert "try it:  koji -p mykoji moshimoshi" in result.stdout
    home = Path(aws_env["HOME"]) / ".koji"
    options = koji.read_config("mykoji")
    assert options["server"] == "https://koji-public-0123.elb.us-east-1.amazonaws.com/kojihub"
    assert options["weburl"].endswith("/koji") and options["topurl"].endswith("/kojifiles")
    assert options["authtype"] == "ssl"
    assert Path(options["cert"]).read_text() == creds["cert_pem"] + creds["key_pem"]
    assert Path(options["serverca"]).read_text() == creds["ca_pem"]
    p12_path = home / "mykoji" / "kojiadmin.p12"
    password = (home / "mykoji" / "kojiadmin.p12.password").read_text().strip()
    key, cert, extra = pkcs12.load_key_and_certificates(p12_path.read_bytes(), password.encode())
    assert key is not None and cert is not None and len(extra) == 1
    written = [p for p in home.rglob("*") if p.is_file()]
    assert len(written) == 5
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {0o600}
    assert stat.S_IMODE((home / "mykoji").stat().st_mode) == 0o700


def test_default_profile_is_the_stack_name_and_rerun_is_fine(run, aws):
    make_stack(aws)
    assert run("client-config", "--stack-name", "koji").exit_code == 0
    again = run("client-config", "--stack-name", "koji")
    assert again.exit_code == 0, again.output
    assert koji.read_config("koji")["server"].endswith("/kojihub")


def test_refuses_to_overwrite_a_different_profile(run, aws, aws_env):
    make_stack(aws)
    conf = Path(aws_env["HOME"]) / ".koji" / "config.d" / "koji.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[koji]\nserver = https://other.example/kojihub\n")
    result = run("client-config", "--stack-name", "koji")
    assert result.exit_code == 2
    assert "koji profile 'koji' already exists with different settings" in result.stderr
    assert "pass --force" in result.stderr
    assert conf.read_text().startswith("[koji]\nserver = https://other")
    forced = run("client-config", "--stack-name", "koji", "--force")
    assert forced.exit_code == 0
    assert koji.read_config("koji")["server"] == "https://koji-public-0123.elb.us-east-1.amazonaws.com/kojihub"


def test_credentials_not_written_yet(run, aws):
    make_stack(aws, secret_value={"placeholder": True})
    result = run("client-config", "--stack-name", "koji")
    assert result.exit_code == 1
    assert "the hub has not written the credentials of the admin yet" in result.stderr


def test_unknown_stack(run, aws):
    result = run("client-config", "--stack-name", "nothere")
    assert result.exit_code == 2
    assert "there is no stack 'nothere' in us-east-1" in result.stderr


def test_user_profile_from_the_user_secret(run, aws):
    make_stack(aws)
    alice = credentials("alice")
    aws("secretsmanager").create_secret(Name=user_secret(aws, "koji", "alice"), SecretString=json.dumps(alice))
    result = run("client-config", "--stack-name", "koji", "--user", "alice", "--koji-profile", "koji-alice")
    assert result.exit_code == 0, result.output
    assert "alice.p12" in result.stdout
    assert base64.b64decode(alice["p12_b64"])
    missing = run("client-config", "--stack-name", "koji", "--user", "bob")
    assert missing.exit_code == 2
    assert "there are no credentials for user bob" in missing.stderr


@pytest.mark.parametrize("profile", ["../etc", "a b"])
def test_bad_profile_name(run, aws, profile):
    result = run("client-config", "--stack-name", "koji", "--koji-profile", profile)
    assert result.exit_code == 2
    assert "--koji-profile" in result.stderr
