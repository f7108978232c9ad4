"""docs/first-build.md cannot rot: every `sh` block runs, in order, in one working directory, with
the real koji 1.35.3 CLI (.venv/bin/koji) against tests/fakes/kojihub.py, seeded as kojistack-ready
seeds a stack (users, the kojistack and kojistack-build tags, the kojistack target). `kojistack`
commands need an AWS account: the page's calls are recorded and each is parsed by kojistack's own
command line (every option and argument must exist). Between blocks the test stands in for the
builder: a real build's task ends with the build in the destination tag (FakeHub.finish_build).
`shell` blocks run on the machine that installs the package and are not run here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import click
import pytest

from fakes.kojihub import FakeHub
from fakes.pki import TestPki
from kojistack.cli import main as kojistack_main
from support.paths import REPO

PAGE = REPO / "docs" / "first-build.md"
KOJI = REPO / ".venv" / "bin" / "koji"
FENCE = re.compile(r"^```([A-Za-z]*)\n(.*?)^```$", re.M | re.S)
NOT_RUN_COMMANDS = {"aws", "sudo", "cat"}  # what the `shell` blocks may hold: the consuming machine's part
SRPM = "rpmbuild/SRPMS/hello-kojistack-1.0-1.el9.src.rpm"


def page_blocks() -> list[tuple[str, str]]:
    return FENCE.findall(PAGE.read_text())


def check_kojistack_call(argv: list[str]) -> str:
    """Parse `kojistack ARGV` as the CLI would, without running it; returns the command path."""
    with warnings.catch_warnings():  # click 8.2 deprecates protected_args, which is how a group parses
        warnings.simplefilter("ignore", DeprecationWarning)
        return _parse(argv)


def _parse(argv: list[str]) -> str:
    ctx = kojistack_main.make_context("kojistack", list(argv))
    path, group, args = ["kojistack"], kojistack_main, ctx.protected_args + ctx.args
    while isinstance(group, click.Group):
        name, command, rest = group.resolve_command(ctx, args)
        assert command is not None, f"kojistack has no command {name!r}"
        path.append(name)
        ctx = command.make_context(name, list(rest), parent=ctx)
        group, args = command, ctx.protected_args + ctx.args
    return " ".join(path)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A fake hub seeded like a fresh stack, the two koji profiles the page uses, a working dir."""
    base = tmp_path_factory.mktemp("first-build")
    (base / "pki").mkdir()
    pki = TestPki.create(str(base / "pki"))
    hub = FakeHub.start(pki)
    hub.seed_user("kojiadmin", ("admin",))
    hub.seed_user("alice", ("packager",))  # what `kojistack user add alice` grants (--role packager)
    hub.seed_tag("kojistack")
    hub.seed_tag("kojistack-build", arches="x86_64 aarch64")
    hub.seed_target("kojistack", "kojistack-build", "kojistack")
    conf = base / "koji.conf"
    common = (f"server = {hub.url}\nweburl = https://koji.example.com/koji\n"
              f"topurl = https://koji.example.com/kojifiles\nauthtype = ssl\nserverca = {pki.ca_pem}\n")
    conf.write_text(f"[koji]\n{common}cert = {pki.client('kojiadmin')}\n\n[koji-alice]\n{common}"
                    f"cert = {pki.client('alice')}\n")
    work = base / "work"
    work.mkdir()
    yield hub, conf, work
    hub.stop()


