"""`kojistack trace` against the fake koji hub (a real hub cannot run here: httpd, mod_wsgi and
PostgreSQL), through the real `koji` client library, round-trips into `simulate --trace`."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from fakes.kojihub import FakeHub
from fakes.pki import TestPki
from kojistack.cli import main
from kojistack.sim import trace as trace_mod
from kojistack.sim.koji_model import CLOSED

T0 = 1_790_000_000.0   # 2026-09-21


@pytest.fixture
def hub(tmp_path):
    pki = TestPki.create(str(tmp_path))
    fake = FakeHub.start(pki)
    yield fake, pki
    fake.stop()


def _seed(fake: FakeHub, n_builds: int) -> dict:
    """Closed builds with one or two buildArch children, at known times; returns id -> (method, times)."""
    expected = {}

    def done(tid, create, start, end):
        with fake.lock:
            t = fake.tasks[tid]
            t.create_ts, t.start_ts, t.completion_ts, t.state = create, start, end, CLOSED
            expected[tid] = (t.method, t.arch, create, start, end)

    old = fake.seed_task("build", weight=0.2)
    done(old, T0 - 40 * 86400, T0 - 40 * 86400 + 60, T0 - 40 * 86400 + 600)   # before --since: left out
    for i in range(n_builds):
        create = T0 + 600 * i
        parent = fake.seed_task("build", weight=0.2)
        arches = ("x86_64", "aarch64") if i % 3 == 0 else ("x86_64",)
        ends = []
        for arch in arches:
            child = fake.seed_task("buildArch", arch=arch, weight=1.5 + i / 100, parent=parent, priority=19)
            done(child, create + 40, create + 100, create + 400 + 10 * i)
            ends.append(create + 400 + 10 * i)
        done(parent, create, create + 20, max(ends) + 30)
    expected.pop(old)
    return expected


def test_trace_round_trips_from_the_fake_hub_into_simulate(hub, tmp_path, monkeypatch):
    fake, pki = hub
    expected = _seed(fake, 12)
    monkeypatch.setattr(trace_mod, "PAGE", 7)                      # several pages
    out = tmp_path / "trace.csv"
    res = CliRunner().invoke(main, ["trace", "--hub", fake.url, "--since", "2026-09-01",
                                    "-o", str(out), "--serverca", pki.ca_pem])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert tuple(rows[0]) == trace_mod.FIELDS
    assert {int(r["id"]) for r in rows} == set(expected)
    for r in rows:
        method, arch, create, start, end = expected[int(r["id"])]
        assert (r["method"], r["arch"]) == (method, arch)
        assert r["channel"] == ("light" if method == "build" else "default")
        assert (float(r["create_ts"]), float(r["start_ts"]), float(r["completion_ts"])) == (create, start, end)
    children = [r for r in rows if r["method"] == "buildArch"]
    assert all(int(r["parent"]) in expected for r in children)

    res = CliRunner().invoke(main, ["simulate", "--trace", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    ctl = next(r for r in doc["results"] if r["fleet"] == "controller")
    assert ctl["tasks"] == len(children) and ctl["unfinished"] == 0


def test_replay_keeps_durations_and_routes_by_the_channel_policy():
    rows = trace_mod.read_csv(
        "id,method,arch,channel,weight,parent,state,priority,create_ts,start_ts,completion_ts\n"
        "1,build,noarch,default,0.2,,2,20,100,110,900\n"
        "2,buildArch,x86_64,default,2.0,1,2,19,130,200,800\n"
        "3,buildArch,ppc64le,default,2.0,1,2,19,130,,\n"
        "4,newRepo,noarch,createrepo,0.1,,2,15,300,310,400\n")
    wl = trace_mod.workload_from_rows(rows)
    build, newrepo = wl.tasks
    assert (build.channel, build.arrival_s, build.duration_s, build.post_s) == ("light", 0.0, 20.0, 100.0)
    (child,) = build.children
    assert (child.channel, child.duration_s, child.weight) == ("default", 600.0, 2.0)
    assert (newrepo.channel, newrepo.arrival_s) == ("createrepo", 200.0)
    assert wl.notes == ("left out 1 task(s): never ran",)


def test_a_bad_trace_is_refused_in_the_users_terms(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,method\n1,build\n")
    res = CliRunner().invoke(main, ["simulate", "--trace", str(bad)])
    assert res.exit_code == 2
    assert "lacks column(s) arch" in res.output
    bad.write_text(",".join(trace_mod.FIELDS) + "\nx,build,noarch,light,0.2,,2,20,1,2,3\n")
    res = CliRunner().invoke(main, ["simulate", "--trace", str(bad)])
    assert res.exit_code == 2 and "trace line 2" in res.output


def test_an_unreachable_hub_is_an_operation_error(tmp_path):
    res = CliRunner().invoke(main, ["trace", "--hub", "https://127.0.0.1:9/kojihub", "--since", "2026-01-01",
                                    "-o", str(tmp_path / "t.csv")])
    assert res.exit_code == 1
    assert "reading tasks from https://127.0.0.1:9/kojihub" in res.output
