"""Fixtures of the hub tests: paths, the real openssl PKI script, and a real PostgreSQL 15
cluster started as the postgres user (never as root), listening on loopback with TLS only."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOUD_INIT = ROOT / "cloud-init"
HUB_FILES = CLOUD_INIT / "hub" / "files"
BIN = HUB_FILES / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def run(*args: object, env: dict | None = None, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], env=env, check=check, text=True,
                          capture_output=True, **kw)


def pki(*args: object) -> str:
    """Run cloud-init/hub/files/bin/kojistack-pki for real; its stdout."""
    return run(BIN / "kojistack-pki", *args).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Postgres:
    port: int
    ca: Path  # CA of the server certificate (for sslmode=verify-full)
    master: str
    master_password: str
    socket_dir: Path

    def superuser_sql(self, sql: str, db: str = "koji") -> str:
        """Run SQL as the postgres superuser over the unix socket (for assertions only)."""
        return run("runuser", "-u", "postgres", "--", "psql", "-X", "-tA", "-h", self.socket_dir,
                   "-p", self.port, "-d", db, "-c", sql).stdout.strip()

    def dump(self) -> str:
        """Everything the bootstrap could change: the koji database, roles, memberships."""
        koji = run("runuser", "-u", "postgres", "--", "pg_dump", "-h", self.socket_dir, "-p",
                   self.port, "-d", "koji").stdout
        # pg_dump 15.14+ brackets its output with a random \restrict key: not data
        koji = "\n".join(line for line in koji.splitlines()
                         if not line.startswith(("\\restrict", "\\unrestrict")))
        roles = self.superuser_sql(
            "SELECT rolname, rolpassword, rolcreatedb, rolcreaterole, rolsuper FROM pg_authid "
            "ORDER BY 1; SELECT roleid::regrole, member::regrole FROM pg_auth_members ORDER BY 1, 2;"
            "SELECT datname, datdba::regrole FROM pg_database ORDER BY 1", db="postgres")
        return koji + roles


@pytest.fixture(scope="session")
def pki_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="kojistack-pki-"))
    pki("ca", d / "root", "kojistack-ca")
    pki("intermediate", d / "root", d / "builder", "kojistack-builder-ca")
    yield d
    shutil.rmtree(d)


@pytest.fixture(scope="session")
def postgres(pki_dir: Path) -> Iterator[Postgres]:
    """A PostgreSQL 15 cluster owned and run by the postgres user, TLS-only on 127.0.0.1, with a
    non-superuser master (CREATEDB CREATEROLE) like RDS's."""
    pw = pwd.getpwnam("postgres")
    base = Path(tempfile.mkdtemp(prefix="kojistack-pg-", dir="/tmp"))
    os.chown(base, pw.pw_uid, pw.pw_gid)
    data = base / "data"
    port = free_port()
    as_pg = ("runuser", "-u", "postgres", "--")
    run(*as_pg, PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth-local=peer",
        "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
    pki("server", pki_dir / "root", base / "server.key", base / "server.crt", "koji-db", "localhost")
    for f in ("server.key", "server.crt"):
        os.chown(base / f, pw.pw_uid, pw.pw_gid)
    (data / "pg_hba.conf").write_text(
        "local all postgres peer\n"
        "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        "hostnossl all all 0.0.0.0/0 reject\n")
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                   f"unix_socket_directories = '{base}'\nssl = on\n"
                   f"ssl_cert_file = '{base}/server.crt'\nssl_key_file = '{base}/server.key'\n")
    run(*as_pg, PG_BIN / "pg_ctl", "-D", data, "-l", base / "log", "-w", "start")
    pg = Postgres(port, pki_dir / "root" / "ca.crt", "master", "master pw 'quoted'", base)
    try:
        pg.superuser_sql("CREATE ROLE master LOGIN CREATEDB CREATEROLE PASSWORD "
                         "'master pw ''quoted'''", db="postgres")
        yield pg
    finally:
        run(*as_pg, PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)
