"""Steps of files/bin/kojistack-bootstrap, sourced and run for real (openssl, psql, the render
helper). Secrets Manager cannot run here: `aws` is a fake on PATH that keeps each secret in a
file. Where a step asks the database whether it has users, a one-line stand-in for
`kojistack-db has-users` answers (the database steps have their own real tests)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from kojistack import names

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
           "KOJISTACK_FETCH_PAYLOAD": str(CLOUD_INIT / "user-data" / "common" / "fetch-payload.sh"),
           "KOJISTACK_BOOTSTRAP_LIB": "1", "KOJISTACK_REGION": "eu-west-1",
           "KOJISTACK_ADMIN_USER": "kojiadmin", "KOJISTACK_NAMES_ENV": os.environ["KOJISTACK_NAMES_ENV"]}

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
    boot.step('mkdir -p "$PKI"; ensure_ca ca-arn "" "$PKI/ca" kojistack-ca; '
              'ensure_ca bca-arn "" "$PKI/builder-ca" kojistack-builder-ca "$PKI/ca"')
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
    run(HUB_FILES / "bin" / "kojistack-pki", "client", pki / "ca", pki / f"{names.USER_WEB}.pem", names.USER_WEB)
    boot.step(f'config_values; render hub.conf.in {tmp_path}/hub.conf 0640')
    line = next(x for x in (tmp_path / "hub.conf").read_text().splitlines() if x.startswith("DBConnectionString"))
    dsn = line.split("=", 1)[1].strip().replace("user=koji", "user=dsn_probe").replace(
        "sslrootcert=/etc/kojistack/pki/rds-ca.pem", f"sslrootcert={postgres.ca}").replace(
        "dbname=koji", "dbname=postgres")
    result = run("psql", "-X", "-tA", dsn, "-c", "SELECT current_user", env={"PATH": os.environ["PATH"]})
    assert result.stdout.strip() == "dsn_probe"


@pytest.fixture
def koji_host(tmp_path: Path):
    """The bootstrap's koji step on a host whose dnf/rpm are tests/fakes/rpmhost.py (EL tools do
    not run here); SSM is the builders' recording fake aws; EFS is a directory."""
    from fakes.rpmhost import install_fake_rpm_tools
    from machines.builder.fakes_cli import install_fake_aws

    bin_dir = tmp_path / "bin"
    install_fake_rpm_tools(bin_dir, tmp_path / "rpm", [f"{n}-1.35.3-1.el9" for n in KOJI_RPMS])
    install_fake_aws(bin_dir)
    (tmp_path / "aws").mkdir()
    key = tmp_path / "RPM-GPG-KEY-EPEL-9"
    key.write_text("key\n")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_RPM_DIR": str(tmp_path / "rpm"),
           "FAKE_AWS_DIR": str(tmp_path / "aws"), "KOJISTACK_KOJI_KEEP": str(tmp_path / "efs" / "kojistack-koji"),
           "KOJISTACK_FILES": str(HUB_FILES),
           "KOJISTACK_FETCH_PAYLOAD": str(CLOUD_INIT / "user-data" / "common" / "fetch-payload.sh"),
           "KOJISTACK_BOOTSTRAP_LIB": "1", "KOJISTACK_REGION": "eu-west-1", "KOJISTACK_SSM_PREFIX": "/ks/kojistack"}

    def boot(koji_version: str = "") -> None:
        """One hub instance's koji step (a fresh instance: empty rpmdb), twice (a reboot)."""
        (tmp_path / "rpm" / "installed").unlink(missing_ok=True)
        for _ in range(2):
            run("bash", "-c", f"set -euo pipefail; . {HUB_FILES}/bin/kojistack-bootstrap; "
                f"koji_key() {{ echo {key}; }}; koji_install",
                env=dict(env, KOJISTACK_KOJI_VERSION=koji_version))
    boot.env, boot.key = env, key  # type: ignore[attr-defined]
    return tmp_path, boot


KOJI_RPMS = ("koji", "python3-koji", "koji-hub", "python3-koji-hub", "koji-web", "python3-koji-web",
             "koji-utils", "koji-builder")


