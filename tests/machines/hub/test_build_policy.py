"""Who may build: the hub policy the bootstrap renders (files/conf/hub-policy.conf.in), read by koji's
own policy engine (koji.policy.SimpleRuleSet, from the PyPI koji 1.35.3) with the data kojid's
BuildTask and kojihub's package-list calls pass, as a packager, an admin and a plain user.

koji.policy holds the generic tests (match, all, ...); `has_perm` and `tag` live in kojihub, which
is not on PyPI: the two small classes below follow kojihub/kojihub.py's HasPermTest (true when the
user holds any permission matching a pattern) and TagTest (matches the tag's name) of 1.35.3. The
same policy ran in a real 1.35.3 hub (docs/realhub.md, `make test-realhub`).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import koji.policy
import pytest

from kojistack.ops.users import PACKAGER, ROLES

from .conftest import HUB_FILES
from .test_configs import parse, render

PERMS = {"alice": {PACKAGER}, "root": {"admin"}, "tagger": {"tag"}, "bob": set()}
TAGS = {1: "kojistack", 2: "kojistack-build", 3: "other"}


class HasPerm(koji.policy.BaseSimpleTest):
    name = "has_perm"

    def run(self, data):
        return any(fnmatch.fnmatch(p, pat) for p in PERMS[data["user"]] for pat in self.str.split()[1:])


class Tag(koji.policy.MatchTest):
    name = "tag"
    field = "_tagname"

    def run(self, data):
        data[self.field] = TAGS[data["tag"]]
        return super().run(data)


def rules(tmp_path: Path) -> dict[str, koji.policy.SimpleRuleSet]:
    tests = koji.policy.findSimpleTests([vars(koji.policy), {"HasPerm": HasPerm, "Tag": Tag}])
    policy = parse(render("hub-policy.conf.in", tmp_path))["policy"]
    return {name: koji.policy.SimpleRuleSet(policy[name].splitlines(), tests)
            for name in ("build_rpm", "build_from_srpm", "package_list")}


def build(user: str, scratch: bool) -> dict:
    """kojid BuildTask's policy_data for `koji build [--scratch] kojistack PKG.src.rpm` (builder/kojid)."""
    return {"user": user, "source": "cli-build/1/foo-1-1.src.rpm", "build_tag": 2, "skip_tag": scratch,
            "scratch": scratch, "draft": False, "from_scm": False, "repo_id": None, "target": "kojistack",
            **({} if scratch else {"tag": 1})}


@pytest.mark.parametrize("user, allowed", [("alice", True), ("root", True), ("bob", False), ("tagger", False)])
def test_packagers_and_admins_build_from_srpms_scratch_and_real(tmp_path, user, allowed):
    policy = rules(tmp_path)
    for scratch in (True, False):
        assert (policy["build_rpm"].apply(build(user, scratch)) == "allow") is allowed
    # kojid asks build_from_srpm only for a real build of an uploaded SRPM
    assert (policy["build_from_srpm"].apply(build(user, False)) == "allow") is allowed


def test_packagers_add_packages_to_the_stack_tag_only(tmp_path):
    package_list = rules(tmp_path)["package_list"]

    def may(user: str, action: str, tag: int) -> bool:  # kojihub._direct_pkglist_add's policy_data
        return package_list.apply({"user": user, "tag": tag, "action": action, "package": "foo",
                                   "force": False}) == "allow"

    assert may("alice", "add", 1)
    assert not may("alice", "block", 1) and not may("alice", "add", 3) and not may("alice", "add", 2)
    assert may("root", "block", 3) and may("tagger", "add", 3)  # koji's default: admin and tag
    assert not may("bob", "add", 1)


def test_the_role_the_cli_grants_is_the_permission_the_bootstrap_seeds_and_the_policy_names(tmp_path):
    assert ROLES[PACKAGER] == (PACKAGER,)
    assert f"SELECT '{PACKAGER}'," in (HUB_FILES / "sql" / "users.sql").read_text()
    policy = parse(render("hub-policy.conf.in", tmp_path))["policy"]
    for name in ("build_rpm", "build_from_srpm", "package_list"):
        assert f" {PACKAGER}" in policy[name]
