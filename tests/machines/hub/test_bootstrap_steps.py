"""Steps of files/bin/kojistack-bootstrap, sourced and run for real (openssl, psql, the render
helper). Secrets Manager cannot run here: `aws` is a fake on PATH that keeps each secret in a
file. Where a step asks the database whether it has users, a one-line stand-in for
`kojistack-db has-users` answers (the database steps have their own real tests)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from .conftest import CLOUD_INIT, HUB_FILES, Postgres, run

FAKE_AWS = r"""#!/bin/bash
echo "aws $*" >> "$FAKE_LOG"
id=""; value=""
while [ $# -gt 0 ]; do
  case "$1" in
    --secret-id) id=$(echo "$2" | tr -c 'A-Za-z0-9\n' _); shift ;;
    --secret-string) value=${2#file://}; shift ;;
  esac
  shift
done
case "$FAKE_CALL" in
  *get-secret-value*) cat "$SECRETS/$id" ;;
  *put-secret-value*) cp "$value" "$SECRETS/$id" ;;
esac
"""


@pytest.fixture
def boot(tmp_path: Path):
    files = tmp_path / "files"
    shutil.copytree(HUB_FILES, files)
    answer = tmp_path / "has-users"
    answer.write_text("no\n")
    (files / "bin" / "kojistack-db").write_text(f"#!/bin/bash\ncat {answer}\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(FAKE_AWS.replace('case "$FAKE_CALL" in', 'FAKE_CALL="$(tail -1 "$FAKE_LOG")"\ncase "$FAKE_CALL" in'))
    aws.chmod(0o755)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "calls"),
           "SECRETS": str(secrets), "KOJISTACK_FILES": str(files), "KOJISTACK_PKI_DIR": str(tmp_path / "pki"),
           "KOJISTACK_FETCH_PAYLOAD": str(CLOUD_INIT / "common" / "fetch-payload.sh"),
           "KOJISTACK_BOOTSTRAP_LIB": "1", "KOJISTACK_REGION": "eu-west-1",
           "KOJISTACK_ADMIN_USER": "kojiadmin"}

    def secret(arn: str, value: dict | None = None) -> dict:
        path = secrets / "".join(c if c.isalnum() else "_" for c in arn)
        if value is not None:
            path.write_text(json.dumps(value))
        return json.loads(path.read_text())

    def step(script: str, check: bool = True):
        return run("bash", "-c", f"set -euo pipefail; . {files}/bin/kojistack-bootstrap; {script}",
                   env=env, check=check)

    class Boot:
        pass
    b = Boot()
    b.env, b.secret, b.step, b.pki, b.answer, b.calls = env, secret, step, tmp_path / "pki", answer, tmp_path / "calls"
    return b


PLACEHOLDER = {"placeholder": True}


def test_first_boot_creates_both_cas_and_keeps_them_in_their_secrets(boot):
    boot.secret("ca-arn", PLACEHOLDER)
    boot.secret("bca-arn", PLACEHOLDER)
    boot.step(f'mkdir -p "$PKI"; ensure_ca ca-arn "" "$PKI/ca" kojistack-ca; '
              f'ensure_ca bca-arn "" "$PKI/builder-ca" kojistack-builder-ca "$PKI/ca"')
    stored = boot.secret("ca-arn")
    assert stored["cert_pem"] == (boot.pki / "ca" / "ca.crt").read_text()
    assert stored["key_pem"] == (boot.pki / "ca" / "ca.key").read_text()
    builder = x509.load_pem_x509_certificate(boot.secret("bca-arn")["cert_pem"].encode())
    root = x509.load_pem_x509_certificate(stored["cert_pem"].encode())
    assert builder.issuer == root.subject
    assert (boot.pki / "ca" / "ca.key").stat().st_mode & 0o077 == 0


def test_replacement_hub_reuses_the_ca(boot):
    boot.secret("ca-arn", PLACEHOLDER)
    boot.step('mkdir -p "$PKI"; ensure_ca ca-arn "" "$PKI/ca" kojistack-ca')
    first = boot.secret("ca-arn")
    shutil.rmtree(boot.pki)  # a new instance: nothing local
    boot.answer.write_text("yes\n")
    boot.step('mkdir -p "$PKI"; ensure_ca ca-arn "" "$PKI/ca" kojistack-ca')
    assert (boot.pki / "ca" / "ca.crt").read_text() == first["cert_pem"]
    assert boot.secret("ca-arn") == first
    assert sum("put-secret-value" in line for line in boot.calls.read_text().splitlines()) == 1


def test_never_a_new_ca_while_the_database_has_users(boot):
    boot.secret("ca-arn", PLACEHOLDER)
    boot.answer.write_text("yes\n")
    result = boot.step('mkdir -p "$PKI"; ensure_ca ca-arn "" "$PKI/ca" kojistack-ca', check=False)
    assert result.returncode != 0
    assert "refusing to create a new CA" in result.stderr
    assert boot.secret("ca-arn") == PLACEHOLDER and not (boot.pki / "ca" / "ca.crt").exists()


def test_a_restored_stack_adopts_the_retained_ca(boot):
    boot.secret("old-arn", PLACEHOLDER)
    boot.step('mkdir -p "$PKI"; ensure_ca old-arn "" "$PKI/ca" kojistack-ca')
    retained = boot.secret("old-arn")
    shutil.rmtree(boot.pki)
    boot.secret("ca-arn", PLACEHOLDER)
    boot.answer.write_text("yes\n")
    boot.step('mkdir -p "$PKI"; ensure_ca ca-arn old-arn "$PKI/ca" kojistack-ca')
    assert boot.secret("ca-arn") == retained


def test_admin_credentials_go_to_their_secret_once(boot):
    boot.secret("ca-arn", PLACEHOLDER)
    boot.secret("admin-arn", PLACEHOLDER)
    boot.env["KOJISTACK_ADMIN_SECRET"] = "admin-arn"
    boot.step('mkdir -p "$PKI"; ensure_ca ca-arn "" "$PKI/ca" kojistack-ca; cp "$PKI/ca/ca.crt" "$PKI/ca.pem"; '
              'admin_credentials')
    stored = boot.secret("admin-arn")
    assert set(stored) == {"username", "cert_pem", "key_pem", "p12_b64", "p12_password", "ca_pem"}
    key, cert, _ = pkcs12.load_key_and_certificates(base64.b64decode(stored["p12_b64"]),
                                                    stored["p12_password"].encode())
    assert cert.subject.rfc4514_string() == "CN=kojiadmin,O=kojistack" and key is not None
    assert "PRIVATE KEY" in stored["key_pem"] and "CERTIFICATE" not in stored["key_pem"]
    (boot.pki / "admin.pem").unlink()
    boot.step("admin_credentials")  # a replacement hub: the same credentials come back
    assert boot.secret("admin-arn") == stored
    assert (boot.pki / "admin.pem").read_text() == stored["cert_pem"] + stored["key_pem"]


def test_rendered_dsn_connects_with_a_hostile_password(boot, postgres: Postgres, tmp_path: Path):
    """hub.conf's DBConnectionString, as the bootstrap renders it, is a libpq DSN that works."""
    postgres.superuser_sql("DROP ROLE IF EXISTS dsn_probe", db="postgres")
    password = "it's a \\ back'slash \"and\" spaces"
    postgres.superuser_sql("CREATE ROLE dsn_probe LOGIN PASSWORD " + "'" + password.replace("'", "''") + "'",
                           db="postgres")
    boot.env.update(KOJI_DB_PASSWORD=password, KOJI_WEB_SECRET="x%y", KOJISTACK_PUBLIC_NLB_DNS="pub",
                    KOJISTACK_DB_CLASS="db.t4g.small", KOJISTACK_DB_ADDRESS="localhost",
                    KOJISTACK_DB_PORT=str(postgres.port), KOJISTACK_INTERNAL_NLB_DNS="int")
    pki = boot.pki
    pki.mkdir()
    run(HUB_FILES / "bin" / "kojistack-pki", "ca", pki / "ca", "kojistack-ca")
    run(HUB_FILES / "bin" / "kojistack-pki", "client", pki / "ca", pki / "kojiweb.pem", "kojiweb")
    boot.step(f'config_values; render hub.conf.in {tmp_path}/hub.conf 0640')
    line = next(l for l in (tmp_path / "hub.conf").read_text().splitlines() if l.startswith("DBConnectionString"))
    dsn = line.split("=", 1)[1].strip().replace("user=koji", "user=dsn_probe").replace(
        "sslrootcert=/etc/kojistack/pki/rds-ca.pem", f"sslrootcert={postgres.ca}").replace("dbname=koji", "dbname=postgres")
    result = run("psql", "-X", "-tA", dsn, "-c", "SELECT current_user", env={"PATH": os.environ["PATH"]})
    assert result.stdout.strip() == "dsn_probe"