def test_the_hub_keeps_its_koji_and_a_replacement_is_never_silently_upgraded(koji_host):
    from fakes.rpmhost import installed, set_mirror

    root, boot = koji_host
    keep = root / "efs" / "kojistack-koji"
    boot()
    assert "koji-hub-1.35.3-1.el9" in installed(root / "rpm")
    assert {p.name for p in keep.glob("*.rpm")} == {f"{n}-1.35.3-1.el9.noarch.rpm" for n in KOJI_RPMS}
    assert (keep / "current").read_text() == "1.35.3-1.el9\n" and (keep / "RPM-GPG-KEY").read_text() == "key\n"
    ssm = root / "aws" / "params" / "ks__kojistack__koji-version"
    assert ssm.read_text() == "1.35.3-1.el9"  # what builders install
    # the mirrors move on (EPEL keeps only its newest build): a replacement hub keeps 1.35.3
    set_mirror(root / "rpm", [f"{n}-1.36.1-1.el9" for n in KOJI_RPMS])
    boot()
    assert "koji-hub-1.35.3-1.el9" in installed(root / "rpm") and ssm.read_text() == "1.35.3-1.el9"
    boot("1.35.3")  # KojiVersion names the kept build: still installable
    assert "koji-hub-1.35.3-1.el9" in installed(root / "rpm")
    # KojiVersion names a newer one: the operator's upgrade, from the mirrors, then kept as well
    boot("1.36.1")
    assert "koji-hub-1.36.1-1.el9" in installed(root / "rpm") and ssm.read_text() == "1.36.1-1.el9"
    assert (keep / "koji-builder-1.36.1-1.el9.noarch.rpm").exists()
    assert (keep / "current").read_text() == "1.36.1-1.el9\n"
    assert (keep / "koji-builder-1.35.3-1.el9.noarch.rpm").exists()  # older builds stay installable


def _koji_for_schema(boot, koji_version: str, schema: str, check: bool = True):
    """The database step's koji_for_schema, as a hub whose KojiVersion is `koji_version` runs it."""
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; . {HUB_FILES}/bin/kojistack-bootstrap; "
         f"koji_key() {{ echo {boot.key}; }}; koji_for_schema '{schema}'; echo \"installed=$KOJI_INSTALLED_VERSION\""],
        env=dict(os.environ, **boot.env, KOJISTACK_KOJI_VERSION=koji_version, KOJI_INSTALLED_VERSION="unset"),
        capture_output=True, text=True, check=check)


def test_a_rolled_back_koji_upgrade_rolls_forward_to_the_kept_koji_of_the_schema(koji_host):
    """issue 11 item 7: CloudFormation rolls an update back by relaunching the old launch template,
    whose KojiVersion is older than the schema the upgraded hub wrote. That hub must not refuse the
    database (UPDATE_ROLLBACK_FAILED): it runs the upgraded hub's kept koji instead."""
    from fakes.rpmhost import installed, set_mirror

    root, boot = koji_host
    keep, ssm = root / "efs" / "kojistack-koji", root / "aws" / "params" / "ks__kojistack__koji-version"
    boot("1.35.3")
    set_mirror(root / "rpm", [f"{n}-1.36.1-1.el9" for n in KOJI_RPMS])
    boot("1.36.1")  # the upgrade; its database step moved the schema to 1.36
    boot("1.35.3")  # the rollback's hub: the old launch template, KojiVersion 1.35.3, from the kept repo
    assert "koji-hub-1.35.3-1.el9" in installed(root / "rpm")
    result = _koji_for_schema(boot, "1.35.3", "1.36")
    assert "koji-hub-1.36.1-1.el9" in installed(root / "rpm")
    assert "installed=1.36.1" in result.stdout and "a rolled-back upgrade" in result.stderr
    assert (keep / "current").read_text() == "1.36.1-1.el9\n" and ssm.read_text() == "1.36.1-1.el9"
    # the same or an older schema changes nothing here (kojistack-db prepare upgrades an older one)
    for schema in ("1.36", "1.35", ""):
        assert "installed=unset" in _koji_for_schema(boot, "1.36.1", schema).stdout


