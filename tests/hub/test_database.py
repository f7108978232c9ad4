"""The hub's database steps (files/bin/kojistack-db + files/sql/) for real, against a PostgreSQL 15
that the test starts as the postgres user, with a non-superuser master as on RDS and TLS only.

koji's real schema.sql cannot be had here (no koji RPM on Debian; the PyPI sdist lacks it), so
tests/hub/standin_schema/schema.sql stands in: the tables and columns the bootstrap touches,
written to match koji-1.35.3's schemas/schema.sql.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import BIN, HUB_FILES, Postgres, run

STANDIN = Path(__file__).parent / "standin_schema"


@pytest.fixture
def koji_dir(tmp_path: Path) -> Path:
    d = tmp_path / "mnt-koji"
    for sub in ("packages", "repos", "work", "scratch", "repos-dist"):
        (d / sub).mkdir(parents=True)
    return d


@pytest.fixture
def env(postgres: Postgres, koji_dir: Path) -> dict[str, str]:
    postgres.superuser_sql("DROP DATABASE IF EXISTS koji", db="postgres")
    postgres.superuser_sql("DROP ROLE IF EXISTS koji", db="postgres")
    return {
        "PATH": os.environ["PATH"], "HOME": "/nonexistent",
        "KOJISTACK_DB_ADDRESS": "localhost", "KOJISTACK_DB_PORT": str(postgres.port),
        "PGSSLMODE": "verify-full", "PGSSLROOTCERT": str(postgres.ca),
        "DB_MASTER_USER": postgres.master, "DB_MASTER_PASSWORD": postgres.master_password,
        "KOJI_DB_PASSWORD": "koji's \\secret", "KOJISTACK_ADMIN_USER": "kojiadmin",
        "KOJI_INSTALLED_VERSION": "1.35.3", "KOJI_SCHEMA_DIR": str(STANDIN),
        "KOJI_DIR": str(koji_dir), "KOJISTACK_FILES": str(HUB_FILES),
    }


def db(env: dict[str, str], command: str, check: bool = True):
    return run(BIN / "kojistack-db", command, env=env, check=check)


def bootstrap(env: dict[str, str]) -> str:
    """The bootstrap's database sequence: prepare, identity, seed users; returns the identity."""
    db(env, "prepare")
    stack_id = db(env, "identity").stdout.strip()
    db(env, "seed-users")
    return stack_id


def test_bootstrap_as_non_superuser_master_twice_changes_nothing(postgres, env, koji_dir):
    assert postgres.superuser_sql("SELECT rolsuper FROM pg_roles WHERE rolname = 'master'",
                                  db="postgres") == "f"
    stack_id = bootstrap(env)

    assert postgres.superuser_sql("SELECT datdba::regrole FROM pg_database WHERE datname = 'koji'",
                                  db="postgres") == "koji"
    assert postgres.superuser_sql("SELECT pg_has_role('master', 'koji', 'MEMBER')",
                                  db="postgres") == "t"
    assert postgres.superuser_sql("SELECT DISTINCT tableowner FROM pg_tables "
                                  "WHERE schemaname = 'public'") == "koji"
    perms = postgres.superuser_sql(
        "SELECT u.name || ':' || p.name FROM user_perms up JOIN users u ON u.id = up.user_id "
        "JOIN permissions p ON p.id = up.perm_id WHERE up.active ORDER BY 1").split("\n")
    assert perms == ["kojiadmin:admin", "kojira:repo", "kojistack-ctl:admin", "kojistack-ctl:host"]
    assert postgres.superuser_sql("SELECT count(*) FROM channels") == "8"
    meta = postgres.superuser_sql("SELECT name || '=' || value FROM kojistack_meta ORDER BY 1")
    assert meta.split("\n") == ["koji_schema=1.35", f"stack_id={stack_id}"]
    assert (koji_dir / ".kojistack-id").read_text().strip() == stack_id
    assert db(env, "has-users").stdout.strip() == "yes"

    before = postgres.dump()
    assert bootstrap(env) == stack_id
    assert postgres.dump() == before


def test_every_connection_uses_tls(env):
    plain = dict(env, PGSSLMODE="disable")
    result = db(plain, "prepare", check=False)
    assert result.returncode != 0
    assert "no encryption" in result.stderr or "pg_hba.conf" in result.stderr


def test_identity_guard_refuses_a_file_system_of_another_stack(env, koji_dir):
    bootstrap(env)
    (koji_dir / ".kojistack-id").write_text("00000000-0000-0000-0000-000000000000\n")
    result = db(env, "identity", check=False)
    assert result.returncode != 0
    assert "different deployments" in result.stderr


def test_identity_guard_refuses_an_empty_database_over_a_used_file_system(postgres, env, koji_dir):
    bootstrap(env)
    # The database is replaced by an empty one (e.g. a replacement without a snapshot).
    postgres.superuser_sql("DROP DATABASE koji", db="postgres")
    db(env, "prepare")
    result = db(env, "identity", check=False)
    assert result.returncode != 0
    assert "restore the database snapshot" in result.stderr


def test_identity_guard_refuses_a_used_file_system_without_identity(env, koji_dir):
    (koji_dir / "packages" / "foo").mkdir()
    db(env, "prepare")
    result = db(env, "identity", check=False)
    assert result.returncode != 0
    assert "/mnt/koji" in result.stderr or str(koji_dir) in result.stderr or "hold(s)" in result.stderr


def _schema_dir(tmp_path: Path) -> Path:
    d = tmp_path / "schemas"
    d.mkdir()
    shutil.copy(STANDIN / "schema.sql", d / "schema.sql")
    for start, end in (("1.32", "1.33"), ("1.33", "1.34"), ("1.34", "1.35"), ("1.35", "1.36")):
        (d / f"schema-upgrade-{start}-{end}.sql").write_text(
            "BEGIN;\nCREATE TABLE IF NOT EXISTS upgrade_log (seq SERIAL, name TEXT);\n"
            f"INSERT INTO upgrade_log (name) VALUES ('{start}-{end}');\nCOMMIT;\n")
    return d


def test_newer_koji_applies_shipped_upgrades_in_order(postgres, env, tmp_path):
    env = dict(env, KOJI_SCHEMA_DIR=str(_schema_dir(tmp_path)), KOJI_INSTALLED_VERSION="1.33.1")
    bootstrap(env)
    db(dict(env, KOJI_INSTALLED_VERSION="1.35.3"), "prepare")
    assert postgres.superuser_sql("SELECT string_agg(name, ' ' ORDER BY seq) FROM upgrade_log") \
        == "1.33-1.34 1.34-1.35"
    assert postgres.superuser_sql("SELECT value FROM kojistack_meta WHERE name = 'koji_schema'") \
        == "1.35"


def test_older_koji_than_the_schema_stops(env, tmp_path):
    bootstrap(env)
    result = db(dict(env, KOJI_INSTALLED_VERSION="1.34.0"), "prepare", check=False)
    assert result.returncode != 0
    assert "newer than the installed koji 1.34" in result.stderr
