"""The hub's database steps (files/bin/kojistack-db + files/sql/) for real, as a non-superuser
CREATEROLE master as on RDS, on every PostgreSQL major of conftest.PG_SERVERS (15 with TLS only;
the PyPI builds of 16 and 18 have no TLS, so the TLS test runs on 15).

koji's real schema.sql cannot be had here (no koji RPM on Debian; the PyPI sdist lacks it), so
tests/machines/hub/standin_schema/schema.sql stands in: the tables and columns the bootstrap touches,
written to match koji-1.35.3's schemas/schema.sql.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kojistack import names
from kojistack.template.database import POSTGRES

from .conftest import BIN, HUB_FILES, PG_SERVERS, Postgres, run

STANDIN = Path(__file__).parent / "standin_schema"


@pytest.fixture
def koji_dir(tmp_path: Path) -> Path:
    d = tmp_path / "mnt-koji"
    for sub in ("packages", "repos", "work", "scratch", "repos-dist"):
        (d / sub).mkdir(parents=True)
    return d


def _env(postgres: Postgres, koji_dir: Path) -> dict[str, str]:
    postgres.superuser_sql("DROP DATABASE IF EXISTS koji", db="postgres")
    postgres.superuser_sql("DROP ROLE IF EXISTS koji", db="postgres")
    return {
        "PATH": os.environ["PATH"], "HOME": "/nonexistent",
        "KOJISTACK_DB_ADDRESS": "localhost", "KOJISTACK_DB_PORT": str(postgres.port),
        "PGSSLMODE": postgres.sslmode, "PGSSLROOTCERT": str(postgres.ca or ""),
        "DB_MASTER_USER": postgres.master, "DB_MASTER_PASSWORD": postgres.master_password,
        "KOJI_DB_PASSWORD": "koji's \\secret", "KOJISTACK_ADMIN_USER": "kojiadmin",
        "KOJI_INSTALLED_VERSION": "1.35.3", "KOJI_SCHEMA_DIR": str(STANDIN),
        "KOJI_DIR": str(koji_dir), "KOJISTACK_FILES": str(HUB_FILES),
        **names.env(),  # /opt/kojistack/names.env (the payload), exported by sh/common.sh
    }


@pytest.fixture
def env(pg_major: Postgres, koji_dir: Path) -> dict[str, str]:
    """The bootstrap's environment against each major in turn."""
    return _env(pg_major, koji_dir)


def test_the_seeded_users_are_names_env_s(postgres: Postgres, koji_dir: Path):
    """kojira's and the controller's users are seeded under names.env's USER_KOJIRA and
    USER_CONTROLLER (kojistack/names.py), renamed or not: sql/users.sql spells neither."""
    env = {**_env(postgres, koji_dir), "KOJISTACK_USER_KOJIRA": "ks-renamed-kojira",
           "KOJISTACK_USER_CONTROLLER": "ks-renamed-ctl"}
    bootstrap(env)
    perms = postgres.superuser_sql(
        "SELECT u.name || ':' || p.name FROM user_perms up JOIN users u ON u.id = up.user_id "
        "JOIN permissions p ON p.id = up.perm_id WHERE up.active ORDER BY 1").split("\n")
    assert perms == ["kojiadmin:admin", "ks-renamed-ctl:admin", "ks-renamed-ctl:host", "ks-renamed-kojira:repo"]


def test_seeding_without_names_env_stops_and_seeds_no_user(postgres: Postgres, koji_dir: Path):
    """Without names.env's user names seed-users stops, naming the variable, before psql runs:
    `make test-realhub` found it seeding users with empty names (unique violation on users.name)."""
    env = {k: v for k, v in _env(postgres, koji_dir).items() if k != "KOJISTACK_USER_KOJIRA"}
    db(env, "prepare")
    db(env, "identity")
    result = db(env, "seed-users", check=False)
    assert result.returncode != 0
    assert "KOJISTACK_USER_KOJIRA: is not set (names.env" in result.stderr
    assert "duplicate key" not in result.stderr
    assert postgres.superuser_sql("SELECT count(*) FROM users WHERE name = ''") == "0"


def test_the_deployed_major_is_among_the_tested_ones():
    major = int(POSTGRES[0].split(".")[0])
    assert major in PG_SERVERS, f"the template deploys PostgreSQL {major}: add a server for it to conftest.PG_SERVERS"
    assert min(PG_SERVERS) < 16 <= max(PG_SERVERS), "both sides of 16's CREATEROLE change must be tested"


def db(env: dict[str, str], command: str, check: bool = True):
    result = run(BIN / "kojistack-db", command, env=env, check=False)
    assert not check or result.returncode == 0, f"kojistack-db {command}: rc {result.returncode}\n{result.stderr}"
    return result


def bootstrap(env: dict[str, str]) -> str:
    """The bootstrap's database sequence: prepare, identity, seed users; returns the identity."""
    db(env, "prepare")
    stack_id = db(env, "identity").stdout.strip()
    db(env, "seed-users")
    return stack_id