def test_a_schema_newer_than_every_kept_koji_stops_with_what_to_do(koji_host):
    root, boot = koji_host
    boot("1.35.3")
    result = _koji_for_schema(boot, "1.35.3", "1.37", check=False)
    assert result.returncode != 0
    assert "no build of koji 1.37 is kept" in result.stderr and "restore the database snapshot" in result.stderr


def test_the_hub_enables_epel_and_crb_itself_and_installs_openssl(koji_host):
    """koji comes from EPEL (and its dependencies from CRB) even on an image that already ships the
    AWS CLI (then kojistack-fetch-payload enabled nothing); openssl is installed before the
    certificates step uses it."""
    root, _ = koji_host
    from fakes.rpmhost import set_mirror

    set_mirror(root / "rpm", ["mod_ssl-2.4-1", "openssl-3.0-1", "postgresql-13-1", "nfs-utils-2-1", "python3-boto3-1-1",
                              "policycoreutils-3-1", "curl-7-1", "createrepo_c-0.20-1", "logrotate-3.18-1"])
    env = {"PATH": f"{root / 'bin'}:{os.environ['PATH']}", "FAKE_RPM_DIR": str(root / "rpm"),
           "FAKE_AWS_DIR": str(root / "aws"), "KOJISTACK_FILES": str(HUB_FILES),
           "KOJISTACK_FETCH_PAYLOAD": str(CLOUD_INIT / "user-data" / "common" / "fetch-payload.sh"),
           "KOJISTACK_BOOTSTRAP_LIB": "1", "KOJISTACK_NAMES_ENV": os.environ["KOJISTACK_NAMES_ENV"],
           "KOJISTACK_REGION": "eu-west-1", "KOJISTACK_URL_SUFFIX": "amazonaws.com"}
    run("bash", "-c", f"set -euo pipefail; . {HUB_FILES}/bin/kojistack-bootstrap; STATE_DIR={root}/state; "
        "start_log_shipping() { :; }; packages", env=env)
    calls = (root / "rpm" / "calls.log").read_text().splitlines()
    crb = calls.index("dnf config-manager --set-enabled crb")
    install = next(i for i, c in enumerate(calls) if c.startswith("dnf -y install mod_ssl"))
    assert crb < install and " openssl " in calls[install] + " "


def test_httpd_serves_https_only(tmp_path: Path):
    """The stock EL9 httpd.conf listens on 80 and koji's aliases are server-wide: the bootstrap
    turns the plain listener off, and httpd still parses the result."""
    conf = tmp_path / "httpd.conf"
    conf.write_text("ServerRoot /etc/httpd\nListen 80\nInclude conf.modules.d/*.conf\n")
    env = {"PATH": os.environ["PATH"], "KOJISTACK_FILES": str(HUB_FILES), "KOJISTACK_BOOTSTRAP_LIB": "1",
           "KOJISTACK_FETCH_PAYLOAD": str(CLOUD_INIT / "user-data" / "common" / "fetch-payload.sh")}
    run("bash", "-c", f". {HUB_FILES}/bin/kojistack-bootstrap; https_only {conf}; https_only {conf}", env=env)
    lines = conf.read_text().splitlines()
    assert not [line for line in lines if line.split()[:1] == ["Listen"]]
    assert lines[1].startswith("# Listen 80")


def test_kojid_and_kojira_logs_are_rotated(tmp_path: Path):
    """logrotate (the real one, in debug mode) accepts the hub's rule, and it covers both logs."""
    rule = (CLOUD_INIT / "payload" / "common" / "conf" / "logrotate-koji").read_text()
    heads = [line.split("{")[0].split() for line in rule.splitlines() if line.endswith("{")]
    assert heads == [["/var/log/kojid.log", "/var/log/kojira.log"]]
    proc = run("logrotate", "-d", "-s", tmp_path / "state",
               CLOUD_INIT / "payload" / "common" / "conf" / "logrotate-koji", check=False)
    assert proc.returncode == 0 and "error" not in proc.stderr.lower(), proc.stderr
    for role in ("hub", "builder"):
        bootstrap = (CLOUD_INIT / "payload" / role / "bin" / "kojistack-bootstrap").read_text()
        assert 'install -m 0644 /opt/kojistack/common/conf/logrotate-koji /etc/logrotate.d/kojistack' in bootstrap
