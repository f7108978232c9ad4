"""cloud-init/payload/hub/bin/kojistack-user, run for real: openssl mints and revokes, boto3 writes the
secret to the moto server, and the real koji 1.35.3 CLI (the PyPI package's `koji`) talks to the
fake hub (tests/fakes/kojihub.py), which answers as the real hub did in the CLI recordings
(tests/fakes/recordings/cli-transcripts.jsonl). Only `systemctl reload httpd` is a stand-in."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from fakes.kojihub import FakeHub
from fakes.pki import TestPki
from kojistack import names
from support.paths import REPO

BIN = REPO / "cloud-init" / "payload" / "hub" / "bin"
SCRIPT = BIN / "kojistack-user"
KOJI = Path(sys.executable).with_name("koji")  # the real CLI, koji==1.35.3 from PyPI
PREFIX = "kojistack/koji/0a1b2c3d-1111-2222-3333-444455556666/users/"  # names.USER_SECRET_PREFIX, filled in


@pytest.fixture()
def hub(tmp_path, aws_env, aws):
    """The stack CA (the fake hub's TLS CA, so minted certificates log in), the admin's certificate,
    the fake hub with the admin user, the real koji CLI, moto for Secrets Manager."""
    pki_dir = tmp_path / "pki"
    pki_dir.mkdir()
    pki = TestPki.create(str(pki_dir))
    fake = FakeHub.start(pki)
    fake.seed_user("kojiadmin", ("admin",))
    fake.seed_perm("packager")  # as the bootstrap's sql/users.sql does
    reload = tmp_path / "reload-httpd"
    reload.write_text(f"#!/bin/bash\necho reloaded >> {tmp_path}/reloads\n")
    reload.chmod(0o755)
    env = dict(os.environ, KOJISTACK_ENV_FILE=str(tmp_path / "none.env"), KOJISTACK_STACK_NAME="koji",
               KOJISTACK_ADMIN_USER="kojiadmin",
               KOJISTACK_USER_SECRET_PREFIX=PREFIX,
               KOJISTACK_REGION="us-east-1", KOJISTACK_PKI_DIR=str(pki_dir), KOJISTACK_CA_CERT=pki.ca_pem,
               KOJISTACK_CA_KEY=str(pki_dir / "ca.key"), KOJISTACK_USER_DB=str(tmp_path / "efs-users"),
               KOJISTACK_ADMIN_PEM=pki.client("kojiadmin"), KOJISTACK_HUB_URL=fake.url,
               KOJISTACK_KOJI=str(KOJI), KOJISTACK_PYTHON=sys.executable, KOJISTACK_RELOAD_HTTPD=str(reload))

    def user(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(SCRIPT), *args], env=dict(env, **extra), capture_output=True, text=True)

    user.pki, user.fake, user.tmp = pki_dir, fake, tmp_path  # type: ignore[attr-defined]
    user.ca = Path(pki.ca_pem)  # type: ignore[attr-defined]
    yield user
    fake.stop()


def koji_as(hub, creds: dict, *args: str) -> subprocess.CompletedProcess:
    """The real koji CLI with the credentials from the user's secret, as the user would run it."""
    pem = hub.tmp / f"{creds['username']}.pem"
    pem.write_text(creds["cert_pem"] + creds["key_pem"])
    conf = hub.tmp / f"{creds['username']}.conf"
    conf.write_text(f"[me]\nserver = {hub.fake.url}\nauthtype = ssl\ncert = {pem}\nserverca = {hub.ca}\n")
    return subprocess.run([str(KOJI), "-c", str(conf), "-p", "me", *args], capture_output=True, text=True)


def koji_user(hub, name: str) -> dict | None:
    """The fake hub's view of user NAME: status and permissions (None: no such user)."""
    uid = hub.fake._user_by_name(name)
    if uid is None:
        return None
    u = hub.fake.users[uid]
    return {"status": u.status, "perms": sorted(u.perms)}


def secret(aws, name: str) -> dict:
    return json.loads(aws("secretsmanager").get_secret_value(SecretId=f"{PREFIX}{name}")["SecretString"])


def verify(hub, cert_pem: str, crl: bool) -> subprocess.CompletedProcess:
    cert = hub.tmp / "check.pem"
    cert.write_text(cert_pem)
    args = ["openssl", "verify", "-CAfile", str(hub.ca)]
    if crl:
        args += ["-crl_check", "-CRLfile", str(hub.pki / "crl.pem")]
    return subprocess.run([*args, str(cert)], capture_output=True, text=True)


def test_add_mints_a_valid_certificate_into_the_secret(hub, aws):
    result = hub("add", "alice", "packager", "repo")  # what `kojistack user add alice --perm repo` sends
    assert result.returncode == 0, result.stderr
    creds = secret(aws, "alice")
    assert creds["username"] == "alice"
    assert verify(hub, creds["cert_pem"], crl=False).returncode == 0
    key, cert, _ = pkcs12.load_key_and_certificates(base64.b64decode(creds["p12_b64"]), creds["p12_password"].encode())
    assert cert.subject.rfc4514_string().endswith("CN=alice") or "CN=alice" in cert.subject.rfc4514_string()
    assert creds["ca_pem"] == hub.ca.read_text()
    assert koji_user(hub, "alice") == {"status": 0, "perms": ["packager", "repo"]}
    hello = koji_as(hub, creds, "moshimoshi")
    assert hello.returncode == 0 and "alice!" in hello.stdout, hello.stderr
    assert "BEGIN" not in result.stdout and creds["p12_password"] not in result.stdout
    assert f"credentials in secret {PREFIX}alice" in result.stdout


def test_add_twice_keeps_permissions_and_issues_a_new_certificate(hub, aws):
    # koji's list-permissions pads names and grant-permission of a held permission fails
    # (cli-transcripts p7-06, p7-03): the second add must not grant again
    first = hub("add", "erin", "tag")
    assert first.returncode == 0, first.stderr
    old = secret(aws, "erin")
    again = hub("add", "erin", "tag", "repo")
    assert again.returncode == 0, again.stderr
    new = secret(aws, "erin")
    assert new["cert_pem"] != old["cert_pem"]
    assert koji_user(hub, "erin") == {"status": 0, "perms": ["repo", "tag"]}
    assert koji_as(hub, new, "moshimoshi").returncode == 0


def _nothing_written(hub, aws, name: str) -> None:
    assert koji_user(hub, name) is None
    assert not (hub.tmp / "efs-users" / "certs" / f"{name}.pem").exists()
    with pytest.raises(aws("secretsmanager").exceptions.ResourceNotFoundException):
        aws("secretsmanager").describe_secret(SecretId=f"{PREFIX}{name}")


def test_an_unknown_permission_fails_before_anything_is_written(hub, aws):
    # there is no `build` permission in koji 1.35.3 (cli-transcripts p7-01)
    result = hub("add", "frank", "repo", "build")
    assert result.returncode == 1
    assert "koji has no permission 'build'" in result.stderr and "repo" in result.stderr
    _nothing_written(hub, aws, "frank")


def test_an_unreachable_hub_fails_before_anything_is_written(hub, aws):
    result = hub("add", "grace", KOJISTACK_HUB_URL="https://127.0.0.1:9/kojihub")
    assert result.returncode == 1
    assert "nothing was changed" in result.stderr
    _nothing_written(hub, aws, "grace")


def test_a_failed_re_add_leaves_the_credentials_as_they_were(hub, aws):
    assert hub("add", "heidi").returncode == 0
    before = secret(aws, "heidi")
    cert_file = hub.tmp / "efs-users" / "certs" / "heidi.pem"
    recorded = cert_file.read_text()
    assert hub("add", "heidi", "build").returncode == 1
    assert secret(aws, "heidi") == before and cert_file.read_text() == recorded
    assert not (hub.tmp / "efs-users" / "certs" / "heidi.previous.pem").exists()


def test_a_koji_host_of_that_name_is_refused(hub, aws):
    hub.fake.seed_host("build-box")
    result = hub("add", "build-box")
    assert result.returncode == 1 and "not a normal user" in result.stderr
    with pytest.raises(aws("secretsmanager").exceptions.ResourceNotFoundException):
        aws("secretsmanager").describe_secret(SecretId=PREFIX + "build-box")


def test_revoke_puts_the_certificate_on_the_crl(hub, aws):
    assert hub("add", "bob").returncode == 0
    secret_before_revoke = secret(aws, "bob")
    old = secret_before_revoke["cert_pem"]
    assert hub("crl").returncode == 0
    assert verify(hub, old, crl=True).returncode == 0
    result = hub("revoke", "bob")
    assert result.returncode == 0, result.stderr
    assert "1 certificate(s) revoked" in result.stdout
    checked = verify(hub, old, crl=True)
    assert checked.returncode != 0 and "revoked" in checked.stdout + checked.stderr
    assert (hub.tmp / "reloads").read_text() == "reloaded\n"
    assert koji_user(hub, "bob")["status"] == 1  # disabled: its certificate no longer logs in
    refused = koji_as(hub, secret_before_revoke, "moshimoshi")
    assert refused.returncode == 1 and "logins by bob are not allowed" in refused.stderr
    deleted = aws("secretsmanager").describe_secret(SecretId=PREFIX + "bob")
    assert "DeletedDate" in deleted
    # re-adding gets a new certificate that the CRL does not list, and the secret back
    assert hub("add", "bob").returncode == 0
    new = secret(aws, "bob")["cert_pem"]
    assert new != old and verify(hub, new, crl=True).returncode == 0
    assert koji_user(hub, "bob") == {"status": 0, "perms": []}
    assert koji_as(hub, secret(aws, "bob"), "moshimoshi").returncode == 0


def test_revoke_covers_every_certificate_issued(hub, aws):
    assert hub("add", "carol").returncode == 0
    first = secret(aws, "carol")["cert_pem"]
    assert hub("add", "carol").returncode == 0
    result = hub("revoke", "carol")
    assert "2 certificate(s) revoked" in result.stdout, result.stderr
    assert verify(hub, first, crl=True).returncode != 0


def test_revoke_after_three_adds_and_again_after_re_adding(hub, aws):
    # found on the real hub: the third certificate made revoke re-revoke a part of the first file, and
    # OpenSSL 3's "Already revoked" (capital A) was not recognised, so revoke failed half-way
    for _ in range(3):
        assert hub("add", "ivan", "packager").returncode == 0
    first = hub("revoke", "ivan")
    assert first.returncode == 0 and "3 certificate(s) revoked" in first.stdout, first.stderr
    assert hub("add", "ivan", "packager").returncode == 0
    latest = secret(aws, "ivan")["cert_pem"]
    again = hub("revoke", "ivan")
    assert again.returncode == 0 and "1 certificate(s) revoked" in again.stdout, again.stderr
    assert verify(hub, latest, crl=True).returncode != 0


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


@pytest.mark.parametrize("key", sorted(names.USERS))
def test_the_stack_s_own_users_are_refused_by_names_env(hub, key, tmp_path, monkeypatch):
    """The system users kojistack-user refuses are names.env's (kojistack/names.py USERS): renamed
    there, the renamed one is refused."""
    monkeypatch.setattr(names, key, "ks-renamed-" + key.lower().replace("_", "-"))
    (tmp_path / "renamed.env").write_text(names.env_text())
    result = hub("add", getattr(names, key), KOJISTACK_NAMES_ENV=str(tmp_path / "renamed.env"))
    assert result.returncode == 1
    assert f"'{getattr(names, key)}' is a system user" in result.stderr


def test_the_admin_is_the_stack_s_not_a_default(hub):
    """The admin is AdminUserName from stack.env; kojistack-user assumes no name of its own (the
    template's Default is the one spelling): without it, a clear refusal."""
    result = hub("add", "dave", KOJISTACK_ADMIN_USER="")
    assert result.returncode == 1
    assert "KOJISTACK_ADMIN_USER is not set" in result.stderr
    other = hub("add", "ops-admin", KOJISTACK_ADMIN_USER="ops-admin")  # another stack's admin name
    assert other.returncode == 1 and "'ops-admin' is a system user" in other.stderr


def test_shellcheck_clean():
    subprocess.run(["shellcheck", str(SCRIPT)], check=True)
