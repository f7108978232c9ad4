"""Stand-ins for an EL host's package tools, which cannot run on the Debian test machine: `dnf`,
`rpm`, `rpmkeys` and `createrepo_c` over a package set on disk. They keep what the scripts rely on,
as documented for dnf 4 (https://dnf.readthedocs.io/en/latest/command_ref.html: `install` of
NAME-VERSION[-RELEASE] takes the newest matching build of the enabled repos and fails when none
matches; `--repofrompath=ID,URL` adds a repo for this run; `download --destdir` from the
dnf-plugins-core download plugin) and rpm (`-q --qf` of an installed package, exit 1 and
"package X is not installed" otherwise; `-qa --qf`).

State under $FAKE_RPM_DIR: `mirror/` is what the distro's mirrors carry today (empty files named
NAME-VERSION-RELEASE.noarch.rpm, all from source RPM koji-VERSION-RELEASE.src.rpm), `https/HOST/...`
what an https repo URL serves, `installed` the rpmdb (one NAME-VERSION-RELEASE a line), `calls.log`
every call."""

from __future__ import annotations

import sys
from pathlib import Path

DNF = r'''#!PYTHON
import os, re, shutil, sys
root = os.environ["FAKE_RPM_DIR"]
argv = sys.argv[1:]
open(os.path.join(root, "calls.log"), "a").write("dnf " + " ".join(argv) + "\n")
repos = [os.path.join(root, "mirror")]
words = []
destdir = None
i = 0
while i < len(argv):
    a = argv[i]
    if a.startswith("--repofrompath="):
        url = a.split(",", 1)[1]
        if url.startswith("file://"):
            repos.append(url[7:])
        elif url.startswith("https://"):
            repos.append(os.path.join(root, "https", url[8:]))
    elif a == "--destdir":
        destdir = argv[i + 1]; i += 1
    elif not a.startswith("-"):
        words.append(a)
    i += 1
cmd, specs = words[0], words[1:]
if cmd == "config-manager":
    sys.exit(0)
available = {}
for repo in repos:
    if os.path.isdir(repo):
        for f in os.listdir(repo):
            if f.endswith(".noarch.rpm"):
                available[f[:-len(".noarch.rpm")]] = os.path.join(repo, f)
def vkey(nvr):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.-]", nvr)]
def best(spec):
    spec = re.sub(r"\.noarch$", "", spec)
    found = []
    for nvr in available:
        name, v, r = nvr.rsplit("-", 2)
        if spec in (name, name + "-" + v, nvr):
            found.append(nvr)
    if not found:
        sys.exit("Error: Unable to find a match: " + spec)
    return max(found, key=lambda n: vkey(n.rsplit("-", 2)[1] + "-" + n.rsplit("-", 2)[2]))
db = os.path.join(root, "installed")
# koji.spec (1.35.3): each package requires its siblings at exactly its own version-release
DEPS = {"koji": ["python3-koji"], "koji-hub": ["koji", "python3-koji-hub"], "python3-koji-hub": ["python3-koji"],
        "koji-web": ["koji", "python3-koji-web"], "python3-koji-web": ["python3-koji"], "koji-utils": ["koji"],
        "koji-builder": ["python3-koji"]}
if cmd == "install":
    have = open(db).read().split() if os.path.exists(db) else []
    todo = [s for s in specs if not s.startswith("https://")]
    while todo:
        nvr = best(todo.pop(0))
        name, v, r = nvr.rsplit("-", 2)
        have = [h for h in have if h.rsplit("-", 2)[0] != name] + [nvr]
        todo += ["%s-%s-%s" % (d, v, r) for d in DEPS.get(name, [])]
    open(db, "w").write("\n".join(have) + "\n")
elif cmd == "download":
    for spec in specs:
        nvr = best(spec)
        shutil.copy(available[nvr], destdir)
else:
    sys.exit("fake dnf: no " + cmd)
'''

RPM = r'''#!PYTHON
import os, sys
root = os.environ["FAKE_RPM_DIR"]
argv = sys.argv[1:]
open(os.path.join(root, "calls.log"), "a").write("rpm " + " ".join(argv) + "\n")
db = os.path.join(root, "installed")
have = {h.rsplit("-", 2)[0]: h for h in (open(db).read().split() if os.path.exists(db) else [])}
qf = argv[argv.index("--qf") + 1] if "--qf" in argv else "%{NAME}-%{VERSION}-%{RELEASE}\n"
def fmt(nvr):
    n, v, r = nvr.rsplit("-", 2)
    src = "koji-%s-%s.src.rpm" % (v, r) if n.startswith(("koji", "python3-koji")) else "%s-%s-%s.src.rpm" % (n, v, r)
    return (qf.replace("%{NAME}", n).replace("%{VERSION}", v).replace("%{RELEASE}", r)
            .replace("%{ARCH}", "noarch").replace("%{SOURCERPM}", src).replace("\\n", "\n"))
if "-qa" in argv:
    sys.stdout.write("".join(fmt(h) for h in have.values()))
    sys.exit(0)
names = [a for a in argv[1:] if not a.startswith("-") and a != qf]
rc = 0
for name in names:
    if name in have:
        sys.stdout.write(fmt(have[name]))
    elif name in ("epel-release", "dnf-plugins-core", "amazon-ssm-agent"):
        sys.stdout.write(name + "-1-1.noarch\n")
    else:
        sys.stdout.write("package %s is not installed\n" % name); rc = 1
sys.exit(rc)
'''

LOGGING = '#!/bin/bash\necho "NAME $*" >> "$FAKE_RPM_DIR/calls.log"\n'


def install_fake_rpm_tools(bin_dir: Path, root: Path, mirror: list[str]) -> None:
    """dnf, rpm, rpmkeys and createrepo_c on bin_dir; the mirrors carry `mirror` (NAME-V-R)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    (root / "mirror").mkdir(parents=True, exist_ok=True)
    for nvr in mirror:
        (root / "mirror" / f"{nvr}.noarch.rpm").write_text("")
    for name, text in (("dnf", DNF), ("rpm", RPM)):
        (bin_dir / name).write_text(text.replace("PYTHON", sys.executable, 1))
    for name in ("rpmkeys", "createrepo_c", "systemctl"):
        (bin_dir / name).write_text(LOGGING.replace("NAME", name))
    for path in bin_dir.iterdir():
        path.chmod(0o755)


def set_mirror(root: Path, mirror: list[str]) -> None:
    """What the mirrors carry from now on (they keep only their newest build)."""
    for old in (root / "mirror").iterdir():
        old.unlink()
    for nvr in mirror:
        (root / "mirror" / f"{nvr}.noarch.rpm").write_text("")


def installed(root: Path) -> set[str]:
    path = root / "installed"
    return set(path.read_text().split()) if path.exists() else set()
