"""SELinux labels of what systemd executes (issue 11 item 2), asked of the real policy tools.

`matchpathcon` (selinux-utils) reads the file contexts of the SELinux reference policy's base
module (Debian's selinux-policy-default; AlmaLinux's targeted policy derives from the same
reference policy and has the same three rules this relies on):
  /opt/(.*/)?bin(/.*)?   bin_t    what init_t (systemd) may execute
  /opt/.*                usr_t
  /tmp/.*                <<none>> no label of its own: a file made under /tmp keeps tmp_t, also
                                  after `mv` (a rename keeps the inode's label), and init_t may
                                  not execute tmp_t: 203/EXEC
So every path a unit executes must be one the policy labels bin_t, and the payload must reach
/opt/kojistack without passing through /tmp and be relabelled there (restorecon; the fetch script
does both, tests/hub/test_boot_scripts.py::test_the_payload_is_unpacked_in_place_and_relabelled).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from kojistack import names
from kojistack.template.payload import builder_payload, hub_payload

ROOT = Path(__file__).resolve().parents[2]
UNIT_FILES = [*ROOT.glob("cloud-init/payload/*/systemd/**/*.service"),
              *ROOT.glob("cloud-init/payload/*/systemd/**/*.conf"),
              ROOT / "cloud-init" / "user-data" / "common" / names.UNIT_BOOTSTRAP]
EXEC_KEYS = ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload",
             "ExecCondition")
DEST = "/opt/kojistack"


@pytest.fixture(scope="session")
def file_contexts(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("selinux") / "file_contexts"
    subprocess.run([str(ROOT / "tests" / "support" / "selinux-file-contexts.sh"), str(out)], check=True)
    return out


def label(file_contexts: Path, path: str) -> str:
    out = subprocess.run(["matchpathcon", "-f", str(file_contexts), path], capture_output=True, text=True,
                         check=True).stdout
    ctx = out.split()[-1]
    return ctx if ctx == "<<none>>" else ctx.split(":")[2]


def executed_paths() -> dict[str, str]:
    """Every program a kojistack unit or drop-in executes -> the unit file that names it."""
    out = {}
    for unit in UNIT_FILES:
        for line in unit.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in EXEC_KEYS and value.strip():
                out[value.strip().lstrip("-+!@:").split()[0]] = unit.relative_to(ROOT).as_posix()
    return out


def test_the_policy_says_what_this_relies_on(file_contexts):
    assert label(file_contexts, "/opt/kojistack/files/bin/kojistack-bootstrap") == "bin_t"
    assert label(file_contexts, "/opt/kojistack/files/sql/roles.sql") == "usr_t"
    assert label(file_contexts, "/tmp/tmp.abc123/unpacked/files/bin/kojistack-bootstrap") == "<<none>>"


def test_every_program_a_unit_executes_is_labelled_bin_t(file_contexts):
    paths = executed_paths()
    assert {"/opt/kojistack/files/bin/kojistack-bootstrap", "/usr/local/sbin/kojistack-report",
            "/opt/kojistack/files/bin/kojistack-ready"} <= paths.keys()
    for path, unit in sorted(paths.items()):
        assert path.startswith("/") and not path.startswith(("/tmp/", "/var/tmp/")), (unit, path)
        assert label(file_contexts, path) == "bin_t", (unit, path)


@pytest.mark.parametrize("payload", [hub_payload, builder_payload], ids=["hub", "builder"])
def test_every_executable_of_the_payload_lands_where_the_policy_says_bin_t(file_contexts, payload):
    members = tarfile.open(fileobj=io.BytesIO(payload().tgz)).getmembers()
    executables = [m.name for m in members if m.mode & 0o111]
    assert executables
    for name in executables:
        assert label(file_contexts, f"{DEST}/{name}") == "bin_t", name
