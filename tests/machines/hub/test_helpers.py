"""The hub's stdlib helpers (files/python/kojistack_hub) and kojistack-prune; the helpers also run
under Python 3.9, the system Python of EL9 hubs."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from support import python39

from .conftest import BIN, HUB_FILES, run

sys.path.insert(0, str(HUB_FILES / "python"))
from kojistack_hub import identity, render, schema_plan, sizing  # noqa: E402


def test_httpd_threads_stay_below_max_connections_minus_headroom():
    for db_class in sizing.MEMORY_GIB:
        limits = sizing.httpd_limits(db_class)
        connections = sizing.max_connections(db_class)
        assert limits.max_request_workers == limits.server_limit * limits.threads_per_child
        assert limits.max_request_workers <= connections - sizing.HEADROOM_MIN
        assert limits.max_request_workers <= sizing.MAX_WORKERS


def test_sizing_grows_with_the_class_and_knows_rds_figures():
    assert sizing.max_connections("db.t4g.micro") < sizing.max_connections("db.t4g.small") \
        < sizing.max_connections("db.t4g.medium")
    # RDS: LEAST(DBInstanceClassMemory/9531392, 5000); a 2 GiB class gives at most 225
    assert 150 <= sizing.max_connections("db.t4g.small") <= 225
    assert sizing.max_connections("db.r6g.16xlarge") == 5000
    assert sizing.httpd_limits("db.t4g.micro").max_request_workers == 50


def test_unknown_class_is_an_error_in_the_users_terms():
    with pytest.raises(ValueError, match="unknown database class 'db.x9.huge'"):
        sizing.httpd_limits("db.x9.huge")


NEW = "11111111-1111-1111-1111-111111111111"


@pytest.mark.parametrize("db_id, fs_id, db_data, fs_data, expect", [
    ("", "", False, False, (NEW, True, True)),        # first boot of a stack
    ("A", "A", True, True, ("A", False, False)),       # every later boot
    ("A", "", True, False, ("A", False, True)),        # crash between the two writes
])
def test_identity_decisions(db_id, fs_id, db_data, fs_data, expect):
    assert tuple(identity.decide(db_id, fs_id, db_data, fs_data, NEW)) == expect


@pytest.mark.parametrize("db_id, fs_id, db_data, fs_data, message", [
    ("A", "B", True, True, "different deployments"),
    ("A", "", True, True, "holds data and no identity file"),
    ("", "A", False, False, "a new, empty database"),
    ("", "A", True, True, "holds koji data"),
    ("", "", True, False, "the database hold(s) koji data"),
    ("", "", False, True, "/mnt/koji hold(s) koji data"),
])
def test_identity_refusals(db_id, fs_id, db_data, fs_data, message):
    with pytest.raises(identity.IdentityError, match=message.replace("(", r"\(").replace(")", r"\)")):
        identity.decide(db_id, fs_id, db_data, fs_data, NEW)


FILES = ["schema.sql", "schema-upgrade-1.33-1.34.sql", "schema-upgrade-1.34-1.35.sql",
         "schema-upgrade-1.30-1.31.sql", "schema-upgrade-1.9-1.10.sql", "schema-update-cgen.sql"]


def test_schema_plan_orders_numerically():
    assert schema_plan.plan("1.33", "1.35.3", FILES) == ["schema-upgrade-1.33-1.34.sql",
                                                         "schema-upgrade-1.34-1.35.sql"]
    assert schema_plan.plan("1.35", "1.35.3", FILES) == []
    assert schema_plan.plan("1.9", "1.10.0", FILES) == ["schema-upgrade-1.9-1.10.sql"]


def test_schema_plan_refuses_a_downgrade():
    with pytest.raises(schema_plan.SchemaError, match="install koji 1.35 or newer"):
        schema_plan.plan("1.35", "1.34.1", FILES)


def test_render_refuses_missing_values(tmp_path: Path):
    with pytest.raises(render.RenderError, match="hub.conf needs B_VALUE, C_VALUE"):
        render.render_text("a=@A_VALUE@ b=@B_VALUE@ @C_VALUE@", {"A_VALUE": "1"}, "hub.conf")
    src, dest = tmp_path / "x.in", tmp_path / "x"
    src.write_text("v=@A_VALUE@\n")
    assert render.render_file(str(src), str(dest), {"A_VALUE": "1"}, 0o640) is True
    assert render.render_file(str(src), str(dest), {"A_VALUE": "1"}, 0o640) is False
    assert dest.read_text() == "v=1\n" and dest.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("args, expect", [
    (["httpd-limits", "db.t4g.small"], "KOJISTACK_HTTPD_MAX_REQUEST_WORKERS=150"),
    (["light-slots", "--meminfo", "meminfo"], "KOJISTACK_LIGHT_MAXJOBS=213"),
    (["schema-plan", "1.34", "1.35.1", "."], "./schema-upgrade-1.34-1.35.sql"),
    (["identity", "--db-id", "A", "--fs-id", "A", "--db-has-data", "yes", "--fs-has-data", "yes"], "A 0 0")])
def test_helpers_run_on_python_3_9(args, expect, tmp_path: Path):
    (tmp_path / "schema-upgrade-1.34-1.35.sql").write_text("")
    (tmp_path / "meminfo").write_text("MemTotal:        8388608 kB\n")        # 8 GiB: (8192 - 3072) / 24
    env = dict(os.environ, PYTHONPATH=str(HUB_FILES / "python"))
    result = run(python39(), "-m", "kojistack_hub", *args, env=env, cwd=tmp_path)
    assert expect in result.stdout.splitlines()


def test_helpers_compile_on_python_3_9():
    assert run(python39(), "--version").stdout.startswith("Python 3.9")
    run(python39(), "-m", "compileall", "-q", HUB_FILES / "python")


def test_prune_removes_only_old_scratch_and_work(tmp_path: Path):
    koji = tmp_path / "koji"
    old, new = time.time() - 40 * 86400, time.time() - 86400
    paths = {"scratch/alice/task_1": old, "scratch/alice/task_2": new, "work/tasks/1/1001": old,
             "work/tasks/2/1002": new, "work/cli-build/upload-1": old, "packages/foo/1.0": old}
    for rel, mtime in paths.items():
        (koji / rel).mkdir(parents=True)
        os.utime(koji / rel, (mtime, mtime))
    run(BIN / "kojistack-prune", env=dict(os.environ, KOJI_DIR=str(koji)))
    left = {rel for rel in paths if (koji / rel).exists()}
    assert left == {"scratch/alice/task_2", "work/tasks/2/1002", "packages/foo/1.0"}
