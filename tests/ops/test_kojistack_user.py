"""cloud-init/hub/files/bin/kojistack-user, run for real: openssl mints and revokes, boto3 writes the secret
to the moto server. Only the koji CLI and `systemctl reload httpd` are stand-ins (no hub runs here)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from support.paths import REPO

BIN = REPO / "cloud-init" / "hub" / "files" / "bin"
SCRIPT = BIN / "kojistack-user"

FAKE_KOJI = """#!/bin/bash
# stand-in for the koji CLI: logs its arguments; knows the users it added
log={log}
shift 4  # -c CONF -p PROFILE
echo "$*" >> "$log"
case "$1" in
  userinfo) grep -qx "add-user $2" "$log"; exit ;;
  list-permissions) grep "grant-permission .* $3\\$" "$log" | awk '{{print $2}}' ;;
esac
exit 0
"""


@pytest.fixture()
def hub(tmp_path, aws_env, aws):
    """A stand-in hub layout: a stack CA made by kojistack-pki, a fake koji CLI, moto for Secrets Manager."""
    pki = tmp_path / "pki"
    subprocess.run([str(BIN / "kojistack-pki"), "ca", str(pki), "kojistack-ca"], check=True,
                   capture_output=True)
    koji_log = tmp_path / "koji.log"
    koji_log.write_text("")
    fake_koji = tmp_path / "koji"
    fake_koji.write_text(FAKE_KOJI.format(log=koji_log))
    reload = tmp_path / "reload-httpd"
    reload.write_text(f"#!/bin/bash\necho reloaded >> {tmp_path}/reloads\n")
    for exe in (fake_koji, reload):
        exe.chmod(0o755)
    env = dict(os.environ, KOJISTACK_ENV_FILE=str(tmp_path / "none.env"), KOJISTACK_STACK_NAME="koji",
               KOJISTACK_REGION="us-east-1", KOJISTACK_PKI_DIR=str(pki), KOJISTACK_CA_CERT=str(pki / "ca.crt"),
               KOJISTACK_CA_KEY=str(pki / "ca.key"), KOJISTACK_USER_DB=str(tmp_path / "efs-users"),
               KOJISTACK_KOJI=str(fake_koji), KOJISTACK_PYTHON=sys.executable,
               KOJISTACK_RELOAD_HTTPD=str(reload))

    def user(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True)

    user.pki, user.koji_log, user.tmp = pki, koji_log, tmp_path  # type: ignore[attr-defined]
    return user


def secret(aws, name: str) -> dict:
    return json.loads(aws("secretsmanager").get_secret_value(SecretId=f"kojistack/koji/users/{name}")["SecretString"])


def verify(hub, cert_pem: str, crl: bool) -> subprocess.CompletedProcess:
    cert = hub.tmp / "check.pem"
    cert.write_text(cert_pem)
    args = ["openssl", "verify", "-CAfile", str(hub.pki / "ca.crt")]
    if crl:
        args += ["-crl_check", "-CRLfile", str(hub.pki / "crl.pem")]
    return subprocess.run([*args, str(cert)], capture_output=True, text=True)


def test_add_mints_a_valid_certificate_into_the_secret(hub, aws):
    result = hub("add", "alice", "build", "repo")
    assert result.returncode == 0, result.stderr
    creds = secret(aws, "alice")
    assert creds["username"] == "alice"
    assert verify(hub, creds["cert_pem"], crl=False).returncode == 0
    key, cert, _ = pkcs12.load_key_and_certificates(base64.b64decode(creds["p12_b64"]), creds["p12_password"].encode())
    assert cert.subject.rfc4514_string().endswith("CN=alice") or "CN=alice" in cert.subject.rfc4514_string()
    assert creds["ca_pem"] == (hub.pki / "ca.crt").read_text()
    assert hub.koji_log.read_text().splitlines() == [
        "userinfo alice", "add-user alice", "list-permissions --user alice", "grant-permission build alice",
        "list-permissions --user alice", "grant-permission repo alice"]
    assert "BEGIN" not in result.stdout and creds["p12_password"] not in result.stdout
    assert "credentials in secret kojistack/koji/users/alice" in result.stdout


def test_revoke_puts_the_certificate_on_the_crl(hub, aws):
    assert hub("add", "bob").returncode == 0
    old = secret(aws, "bob")["cert_pem"]
    assert hub("crl").returncode == 0
    assert verify(hub, old, crl=True).returncode == 0
    result = hub("revoke", "bob")
    assert result.returncode == 0, result.stderr
    assert "1 certificate(s) revoked" in result.stdout
    checked = verify(hub, old, crl=True)
    assert checked.returncode != 0 and "revoked" in checked.stdout + checked.stderr
    assert (hub.tmp / "reloads").read_text() == "reloaded\n"
    assert "disable-user bob" in hub.koji_log.read_text()
    deleted = aws("secretsmanager").describe_secret(SecretId="kojistack/koji/users/bob")
    assert "DeletedDate" in deleted
    # re-adding gets a new certificate that the CRL does not list, and the secret back
    assert hub("add", "bob").returncode == 0
    new = secret(aws, "bob")["cert_pem"]
    assert new != old and verify(hub, new, crl=True).returncode == 0
    assert "enable-user bob" in hub.koji_log.read_text()


def test_revoke_covers_every_certificate_issued(hub, aws):
    assert hub("add", "carol").returncode == 0
    first = secret(aws, "carol")["cert_pem"]
    assert hub("add", "carol").returncode == 0
    result = hub("revoke", "carol")
    assert "2 certificate(s) revoked" in result.stdout, result.stderr
    assert verify(hub, first, crl=True).returncode != 0


@pytest.mark.parametrize("args,message", [
    (["add", "-rf"], "invalid user name '-rf'"),
    (["add", "a;b"], "invalid user name 'a;b'"),
    (["add", "kojira"], "'kojira' is a system user"),
    (["add", "x86-64-01"], "is a builder slot name"),
    (["add", "dave", "BAD PERM"], "invalid permission 'BAD PERM'"),
    (["revoke", "nobody"], "no certificate was issued to 'nobody'"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["rotate-admin"], "KOJISTACK_ADMIN_SECRET is not set"),
    (["rotate-admin", "extra"], "usage: kojistack-user rotate-admin"),
])
def test_refusals(hub, args, message):
    result = hub(*args)
    assert result.returncode == 1
    assert message in result.stderr


def test_shellcheck_clean():
    subprocess.run(["shellcheck", str(SCRIPT)], check=True)
