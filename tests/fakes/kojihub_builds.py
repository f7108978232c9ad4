"""The fake hub's tags, targets, package lists, SRPM uploads and builds (a mixin of FakeHub).

The shapes and rules follow koji-1.35.3's kojihub/kojihub.py: get_tag, get_build_target,
readPackageList/listPackages, _direct_pkglist_add (with the stack's package_list policy from
cloud-init/payload/hub/conf/hub-policy.conf.in, refused as `policy violation (package_list): ...`),
handle_upload (a POST with filename/filepath/fileverify/offset in the query string, answered
{size, fileverify, offset, hexdigest}) and checkUpload, build (a `build` task; build_from_srpm /
build_from_scm are asserted later by the builder's kojid through host.assertPolicy, not here),
listTagged. Tests seed tags and targets as kojistack-ready seeds them, and stand in for the builder
with `finish_build` (what kojid's import and tagBuild leave behind).
"""

import time
import xmlrpc.client
import zlib
from typing import Any

# The stack's package_list policy (cloud-init/payload/hub/conf/hub-policy.conf.in), which replaces koji's
# default (admin or tag): packagers may add packages to the stack's tag `kojistack`.
PACKAGE_LIST_DENY = "only admins and tag managers may change package lists (packagers may add to kojistack)"


class BuildMethods:
    """getTag, getBuildTarget(s), listPackages, packageListAdd, uploads, listTagged."""

    def _init_builds(self) -> None:
        self.tags: dict[int, dict] = {}
        self.packages: dict[str, int] = {}
        self.package_lists: dict[int, dict[int, dict]] = {}  # tag id -> package id -> entry
        self.uploads: dict[str, bytes] = {}  # "path/name" -> content
        self.builds: list[dict] = []

    # --- seeding ------------------------------------------------------------------------------

    def seed_tag(self, name: str, arches: str = "", locked: bool = False) -> int:
        with self.lock:
            tid = len(self.tags) + 1
            self.tags[tid] = {"id": tid, "name": name, "arches": arches or None, "locked": locked, "perm_id": None,
                              "perm": None, "maven_support": False, "maven_include_all": False, "extra": {}}
            return tid

    def seed_target(self, name: str, build_tag: str, dest_tag: str) -> None:
        with self.lock:
            b, d = self._tag(build_tag), self._tag(dest_tag)
            self.targets.append({"id": len(self.targets) + 1, "name": name, "build_tag": b["id"],
                                 "build_tag_name": b["name"], "dest_tag": d["id"], "dest_tag_name": d["name"]})

    def task_args(self, task_id: int) -> list:
        """The arguments a task was created with (its request)."""
        return list(xmlrpc.client.loads(self.tasks[task_id].request, use_builtin_types=True)[0])

    def finish_build(self, task_id: int, name: str, version: str, release: str) -> dict:
        """What a real build leaves once kojid imported it and tagBuild ran: a COMPLETE build in the
        target's destination tag (a scratch build leaves no build, only task output)."""
        with self.lock:
            task = self.tasks[task_id]
            target = next(t for t in self.targets if t["name"] == self.task_args(task_id)[1])
            owner = self.users[task.owner]
            build = {"build_id": len(self.builds) + 1, "name": name, "version": version, "release": release,
                     "nvr": f"{name}-{version}-{release}", "epoch": None, "state": 1, "task_id": task_id,
                     "owner_id": owner.id, "owner_name": owner.name, "package_name": name,
                     "package_id": self.packages.get(name), "tag_id": target["dest_tag"],
                     "tag_name": target["dest_tag_name"], "volume_id": 0, "volume_name": "DEFAULT",
                     "draft": False, "creation_time": time.strftime("%Y-%m-%d %H:%M:%S+00:00", time.gmtime())}
            build["id"] = build["build_id"]
            self.builds.append(build)
            return build

    # --- lookups ------------------------------------------------------------------------------

    def _tag(self, info: Any, strict: bool = True) -> dict | None:
        for tag in self.tags.values():
            if info in (tag["id"], tag["name"]):
                return tag
        if strict:
            raise self._generic(f"No such tagInfo: {info!r}")  # get_tag strict (cli-transcripts p3-01)
        return None

    def m_getTag(self, ctx, tagInfo, strict=False, event=None, blocked=False):
        tag = self._tag(tagInfo, strict)
        return dict(tag) if tag else None

    def m_getBuildTarget(self, ctx, info, event=None, strict=False):
        for target in self.targets:
            if info in (target["id"], target["name"]):
                return dict(target)
        if strict:
            raise self._generic(f"No such build target: {info}")
        return None

    def m_listPackages(self, ctx, tagID=None, userID=None, pkgID=None, prefix=None, inherited=False,
                       with_dups=False, event=None, queryOpts=None, with_owners=True, with_blocked=True):
        tag = self._tag(tagID) if tagID is not None else None
        rows = []
        for tid, entries in sorted(self.package_lists.items()):
            if tag and tid != tag["id"]:
                continue
            for entry in entries.values():
                row = dict(entry)
                if not with_owners:
                    row.pop("owner_id"), row.pop("owner_name")
                rows.append(row)
        return rows

    def m_packageListAdd(self, ctx, taginfo, pkginfo, owner=None, block=None, extra_arches=None, force=False,
                         update=False):
        tag = self._tag(taginfo)
        owner_row = self.m_getUser(ctx, owner, strict=True) if owner is not None else None
        user = self._user(ctx)
        if user is None:
            raise self._auth_error("Not logged-in")
        action = "update" if update else "block" if block else "add"
        if not self._package_list_allows(user.perms, action, tag["name"]):
            raise self._not_allowed(f"policy violation (package_list): {PACKAGE_LIST_DENY}")
        pid = self.packages.setdefault(pkginfo, len(self.packages) + 1)
        previous = self.package_lists.setdefault(tag["id"], {}).get(pid)
        if previous and (owner_row is None or previous["owner_id"] == owner_row["id"]) and not force:
            return None  # same data: nothing to do (_direct_pkglist_add returns None)
        if owner_row is None:
            raise self._generic("owner not specified")
        self.package_lists[tag["id"]][pid] = {
            "package_id": pid, "package_name": pkginfo, "tag_id": tag["id"], "tag_name": tag["name"],
            "owner_id": owner_row["id"], "owner_name": owner_row["name"], "blocked": bool(block),
            "extra_arches": extra_arches}
        return None

    @staticmethod
    def _package_list_allows(perms: set, action: str, tag: str) -> bool:
        if perms & {"admin", "tag"}:  # has_perm admin tag :: allow
            return True
        return "packager" in perms and action == "add" and tag == "kojistack"  # has_perm packager && ...

    def m_listTagged(self, ctx, tag, event=None, inherit=False, prefix=None, latest=False, package=None,
                     owner=None, type=None, strict=True, extra=False, draft=None):
        t = self._tag(tag)
        return [dict(b) for b in self.builds if b["tag_id"] == t["id"]
                and (package is None or b["name"] == package)]

    # --- uploads (handle_upload and checkUpload) -----------------------------------------------

    def upload(self, ctx, query: dict[str, str], body: bytes) -> dict:
        """A rawUpload POST: the hub writes the chunk at `offset` of work/<filepath>/<filename>."""
        if self._user(ctx) is None:
            raise self._auth_error("not logged in")  # handle_upload: context.session.assertLogin()
        key = f"{query['filepath']}/{query['filename']}"
        offset = int(query.get("offset", "0"))
        old = self.uploads.get(key, b"")
        if offset == 0 and query.get("overwrite") != "1" and key in self.uploads and old:
            raise self._generic(f"upload path exists: {key}")
        self.uploads[key] = old[:offset] + body
        result = {"size": len(body), "fileverify": query.get("fileverify", ""), "offset": offset}
        if query.get("fileverify") == "adler32":
            result["hexdigest"] = "%08x" % (zlib.adler32(body) & 0xFFFFFFFF)
        return result

    def m_checkUpload(self, ctx, path, name, verify=None, tail=None, volume=None):
        data = self.uploads.get(f"{path}/{name}")
        if data is None:
            return None
        result = {"size": len(data), "mtime": time.time()}
        if verify == "adler32":
            result["hexdigest"] = "%08x" % (zlib.adler32(data) & 0xFFFFFFFF)
        return result