def run_block(body: str, conf: Path, work: Path) -> tuple[str, list[list[str]]]:
    calls = work.parent / "kojistack-calls.jsonl"
    calls.write_text("")
    prelude = (f'koji() {{ "{KOJI}" --config "{conf}" "$@"; }}\n'
               "kojistack() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "
               f'"$@" >> "{calls}"; }}\n')
    env = {"PATH": os.environ["PATH"], "HOME": str(work.parent), "LANG": "C.UTF-8",
           "GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.com",
           "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@example.com"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", prelude + body], cwd=work, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, f"block failed (rc {done.returncode}):\n{body}\n--- stdout\n{done.stdout}\n" \
                                 f"--- stderr\n{done.stderr}"
    return done.stdout, [json.loads(line) for line in calls.read_text().splitlines()]


def created_tasks(out: str) -> list[int]:
    return [int(n) for n in re.findall(r"^Created task: (\d+)$", out, re.M)]


@pytest.mark.skipif(shutil.which("rpmbuild") is None, reason="never: .ci/run installs rpm (rpmbuild)")
def test_every_command_of_the_first_build_page_runs(stack):
    hub, conf, work = stack
    ran = [body for lang, body in page_blocks() if lang == "sh"]
    outputs, kojistack_calls = [], []
    for body in ran:
        out, calls = run_block(body, conf, work)
        outputs.append(out)
        kojistack_calls += calls
        for task_id in created_tasks(out):
            src, _target, opts = hub.task_args(task_id)
            if not opts.get("scratch"):
                hub.finish_build(task_id, "hello-kojistack", "1.0", "1.el9")  # what the builder and hub do
    text = "\n".join(outputs)

    # 1-2: the admin and the packager log in
    assert "kojiadmin!" in text and "alice!" in text and text.count("You are using the hub at") == 2
    assert [check_kojistack_call(c) for c in kojistack_calls] == [
        "kojistack urls", "kojistack client-config", "kojistack user add", "kojistack user list",
        "kojistack client-config"]
    # 3: the package list
    assert "Adding 1 packages to tag kojistack" in text
    (entry,) = hub.package_lists[hub._tag("kojistack")["id"]].values()
    assert (entry["package_name"], entry["owner_name"]) == ("hello-kojistack", "alice")
    # 4: a real SRPM, uploaded byte for byte
    nvr = subprocess.run(["rpm", "-qp", "--qf", "%{NAME}-%{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}",
                          str(work / SRPM)], capture_output=True, text=True, check=True).stdout
    assert nvr.startswith("hello-kojistack-1.0-1.el9 noarch (none)")  # (none): it is a source package
    srpm_bytes = (work / SRPM).read_bytes()
    uploaded = [k for k, v in hub.uploads.items() if v == srpm_bytes]
    assert len(uploaded) == 2 and all(k.startswith("cli-build/") for k in uploaded)
    # 5-7: three build tasks by alice: scratch SRPM, real SRPM, scratch from git at a commit
    tasks = created_tasks(text)
    assert [hub.tasks[t].method for t in tasks] == ["build"] * 3
    assert {hub.users[hub.tasks[t].owner].name for t in tasks} == {"alice"}
    args = [hub.task_args(t) for t in tasks]
    assert [bool(a[2].get("scratch")) for a in args] == [True, False, True]
    assert {a[0] for a in args[:2]} == set(uploaded) and all(a[1] == "kojistack" for a in args)
    assert re.fullmatch(r"git\+https://git\.example\.com/rpms/hello-kojistack\.git#[0-9a-f]{40}", args[2][0])
    assert text.count("Task info: https://koji.example.com/koji/taskinfo?taskID=") == 3
    # 6: the build is in the tag
    assert re.search(r"^hello-kojistack-1\.0-1\.el9 +kojistack +alice$", text, re.M)


def test_blocks_not_run_hold_only_the_consuming_machines_commands():
    kinds = [lang for lang, _ in page_blocks()]
    assert set(kinds) <= {"sh", "shell"}, f"every block is `sh` (run by this test) or `shell`: {kinds}"
    for lang, body in page_blocks():
        if lang != "shell":
            continue
        starts = {re.sub(r"^\w+=\$\(", "", line.split()[0]) for line in body.splitlines()
                  if line.strip() and not line.startswith((" ", "[", "name=", "baseurl=", "gpgcheck=", "EOF", "|"))}
        assert starts <= NOT_RUN_COMMANDS, f"a command that could run here hides in a `shell` block: {starts}"
        assert not re.search(r"(^|[;&|(]\s*)(sudo\s+)?koji(stack)?\s", body, re.M), "a koji command in a `shell` block"


def test_the_kojistack_checker_rejects_what_the_cli_would():
    assert check_kojistack_call(["urls", "--stack-name", "koji"]) == "kojistack urls"
    with pytest.raises(click.UsageError):
        check_kojistack_call(["urls", "--stack", "koji"])
    with pytest.raises(click.UsageError):
        check_kojistack_call(["user", "add", "--stack-name", "koji"])  # NAME missing


def test_the_fake_hub_keeps_the_stacks_package_list_policy():
    """A packager adds to `kojistack` only; others need admin or tag (hub-policy.conf.in)."""
    from fakes.kojihub_builds import BuildMethods

    allows = BuildMethods._package_list_allows
    assert allows({"packager"}, "add", "kojistack")
    assert not allows({"packager"}, "add", "kojistack-build")
    assert not allows({"packager"}, "block", "kojistack")
    assert not allows(set(), "add", "kojistack")
    assert allows({"tag"}, "block", "kojistack-build") and allows({"admin"}, "update", "other")
    policy = (REPO / "cloud-init" / "payload" / "hub" / "conf" / "hub-policy.conf.in").read_text()
    assert "has_perm packager && match action add && tag kojistack :: allow" in policy
    assert "has_perm admin tag :: allow" in policy
