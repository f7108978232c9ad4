"""The fake hub's users and permissions, as koji 1.35.3 answers them (a mixin of FakeHub).

Each rule cites the recording it comes from: `recordings/cli-transcripts.jsonl` (the real koji CLI
against a real 1.35.3 hub, step ids p2-*, p7-*) or `recordings/transcripts.jsonl` (API calls);
the code paths are koji-1.35.3's kojihub/kojihub.py (get_user, grantPermission, revokePermission,
enableUser/disableUser -> set_user_status) and kojihub/auth.py (get_user_perms).
"""

from typing import Any

NORMAL_STATUS, BLOCKED_STATUS = 0, 1


class UserMethods:
    """getUser, createUser, enable/disableUser, permissions; needs FakeHub's users, perms, _require."""

    users: dict[int, Any]
    perms: dict[int, str]
    perm_descriptions: dict[str, str]

    def seed_perm(self, name: str) -> None:
        """A permission beyond koji's seeded ones (kojistack's bootstrap adds `packager`)."""
        self._perm(name, create=True)

    def _user_row(self, u) -> dict:
        return {"id": u.id, "name": u.name, "status": u.status, "usertype": u.usertype, "krb_principals": []}

    def _lookup_user(self, info: Any):
        uid = info if isinstance(info, int) else self._user_by_name(info)
        return self.users.get(uid) if uid is not None else None

    def m_getUser(self, ctx, userInfo=None, strict=False, krb_princs=True, groups=False):
        u = self._lookup_user(userInfo)
        if u is None:
            if strict:  # get_user: "No such user: %r" (p2-07, quoted)
                raise self._generic(f"No such user: {userInfo!r}")
            return None  # `call --json-output getUser UNKNOWN` prints null, rc 0 (p2-06)
        row = self._user_row(u)
        if groups:
            row["groups"] = []
        return row

    def m_listUsers(self, ctx, userType=0, prefix=None, queryOpts=None, perm=None, inherited_perm=False):
        return [self._user_row(u) for u in sorted(self.users.values(), key=lambda u: u.id) if u.usertype == userType]

    def m_createUser(self, ctx, username, status=None, krb_principal=None, krb_princ_check=True):
        self._require(ctx, "admin")
        if self._user_by_name(username) is not None:
            raise self._generic(f"user already exists: {username}")  # p2-10
        uid = self.seed_user(username)
        if status is not None:
            self.users[uid].status = status
        return uid

    def _set_status(self, ctx, username, status: int) -> None:
        u = self._lookup_user(username)
        if u is None:  # looked up before the admin check; unquoted (p2-03, p2-04)
            raise self._generic(f"No such user: {username}")
        self._require(ctx, "admin")
        u.status = status  # the same status again is a silent success (p2-20, p7-20)

    def m_enableUser(self, ctx, username):
        self._set_status(ctx, username, NORMAL_STATUS)

    def m_disableUser(self, ctx, username):
        self._set_status(ctx, username, BLOCKED_STATUS)

    def _strict_user(self, info: Any):
        u = self._lookup_user(info)
        if u is None:
            raise self._generic(f"No such user: {info!r}")  # getUserPerms UNKNOWN (p2-08)
        return u

    def m_getUserPerms(self, ctx, userID=None, with_groups=True):
        if userID is None:
            user = self._user(ctx)
            return sorted(user.perms) if user else []
        return sorted(self._strict_user(userID).perms)  # p2-17, p7-09

    def m_getUserPermsInheritance(self, ctx, userID):
        return {p: [None] for p in sorted(self._strict_user(userID).perms)}  # direct grants: source None

    def m_getPerms(self, ctx):
        user = self._user(ctx)
        return sorted(user.perms) if user else []

    def m_hasPerm(self, ctx, perm, strict=False):
        user = self._user(ctx)
        if strict and perm not in self.perms.values():
            raise self._generic(f"No such permission {perm} defined")
        return bool(user) and ("admin" in user.perms or perm in user.perms)

    def m_getAllPerms(self, ctx):
        return [{"id": i, "name": n, "description": self.perm_descriptions.get(n)}
                for i, n in sorted(self.perms.items())]

    def _perm(self, name: str, create: bool = False) -> str:
        if name not in self.perms.values():
            if not create:  # p7-01 (grant), p7-16 (revoke)
                raise self._generic(f"No such entry in table permissions: {name}")
            self.perms[max(self.perms, default=0) + 1] = name  # created for good (p7-10)
        return name

    def m_grantPermission(self, ctx, userinfo, permission, create=False, description=None):
        self._require(ctx, "admin")
        if description is not None and not create:
            raise self._generic("Description should be specified only with create.")
        u = self._strict_user(userinfo)
        perm = self._perm(permission, create)
        if description is not None:
            self.perm_descriptions[perm] = description
        if perm in u.perms:  # p7-03, p7-11: the name as the caller gave it
            raise self._generic(f"user {userinfo} already has permission: {perm}")
        u.perms.add(perm)

    def m_revokePermission(self, ctx, userinfo, permission):
        self._require(ctx, "admin")
        u = self._strict_user(userinfo)
        perm = self._perm(permission)
        if perm not in u.perms:  # p7-15
            raise self._generic(f"user {userinfo} does not have permission: {perm}")
        u.perms.discard(perm)

    # userinfo of a known user counts the user's packages, top-level tasks and builds (p2-12)
    def m_listPackages(self, ctx, tagID=None, userID=None, pkgID=None, prefix=None, inherited=False,
                       with_dups=False, event=None, queryOpts=None, with_owners=True, with_blocked=True):
        rows: list[dict] = []
        return len(rows) if (queryOpts or {}).get("countOnly") else rows

    def m_listBuilds(self, ctx, packageID=None, userID=None, taskID=None, prefix=None, state=None,
                     volumeID=None, source=None, createdBefore=None, createdAfter=None,
                     completeBefore=None, completeAfter=None, type=None, typeInfo=None, queryOpts=None,
                     pattern=None, cgID=None, draft=None):
        rows: list[dict] = []
        return len(rows) if (queryOpts or {}).get("countOnly") else rows