def test_bootstrap_as_non_superuser_master_twice_changes_nothing(pg_major, env, koji_dir):
    postgres = pg_major
    assert postgres.superuser_sql("SHOW server_version_num", db="postgres").startswith(str(postgres.major))
    assert postgres.superuser_sql("SELECT rolsuper FROM pg_roles WHERE rolname = 'master'",
                                  db="postgres") == "f"
    stack_id = bootstrap(env)

    assert postgres.superuser_sql("SELECT datdba::regrole FROM pg_database WHERE datname = 'koji'",
                                  db="postgres") == "koji"
    assert postgres.superuser_sql("SELECT pg_has_role('master', 'koji', 'MEMBER')",
                                  db="postgres") == "t"
    if postgres.major >= 16:  # CREATE DATABASE ... OWNER koji needed SET, which 16's auto-membership lacks
        assert postgres.superuser_sql("SELECT pg_has_role('master', 'koji', 'SET')", db="postgres") == "t"
    assert postgres.superuser_sql("SELECT DISTINCT tableowner FROM pg_tables "
                                  "WHERE schemaname = 'public'") == "koji"
    perms = postgres.superuser_sql(
        "SELECT u.name || ':' || p.name FROM user_perms up JOIN users u ON u.id = up.user_id "
        "JOIN permissions p ON p.id = up.perm_id WHERE up.active ORDER BY 1").split("\n")
    assert perms == sorted(["kojiadmin:admin", f"{names.USER_KOJIRA}:repo", f"{names.USER_CONTROLLER}:admin",
                            f"{names.USER_CONTROLLER}:host"])
    assert postgres.superuser_sql("SELECT count(*) FROM channels") == "8"
    # the permission the hub policy lets build (koji has no `build`): seeded once
    assert postgres.superuser_sql("SELECT count(*) FROM permissions WHERE name = 'packager'") == "1"
    meta = postgres.superuser_sql("SELECT name || '=' || value FROM kojistack_meta ORDER BY 1")
    assert meta.split("\n") == ["koji_schema=1.35", f"stack_id={stack_id}"]
    assert (koji_dir / ".kojistack-id").read_text().strip() == stack_id
    assert db(env, "has-users").stdout.strip() == "yes"

    before = postgres.dump()
    assert bootstrap(env) == stack_id
    assert postgres.dump() == before


def test_every_connection_uses_tls(postgres, koji_dir):
    plain = dict(_env(postgres, koji_dir), PGSSLMODE="disable")
    result = db(plain, "prepare", check=False)
    assert result.returncode != 0
    assert "no encryption" in result.stderr or "pg_hba.conf" in result.stderr


def test_identity_guard_refuses_a_file_system_of_another_stack(env, koji_dir):
    bootstrap(env)
    (koji_dir / ".kojistack-id").write_text("00000000-0000-0000-0000-000000000000\n")
    result = db(env, "identity", check=False)
    assert result.returncode != 0
    assert "different deployments" in result.stderr


def test_identity_guard_refuses_an_empty_database_over_a_used_file_system(pg_major, env, koji_dir):
    postgres = pg_major
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


def test_newer_koji_applies_shipped_upgrades_in_order(pg_major, env, tmp_path):
    postgres = pg_major
    env = dict(env, KOJI_SCHEMA_DIR=str(_schema_dir(tmp_path)), KOJI_INSTALLED_VERSION="1.33.1")
    bootstrap(env)
    db(dict(env, KOJI_INSTALLED_VERSION="1.35.3"), "prepare")
    assert postgres.superuser_sql("SELECT string_agg(name, ' ' ORDER BY seq) FROM upgrade_log") \
        == "1.33-1.34 1.34-1.35"
    assert postgres.superuser_sql("SELECT value FROM kojistack_meta WHERE name = 'koji_schema'") \
        == "1.35"


def test_schema_reports_what_the_database_holds_for_the_rollback_decision(pg_major, env, tmp_path):
    """`kojistack-db schema` (read-only) tells the hub the schema's koji before `prepare` runs, so a
    rolled-back upgrade runs the kept koji of that schema (kojistack-bootstrap koji_for_schema)."""
    fresh = db(env, "schema")
    assert fresh.stdout == "" and fresh.returncode == 0  # nothing created yet: no koji role or database
    env = dict(env, KOJI_SCHEMA_DIR=str(_schema_dir(tmp_path)), KOJI_INSTALLED_VERSION="1.34.2")
    bootstrap(env)
    assert db(env, "schema").stdout.strip() == "1.34"
    db(dict(env, KOJI_INSTALLED_VERSION="1.36.1"), "prepare")
    assert db(dict(env, KOJI_INSTALLED_VERSION="1.34.2"), "schema").stdout.strip() == "1.36"


def test_older_koji_than_the_schema_stops(env, tmp_path):
    bootstrap(env)
    result = db(dict(env, KOJI_INSTALLED_VERSION="1.34.0"), "prepare", check=False)
    assert result.returncode != 0
    assert "newer than the installed koji 1.34" in result.stderr
