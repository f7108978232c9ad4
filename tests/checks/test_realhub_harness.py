"""tests/realhub (the opt-in real-hub harness behind `make test-realhub`, docs/realhub.md) keeps up with
the tree: the stack.env it stages carries exactly the keys of the hub's stack.env (template/hub.py
hub_env), and its scripts pass shellcheck. The harness itself needs root and koji's source, so CI
does not run it; these checks keep it from falling behind unnoticed."""

from __future__ import annotations

import re
import subprocess

from kojistack.config import Config
from kojistack.template.hub import hub_env
from kojistack.template.payload import hub_payload
from support.paths import REPO

HARNESS = REPO / "tests" / "realhub"


def _staged_keys() -> set[str]:
    text = (HARNESS / "build.sh").read_text()
    secrets = text[text.index("SECRETS=("):]
    secrets = secrets[:secrets.index(")\n")]
    heredoc = text[text.index("cat <<ENV\n"):]
    heredoc = heredoc[:heredoc.index("\nENV\n")]
    keys = set(re.findall(r'^\s*"([A-Z_0-9]+)=', secrets, re.M)) | set(re.findall(r"^([A-Z_0-9]+)=", heredoc, re.M))
    return {k for k in keys if not k.startswith("BUILDER_MAX_")}


def test_the_harness_stages_every_stack_env_key_of_the_hub():
    want = {k for k in hub_env(Config(), hub_payload()) if not k.startswith("BUILDER_MAX_")}
    have = _staged_keys()
    assert have == want, (f"tests/realhub/build.sh (phase stage) lacks {sorted(want - have)}, "
                          f"has extra {sorted(have - want)}")


def test_the_check_script_passes_shellcheck():
    subprocess.run(["shellcheck", "-S", "warning", str(HARNESS / "check.sh"), str(HARNESS / "check-repos.sh"),
                    str(HARNESS / "examples" / "builder-register.sh")], check=True)
