"""A fake koji hub: XML-RPC over HTTPS on loopback, for the real `koji` client library.

Used because a real hub (httpd, mod_wsgi, PostgreSQL, kojihub) cannot run in the tests. It keeps
the semantics recorded from koji 1.35.3 (`recordings/API.md`, `reference/koji.md`
§9): hosts cannot be deleted; a builder that logs in before `addHost` becomes a NORMAL user
(`addHost(force=True)` converts it); `host.*` calls need an exclusive session, and an exclusive
session locks out the user's other sessions; `host` vs `admin` permissions; the scheduler skips
disabled hosts, so their OPEN tasks stay OPEN; `freeTask` of a FREE task is "No such task";
`listHosts` ignores `queryOpts`; `multiCall` never aborts. `tests/controller/test_fake_hub_replay.py`
replays the recorded calls against it and compares answers and fault classes.

Usage::

    hub = FakeHub.start(pki)          # pki: tests.fakes.pki.TestPki (server cert, CA)
    hub.url                           # https://127.0.0.1:PORT/kojihub
    tid = hub.seed_task("buildArch", arch="x86_64")
    hub.stop()
"""

import http.server
import re
import ssl
import threading
import time
import urllib.parse
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kojistack import names

from .kojihub_builds import BuildMethods
from .kojihub_users import UserMethods

FREE, OPEN, CLOSED, CANCELED, ASSIGNED, FAILED = 0, 1, 2, 3, 4, 5
NORMAL, HOST_USER = 0, 1
SLOT_CN = re.compile(names.SLOT_RE)  # what the hub's ssl.conf requires of a builder CA certificate:
LIGHT_SLOT_CN = re.compile(names.LIGHT_SLOT_RE)  # a builder's or a light host's slot name (ssl.conf.in)
LIGHT_METHODS = {"build", "chainbuild", "waitrepo", "tagBuild", "tagNotification", "buildNotification",
                 "dependantTask"}
DEFAULT_METHODS = {"buildArch", "buildSRPMFromSCM", "rebuildSRPM"}
SEEDED_CHANNELS = (names.CHANNEL_DEFAULT, names.CHANNEL_CREATEREPO, "maven", "livecd", "appliance", "vm", "image",
                   "livemedia", "autoscale", names.CHANNEL_LIGHT)
SEEDED_PERMS = ("admin", "appliance", "dist-repo", "host", "image", "image-import", "livecd", "maven-import",
                "repo", "sign", "tag", "target", "win-admin", "win-import", "draft-promoter")
#: hub methods that are staticmethods of an internal function, whose name a ParameterError shows
INTERNAL_NAMES = {"getHost": "get_host"}
HOST_FIELDS = ("arches", "capacity", "comment", "description", "enabled", "id", "name", "ready", "task_load",
               "update_ts", "user_id")
TASK_FIELDS = ("arch", "awaited", "channel_id", "completion_time", "completion_ts", "create_time", "create_ts",
               "host_id", "id", "label", "method", "owner", "parent", "priority", "start_time", "start_ts",
               "state", "waiting", "weight")
TASK_ORDER_FIELDS = set(TASK_FIELDS) | {"request", "result", "owner_name", "owner_type"}


class Fault(Exception):
    """A hub fault: code and string, as koji's convertFault expects."""

    def __init__(self, code: int, string: str):
        super().__init__(string)
        self.code, self.string = code, string


class RawError(Fault):
    """A non-koji exception in the hub (e.g. a database error): a plain call's fault string is
    "<class 'CLS'>: MSG" (kojixmlrpc._log_exception), a multiCall's is MSG alone (its handler joins
    exc.args): the API recording's editHost-capacity-1.0 and the CLI recording's p4-27 (edit-host
    goes through multiCall) show both."""

    def __init__(self, cls: str, msg: str):
        super().__init__(1, f"<class '{cls}'>: {msg}")
        self.bare = msg


def generic(msg: str) -> Fault:
    return Fault(1000, msg)


def auth_error(msg: str) -> Fault:
    return Fault(1002, msg)


def not_allowed(msg: str) -> Fault:
    return Fault(1004, msg)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + ("%.6f" % (ts % 1))[1:] + "+00:00"


@dataclass
class User:
    id: int
    name: str
    usertype: int = NORMAL
    perms: set = field(default_factory=set)
    status: int = 0  # 0 NORMAL, 1 BLOCKED (disableUser)


@dataclass
class HostRec:
    id: int
    user_id: int
    name: str
    arches: str
    capacity: float = 2.0
    enabled: bool = True
    ready: bool = False
    task_load: float = 0.0
    update_ts: float | None = None
    comment: str | None = None
    description: str | None = None
    channels: list[int] = field(default_factory=list)
    data: dict | None = None


@dataclass
class TaskRec:
    id: int
    method: str
    request: str
    owner: int
    channel_id: int
    arch: str = "noarch"
    state: int = FREE
    priority: int = 20
    weight: float = 1.0
    parent: int | None = None
    label: str | None = None
    host_id: int | None = None
    create_ts: float = 0.0
    start_ts: float | None = None
    completion_ts: float | None = None
    waiting: bool | None = None
    awaited: bool | None = None
    result: str | None = None
    assign_ts: float | None = None


@dataclass
class Traffic:
    """What the fake hub served over HTTP: requests, bytes each way, CPU seconds of its handler
    threads (parsing, the method, marshalling); for the tests' call budgets and `make bench`."""

    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    cpu_seconds: float = 0.0


@dataclass
class Session:
    id: int
    key: str
    user_id: int
    exclusive: bool = False
    alive: bool = True


@dataclass
class Ctx:
    """Who is calling: a session (or None for anonymous)."""

    session: Session | None


class FakeHub(UserMethods, BuildMethods):
    """The hub's state and its XML-RPC methods; `start()` serves it over HTTPS on loopback.
    Users and permissions: kojihub_users.UserMethods; tags, packages, uploads, builds:
    kojihub_builds.BuildMethods."""

    _generic = staticmethod(generic)
    _auth_error = staticmethod(auth_error)
    _not_allowed = staticmethod(not_allowed)

    RUN_INTERVAL, READY_TIMEOUT, ASSIGN_TIMEOUT, HOST_TIMEOUT = 60.0, 180.0, 300.0, 900.0
    MAX_JOBS, OVERCOMMIT, SOFT_REFUSAL_TIMEOUT = 15, 5.0, 900.0   # kojixmlrpc.py 492-499 defaults
    FREE_TASK_LIMIT = 1000                                          # scheduler.py 558

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.hosts: dict[int, HostRec] = {}
        self.tasks: dict[int, TaskRec] = {}
        self.channels: dict[int, str] = {}
        self.sessions: dict[int, Session] = {}
        self.refusals: list[dict] = []
        self.runs: list[dict] = []
        self.logs: list[dict] = []
        self.calls: list[tuple[str, str]] = []  # (user name or "anonymous", method), for coverage
        self.traffic = Traffic()
        self.last_run: float | None = None
        self._ids = {"user": 0, "host": 0, "task": 0, "session": 0, "run": 0, "log": 0, "refusal": 0}
        self.perms = {i + 1: p for i, p in enumerate(SEEDED_PERMS)}
        self.perm_descriptions: dict[str, str] = {}
        self.targets: list[dict] = []
        self._init_builds()
        for name in SEEDED_CHANNELS:
            self._channel(name)
        self.server: http.server.ThreadingHTTPServer | None = None
        self.url = ""

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def start(cls, pki: Any, clock: Callable[[], float] = time.time) -> "FakeHub":
        """Serve a new hub on 127.0.0.1 (a free port) with `pki.server_pem`, trusting `pki.ca_pem`."""
        hub = cls(clock)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.server_pem)
        ctx.load_verify_locations(pki.ca_pem)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        handler = type("Handler", (_Handler,), {"hub": hub})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        hub.server = server
        hub.url = f"https://127.0.0.1:{server.server_address[1]}/kojihub"
        threading.Thread(target=server.serve_forever, name="fake-koji-hub", daemon=True).start()
        return hub

    def stop(self) -> None:
        """Stop serving."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # --- seeding (for tests and simulators) ------------------------------------------------

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _channel(self, name: str) -> int:
        cid = len(self.channels) + 1
        self.channels[cid] = name
        return cid

    def seed_user(self, name: str, perms: tuple[str, ...] = (), usertype: int = NORMAL) -> int:
        """A user (e.g. the controller's `kojistack-ctl` with ("host", "admin"))."""
        with self.lock:
            uid = self._next("user")
            self.users[uid] = User(uid, name, usertype, set(perms))
            return uid

    def seed_host(self, name: str, arches: str = "x86_64", channels: tuple[str, ...] = (names.CHANNEL_DEFAULT,),
                  capacity: float = 2.0, enabled: bool = True) -> int:
        """A host with its user, as addHost would make it."""
        with self.lock:
            uid = self.seed_user(name, (), HOST_USER)
            hid = self._next("host")
            self.hosts[hid] = HostRec(hid, uid, name, arches, capacity, enabled,
                                      channels=[self._channel_id(c) for c in channels])
            return hid

    def seed_task(self, method: str, arch: str = "noarch", channel: str | None = None, weight: float = 1.0,
                  priority: int = 20, parent: int | None = None, owner: str = "kojiadmin",
                  args: tuple[Any, ...] = (), state: int = FREE, host: str | None = None) -> int:
        """A task as makeTask/subtask would create it (channel from the shipped channel policy)."""
        with self.lock:
            owner_id = self._user_by_name(owner)
            if owner_id is None:
                owner_id = self.seed_user(owner, ("admin",))
            tid = self._new_task(method, list(args), owner_id, arch=arch, channel=channel, priority=priority,
                                 parent=parent)
            t = self.tasks[tid]
            t.weight = weight
            if host is not None:
                t.host_id = self._host_by_name(host).id
                t.state = state
                if state == OPEN:
                    t.start_ts = self.clock()
            return tid

    def task_state(self, tid: int) -> int:
        with self.lock:
            return self.tasks[tid].state

    def host_named(self, name: str) -> HostRec | None:
        with self.lock:
            hid = self._host_id(name)
            return self.hosts.get(hid) if hid else None

    # --- helpers ------------------------------------------------------------------------------

    def _user_by_name(self, name: str) -> int | None:
        for u in self.users.values():
            if u.name == name:
                return u.id
        return None

    def _host_id(self, info: Any) -> int | None:
        if isinstance(info, int) and not isinstance(info, bool):
            return info if info in self.hosts else None
        for h in self.hosts.values():
            if h.name == info:
                return h.id
        return None

    def _host_by_name(self, info: Any, strict: bool = True) -> HostRec:
        hid = self._host_id(info)
        if hid is None:
            raise generic(f"Invalid hostInfo: {info}")
        return self.hosts[hid]

    def _channel_id(self, info: Any, strict: bool = True) -> int | None:
        if isinstance(info, int) and not isinstance(info, bool):
            if info in self.channels:
                return info
        else:
            for cid, name in self.channels.items():
                if name == info:
                    return cid
        if strict:
            raise generic(f"No such entry in table channels: {info}")
        return None

    def _host_row(self, h: HostRec) -> dict:
        return {k: getattr(h, k) for k in HOST_FIELDS}

    def _task_row(self, t: TaskRec, request: Any = False, owner_info: bool = False) -> dict:
        row = {k: getattr(t, k) for k in TASK_FIELDS if not k.endswith("_time")}
        for key in ("create", "start", "completion"):
            row[f"{key}_time"] = _iso(getattr(t, f"{key}_ts"))
        if request == "xml":
            row["request"] = t.request
        elif request:
            row["request"] = list(xmlrpc.client.loads(t.request)[0])
        if owner_info:
            row["owner_name"] = self.users[t.owner].name
            row["owner_type"] = self.users[t.owner].usertype
            row["request"] = t.request
            row["result"] = t.result
        return row

    def _policy_channel(self, method: str, parent: int | None, req: str | None) -> int:
        if req:
            return self._channel_id(req)
        if method in LIGHT_METHODS:
            return self._channel_id(names.CHANNEL_LIGHT)
        if method in DEFAULT_METHODS:
            return self._channel_id(names.CHANNEL_DEFAULT)
        if parent is not None:
            return self.tasks[parent].channel_id
        return self._channel_id(names.CHANNEL_DEFAULT)

    def _new_task(self, method: str, args: list, owner: int, arch: str = "noarch", channel: str | None = None,
                  priority: int = 20, parent: int | None = None, label: str | None = None) -> int:
        tid = self._next("task")
        self.tasks[tid] = TaskRec(
            tid, method, xmlrpc.client.dumps(tuple(args), method, allow_none=True), owner,
            self._policy_channel(method, parent, channel), arch=arch, priority=priority, parent=parent,
            label=label, create_ts=self.clock())
        return tid

    def _release(self, t: TaskRec) -> None:
        """A task goes back to FREE: its scheduler run ends."""
        t.state, t.host_id = FREE, None

    def _end_runs(self, task_id: int) -> None:
        for r in self.runs:
            if r["task_id"] == task_id:
                r["active"] = False

    def _log(self, task_id: int | None, host_id: int | None, msg: str) -> None:
        self.logs.append({"id": self._next("log"), "task_id": task_id, "host_id": host_id, "msg": msg,
                          "msg_ts": self.clock()})

    # --- auth ---------------------------------------------------------------------------------

    def login(self, cn: str, issuer_cn: str = "") -> dict:
        """sslLogin for a client certificate with CN `cn` (LoginCreatesUser = On)."""
        with self.lock:
            if issuer_cn == "kojistack-builder-ca" and not (SLOT_CN.match(cn) or LIGHT_SLOT_CN.match(cn)):
                raise auth_error(f"builder CA certificate with CN {cn} refused")
            uid = self._user_by_name(cn)
            if uid is None:
                uid = self.seed_user(cn)
            if self.users[uid].status != 0:  # a disabled user cannot log in (cli-transcripts p7-23)
                raise auth_error(f"logins by {cn} are not allowed")
            sid = self._next("session")
            key = f"{sid}-{uid}-key"
            self.sessions[sid] = Session(sid, key, uid)
            return {"session-id": sid, "session-key": key, "header-auth": True}

    def context(self, sid: str | None, key: str | None, method: str) -> Ctx:
        """The caller of one request, with koji's session checks (lock, takeover, logout)."""
        if sid is None:
            return Ctx(None)
        s = self.sessions.get(int(sid))
        if s is None or s.key != key or not s.alive:
            raise auth_error("Invalid session or bad credentials")
        for other in self.sessions.values():
            if other.alive and other.user_id == s.user_id and other.exclusive and other.id != s.id:
                if method == "exclusiveSession":
                    break
                raise Fault(1006, "User locked by another session")
        return Ctx(s)

    def _user(self, ctx: Ctx) -> User | None:
        return self.users[ctx.session.user_id] if ctx.session else None

    def _require(self, ctx: Ctx, perm: str) -> User:
        user = self._user(ctx)
        if user is None:
            raise not_allowed(f"{perm} permission required (user not logged in)")
        if "admin" in user.perms or perm in user.perms:
            return user
        raise not_allowed(f"{perm} permission required (logged in as {user.name})")

    def _host_ctx(self, ctx: Ctx) -> HostRec:
        user = self._user(ctx)
        if user is None:
            raise auth_error("Not logged-in")
        host = next((h for h in self.hosts.values() if h.user_id == user.id), None)
        if host is None or user.usertype != HOST_USER:
            raise auth_error(f"User {user.id} is not a host")
        if not ctx.session.exclusive:
            raise auth_error("This method requires an exclusive session")
        return host

    # --- dispatch -----------------------------------------------------------------------------

    def dispatch(self, ctx: Ctx, method: str, args: list, kwargs: dict) -> Any:
        """Run one hub method; raises Fault like the hub."""
        with self.lock:
            user = self._user(ctx)
            self.calls.append((user.name if user else "anonymous", method))
            if method == "multiCall":
                return self._multicall(ctx, *args, **kwargs)
            fn = getattr(self, "m_" + method.replace(".", "_"), None)
            if fn is None:
                raise generic(f"Invalid method: {method}")
            try:
                return fn(ctx, *args, **kwargs)
            except TypeError as exc:  # the hub names the function behind the method (p7b-02: get_host)
                text = str(exc).replace("FakeHub.", "").replace("UserMethods.", "")
                text = text.replace(f"m_{method}(", f"{INTERNAL_NAMES.get(method, method)}(")
                raise Fault(1019, text.replace("m_", "")) from None

    def _multicall(self, ctx: Ctx, calls: list) -> list:
        out = []
        for call in calls:
            params = list(call.get("params", []))
            kwargs = {}
            if params and isinstance(params[-1], dict) and params[-1].get("__starstar"):
                kwargs = dict(params.pop())
                del kwargs["__starstar"]
            try:
                out.append([self.dispatch(ctx, call["methodName"], params, kwargs)])
            except Fault as f:
                out.append({"faultCode": f.code, "faultString": getattr(f, "bare", f.string), "traceback": []})
        return out

    # --- anonymous and user methods ---------------------------------------------------------

    def m_echo(self, ctx, *args):
        return list(args)

    def m_getAPIVersion(self, ctx):
        return 1

    def m_getKojiVersion(self, ctx):
        return "1.35.3"

    def m_exclusiveSession(self, ctx, force=False):
        if ctx.session is None:
            raise auth_error("Not logged-in")
        s = ctx.session
        others = [o for o in self.sessions.values() if o.alive and o.user_id == s.user_id and o.exclusive
                  and o.id != s.id]
        if others and not force:
            raise Fault(1006, "Cannot get exclusive session")
        for o in others:
            o.alive = False
        s.exclusive = True
        return None

    def m_logout(self, ctx, session_id=None):
        if ctx.session is not None:
            ctx.session.alive = False
        return None

    def m_getLoggedInUser(self, ctx):
        user = self._user(ctx)
        if user is None:
            return None
        return {"id": user.id, "name": user.name, "status": 0, "usertype": user.usertype, "krb_principals": [],
                "authtype": 2, "krb_principal": None}

    def m_getBuildTargets(self, ctx, info=None, event=None, buildTagID=None, destTagID=None, queryOpts=None):
        return [dict(t) for t in self.targets]

    # --- channels and hosts -----------------------------------------------------------------

    def _channel_row(self, cid: int) -> dict:
        return {"comment": None, "description": None, "enabled": True, "id": cid, "name": self.channels[cid]}

    def m_listChannels(self, ctx, hostID=None, event=None, enabled=None):
        if hostID is not None:
            hid = self._host_id(hostID)
            if hid is None:  # get_host(strict=True) (cli-transcripts p4-03)
                raise generic(f"Invalid hostInfo: {hostID}")
            return [self._channel_row(c) for c in sorted(self.hosts[hid].channels)]
        return [self._channel_row(c) for c in sorted(self.channels)]

    def m_getChannel(self, ctx, channelInfo, strict=False):
        cid = self._channel_id(channelInfo, strict=False)
        if cid is None:
            if strict:
                raise generic("query returned no rows")
            return None
        return self._channel_row(cid)

    def m_listHosts(self, ctx, arches=None, channelID=None, ready=None, enabled=None, userID=None, queryOpts=None):
        if arches is not None and not arches:
            raise generic("arches option cannot be empty")
        rows = []
        cid = self._channel_id(channelID) if channelID is not None else None
        uid = None
        if userID is not None:
            uid = userID if isinstance(userID, int) else self._user_by_name(userID)
        for h in sorted(self.hosts.values(), key=lambda h: h.id):
            if arches is not None and not set(arches) & set(h.arches.split()):
                continue
            if cid is not None and cid not in h.channels:
                continue
            if ready is not None and h.ready != bool(ready):
                continue
            if enabled is not None and h.enabled != bool(enabled):
                continue
            if uid is not None and h.user_id != uid:
                continue
            rows.append(self._host_row(h))
        return rows  # queryOpts is ignored, as by the real hub

    def m_getHost(self, ctx, hostInfo, strict=False, event=None):
        hid = self._host_id(hostInfo)
        if hid is None:
            if strict:
                raise generic(f"Invalid hostInfo: {hostInfo}")
            return None
        return self._host_row(self.hosts[hid])

    def m_addHost(self, ctx, hostname, arches, krb_principal=None, force=False):
        self._require(ctx, "host")
        for arch in arches:
            if not re.match(r"^[a-zA-Z0-9_-]+$", arch):
                raise generic("Architecture can be only [a-zA-Z0-9_-]")
        if self._host_id(hostname) is not None:
            raise generic(f"host already exists: {hostname}")
        uid = self._user_by_name(hostname)
        if uid is not None:
            user = self.users[uid]
            if user.usertype != HOST_USER and not force:
                raise generic(f"user {hostname} already exists and it is not a host")
            user.usertype = HOST_USER
        else:
            uid = self.seed_user(hostname, (), HOST_USER)
        hid = self._next("host")
        self.hosts[hid] = HostRec(hid, uid, hostname, " ".join(arches),
                                  channels=[self._channel_id(names.CHANNEL_DEFAULT)])
        return hid

    def m_listBuildroots(self, ctx, hostID=None, tagID=None, state=None, rpmID=None, archiveID=None,
                         taskID=None, buildrootID=None, repoID=None, queryOpts=None):
        rows: list[dict] = []  # no builds run here; `hostinfo` lists a host's active buildroots (p4-13)
        return len(rows) if (queryOpts or {}).get("countOnly") else rows

    def m_editHost(self, ctx, hostInfo, **kw):
        self._require(ctx, "host")
        h = self._host_by_name(hostInfo)
        changed = False
        if "capacity" in kw and kw["capacity"] is not None:
            if float(kw["capacity"]) <= 1:
                raise RawError("psycopg2.errors.CheckViolation", "new row for relation \"host_config\" violates "
                               "check constraint \"host_config_capacity_check\"\nDETAIL:  Failing row contains "
                               f"({h.id}, {kw['capacity']}).\n")
        for key in ("arches", "capacity", "description", "comment"):
            if key in kw and kw[key] is not None and getattr(h, key) != kw[key]:
                setattr(h, key, float(kw[key]) if key == "capacity" else kw[key])
                changed = True
        return changed

    def m_enableHost(self, ctx, hostname):
        self._require(ctx, "host")
        self._host_by_name(hostname).enabled = True

    def m_disableHost(self, ctx, hostname):
        self._require(ctx, "host")
        self._host_by_name(hostname).enabled = False

    def m_addHostToChannel(self, ctx, hostname, channel_name, create=False, force=False):
        self._require(ctx, "host")
        h = self._host_by_name(hostname)
        cid = self._channel_id(channel_name, strict=not create)
        if cid is None:
            cid = self._channel(channel_name)
        if cid in h.channels:
            raise generic(f"host {h.name} is already subscribed to the {channel_name} channel")
        h.channels.append(cid)

    def m_removeHostFromChannel(self, ctx, hostname, channel_name):
        self._require(ctx, "host")
        h = self._host_by_name(hostname)
        cid = self._channel_id(channel_name)
        if cid not in h.channels:
            raise generic(f"host {h.name} is not subscribed to the {channel_name} channel")
        h.channels.remove(cid)

    # --- tasks --------------------------------------------------------------------------------

    def _task(self, task_id: Any) -> TaskRec:
        if task_id not in self.tasks:
            raise generic("query returned no rows")
        return self.tasks[task_id]

    def m_getTaskInfo(self, ctx, task_id, request=False, strict=False):
        if isinstance(task_id, list):
            return [self._task_row(self.tasks[t], request) if t in self.tasks else None for t in task_id]
        if task_id not in self.tasks:
            if strict:
                raise generic("query returned no rows")
            return None
        return self._task_row(self.tasks[task_id], request)

    def m_getTaskChildren(self, ctx, task_id, request=False, strict=False):
        if strict and task_id not in self.tasks:
            raise generic("query returned no rows")
        return [self._task_row(t, request) for t in self.tasks.values() if t.parent == task_id]

    def m_listTasks(self, ctx, opts=None, queryOpts=None):
        opts, queryOpts = opts or {}, queryOpts or {}
        if "state" in opts and opts["state"] == []:
            raise Fault(1, "<class 'psycopg2.errors.SyntaxError'>: syntax error at or near \")\"\n"
                           "LINE 5:  WHERE (state IN ())\n")
        rows = []
        # koji 1.35.3 kojihub.py listTasks: arch/state take lists (IN, NOT IN); host_id, channel_id,
        # parent take an int or a list (= or IN, NOT for not_*); the time options compare the
        # column (NULL never matches: a never-started task has no start_time)
        started_after = opts.get("startedAfter")
        for t in self.tasks.values():
            if "state" in opts and t.state not in opts["state"]:
                continue
            if "not_state" in opts and t.state in opts["not_state"]:
                continue
            if "host_id" in opts and not _int_opt(t.host_id, opts["host_id"]):
                continue
            if "channel_id" in opts and not _int_opt(t.channel_id, opts["channel_id"]):
                continue
            if "not_channel_id" in opts and _int_opt(t.channel_id, opts["not_channel_id"]):
                continue
            if "arch" in opts and t.arch not in opts["arch"]:
                continue
            if "not_arch" in opts and t.arch in opts["not_arch"]:
                continue
            if started_after is not None and (t.start_ts is None or t.start_ts <= started_after):
                continue
            if "method" in opts and t.method != opts["method"]:
                continue
            if "parent" in opts and t.parent != opts["parent"]:
                continue
            rows.append(t)
        if queryOpts.get("countOnly"):
            return len(rows)
        out = [self._task_row(t, owner_info=True) for t in rows]
        if opts.get("decode"):
            for r in out:
                r["request"] = list(xmlrpc.client.loads(r["request"])[0])
                if r["result"]:
                    try:
                        r["result"] = xmlrpc.client.loads(r["result"])[0][0]
                    except xmlrpc.client.Fault as f:
                        r["result"] = {"faultCode": f.faultCode, "faultString": f.faultString}
        order = queryOpts.get("order")
        if order:
            for key in reversed(order.split(",")):
                desc = key.startswith("-")
                name = key.lstrip("-")
                if name not in TASK_ORDER_FIELDS:
                    raise Fault(1, f"<class 'Exception'>: Invalid order: {name}")
                out.sort(key=lambda r: (r[name] is None, r[name]), reverse=desc)
        offset = queryOpts.get("offset") or 0
        limit = queryOpts.get("limit")
        out = out[offset:offset + limit] if limit is not None else out[offset:]
        if queryOpts.get("asList"):
            return [[r[k] for k in sorted(r)] for r in out]
        return out

    def m_makeTask(self, ctx, method, arglist, **opts):
        user = self._require(ctx, "admin")
        return self._new_task(method, arglist, user.id, arch=opts.get("arch", "noarch"),
                              channel=opts.get("channel"), priority=opts.get("priority", 20),
                              parent=opts.get("parent"), label=opts.get("label"))

    def m_build(self, ctx, src, target, opts=None, priority=None, channel=None):
        user = self._user(ctx)
        if user is None:
            raise auth_error("Not logged-in")
        args = [src, target, opts or {}]
        return self._new_task("build", args, user.id, channel=channel, priority=20 + (priority or 0))

    def m_freeTask(self, ctx, task_id):
        self._require(ctx, "admin")
        t = self._task(task_id)
        if t.state in (CLOSED, CANCELED, FAILED):
            raise generic(f"Cannot free task {task_id}, state is {_STATE_NAMES[t.state]}")
        if t.state == FREE:
            raise generic(f"No such task: {task_id}")  # hub bug: state 0 is falsy
        self._release(t)
        return None

    def m_assignTask(self, ctx, task_id, host, force=False, override=False):
        self._require(ctx, "admin")
        t = self._task(task_id)
        h = self._host_by_name(host)
        if t.state != FREE and not force:
            return False
        t.state, t.host_id, t.assign_ts = ASSIGNED, h.id, self.clock()
        return True

    def m_cancelTask(self, ctx, task_id, recurse=True):
        user = self._user(ctx)
        t = self._task(task_id)
        if user is None or ("admin" not in user.perms and t.owner != user.id):
            raise not_allowed("Cannot cancel task, not owner")
        self._cancel(t, recurse)

    def _cancel(self, t: TaskRec, recurse: bool) -> None:
        if t.state in (FREE, OPEN, ASSIGNED):
            t.state, t.completion_ts = CANCELED, self.clock()
        if recurse:
            for child in list(self.tasks.values()):
                if child.parent == t.id:
                    self._cancel(child, True)

    def m_getTaskResult(self, ctx, taskId, raise_fault=True):
        t = self._task(taskId)
        if t.state not in (CLOSED, FAILED, CANCELED):
            raise generic(f"Task {taskId} is not finished")
        value = xmlrpc.client.loads(t.result)[0][0] if t.state == CLOSED and t.result else None
        if t.state == FAILED and t.result:
            try:
                xmlrpc.client.loads(t.result)
            except xmlrpc.client.Fault as f:
                if raise_fault:
                    raise Fault(f.faultCode, f.faultString) from None
                return {"faultCode": f.faultCode, "faultString": f.faultString}
        return value

    # --- the scheduler ------------------------------------------------------------------------

    def m_scheduler_doRun(self, ctx, force=False):
        self._require(ctx, "admin")
        now = self.clock()
        if not force and self.last_run is not None and now - self.last_run < self.RUN_INTERVAL:
            return False
        self.run_scheduler(record=not force)
        return True

    def run_scheduler(self, record: bool = True) -> None:
        """One scheduler run, in koji 1.35.3's order (kojihub/scheduler.py 281-297 `run`): mark stale
        hosts not ready, assign FREE tasks, then time out active tasks (so a task freed by a timeout
        waits for the next run, and its weight still counts in this one)."""
        now = self.clock()
        if record:
            self.last_run = now
        for r in self.runs:  # a run ends at the first scheduler pass after its task left the host
            t = self.tasks.get(r["task_id"])
            if r["active"] and (t is None or t.host_id != r["host_id"] or t.state not in (ASSIGNED, OPEN)):
                r["active"] = False
        hosts = [h for h in self.hosts.values() if h.enabled]  # 616-645 `_get_hosts`: enabled only
        for h in hosts:  # 493-513 `check_hosts`
            if h.ready and (h.update_ts is None or now - h.update_ts > self.READY_TIMEOUT):
                h.ready = False
                self._log(None, h.id, "Marking host not ready")
        self._assign_free(hosts, now)
        for h in hosts:  # 425-491 `check_active_tasks` (disabled hosts are skipped: their tasks stay)
            for t in self.tasks.values():
                if t.host_id != h.id:
                    continue
                if t.state == OPEN and (h.update_ts is None or now - h.update_ts > self.HOST_TIMEOUT):
                    self._release(t)
                    self._end_runs(t.id)
                    self._log(t.id, h.id, "Freeing task from unresponsive host")
                elif t.state == ASSIGNED and t.assign_ts is not None and now - t.assign_ts > self.ASSIGN_TIMEOUT:
                    if h.update_ts is not None and h.update_ts > t.assign_ts:  # 458-462: implicit refusal
                        self.refusals.append({"id": self._next("refusal"), "task_id": t.id, "host_id": h.id,
                                              "by_host": False, "soft": True, "msg": "assignment timeout",
                                              "ts": now})
                    self._release(t)
                    self._log(t.id, h.id, "Task assignment timeout")

    def _assign_free(self, hosts: list[HostRec], now: float) -> None:
        """kojihub/scheduler.py 339-420 `do_schedule`, rule by rule."""
        load = {h.id: 0.0 for h in hosts}
        jobs = {h.id: 0 for h in hosts}
        for t in self.tasks.values():  # 344-357: active tasks; a waiting task's weight does not count
            if t.state in (ASSIGNED, OPEN) and t.host_id in load:
                load[t.host_id] += 0.0 if t.waiting else t.weight
                jobs[t.host_id] += 1
        maxjobs = {h.id: (h.data or {}).get("maxjobs") or self.MAX_JOBS for h in hosts}  # 363-367
        live = {(r["task_id"], r["host_id"]) for r in self.refusals  # 576-598: soft ones expire
                if not r["soft"] or r["ts"] >= now - self.SOFT_REFUSAL_TIMEOUT}
        free = sorted((t for t in self.tasks.values() if t.state == FREE),
                      key=lambda t: (t.priority, t.create_ts, t.id))[:self.FREE_TASK_LIMIT]  # 550-562
        demand = {h.id: 0.0 for h in hosts}
        options = {}
        for t in free:  # 374-393: the hosts that could take it at the start of the run
            min_avail = max(0.0, t.weight - self.OVERCOMMIT)
            options[t.id] = [h for h in hosts  # 600-614: bins are channel x (host arches + noarch)
                             if t.channel_id in h.channels and t.arch in h.arches.split() + ["noarch"]
                             and h.ready and jobs[h.id] < maxjobs[h.id]
                             and h.capacity - load[h.id] > min_avail and (t.id, h.id) not in live]
            for h in options[t.id]:
                demand[h.id] += t.weight / len(options[t.id])
        total = sum(demand.values())  # 395-398: normalised to 1
        if total > 0.0:
            demand = {hid: d / total for hid, d in demand.items()}

        def rank(h: HostRec) -> float:  # 422-423 `_rank_host`
            return load[h.id] + jobs[h.id] + demand[h.id]

        for t in free:  # 401-420: in priority order, the lowest-ranked option with room
            min_avail = max(0.0, t.weight - self.OVERCOMMIT)
            for h in sorted(options[t.id], key=rank):
                if h.capacity - load[h.id] > min_avail and jobs[h.id] < maxjobs[h.id]:
                    t.state, t.host_id, t.assign_ts = ASSIGNED, h.id, now
                    load[h.id] += t.weight
                    jobs[h.id] += 1
                    self.runs.append({"id": self._next("run"), "task_id": t.id, "host_id": h.id, "active": True,
                                      "create_ts": now})
                    self._log(t.id, h.id, "Assigning task")
                    break

    def m_scheduler_getTaskRuns(self, ctx, clauses=None, fields=None, opts=None):
        # koji 1.35.3 scheduler.py TaskRunsQuery: task fields come from a join on task; opts are
        # QueryProcessor's (order by field names, '-' for descending; limit)
        rows = []
        for r in self.runs:
            if not _match(r, clauses):
                continue
            row = dict(r)
            if fields:
                t = self.tasks.get(r["task_id"])
                h = self.hosts.get(r["host_id"])
                row.update(method=t.method if t else None, state=t.state if t else None,
                           arch=t.arch if t else None, channel_id=t.channel_id if t else None,
                           start_ts=t.start_ts if t else None, completion_ts=t.completion_ts if t else None,
                           host_name=h.name if h else None)
                row = {k: row[k] for k in fields if k in row}
            rows.append(row)
        opts = opts or {}
        for key in reversed((opts.get("order") or "id").split(",")):
            column = key.lstrip("-")
            rows.sort(key=lambda r, k=column: (r.get(k) is None, r.get(k)), reverse=key.startswith("-"))
        if opts.get("limit") is not None:
            rows = rows[:opts["limit"]]
        return rows

    def m_scheduler_getLogMessages(self, ctx, clauses=None, fields=None):
        return [dict(r) for r in self.logs if _match(r, clauses)]

    def m_scheduler_getTaskRefusals(self, ctx, clauses=None, fields=None):
        return [dict(r) for r in self.refusals if _match(r, clauses)]

    def m_scheduler_getHostData(self, ctx, hostID=None):
        return [{"host_id": h.id, "data": h.data} for h in self.hosts.values()
                if h.data is not None and (hostID is None or h.id == hostID)]

    # --- host.* (a builder's own session) ---------------------------------------------------

    def m_host_getID(self, ctx):
        return self._host_ctx(ctx).id

    def m_host_getHost(self, ctx):
        return self._host_row(self._host_ctx(ctx))

    def m_host_isEnabled(self, ctx):
        return self._host_ctx(ctx).enabled

    def m_host_updateHost(self, ctx, task_load, ready, data=None):
        h = self._host_ctx(ctx)
        h.task_load, h.ready, h.update_ts = float(task_load), bool(ready), self.clock()
        if data is not None:
            h.data = data

    def m_host_setHostData(self, ctx, hostdata):
        self._host_ctx(ctx).data = hostdata

    def m_host_getHostTasks(self, ctx):
        h = self._host_ctx(ctx)
        return [{"id": t.id, "waiting": t.waiting, "weight": t.weight} for t in self.tasks.values()
                if t.host_id == h.id and t.state == OPEN]

    def m_host_getTasks(self, ctx):
        h = self._host_ctx(ctx)
        mine = [t for t in self.tasks.values() if t.host_id == h.id and t.state == ASSIGNED]
        if not mine and h.enabled and (self.last_run is None or self.clock() - self.last_run >= self.RUN_INTERVAL):
            self.run_scheduler()
            mine = [t for t in self.tasks.values() if t.host_id == h.id and t.state == ASSIGNED]
        if not h.enabled:
            return []
        mine.sort(key=lambda t: (t.priority, t.create_ts))
        return [{"id": t.id, "state": t.state, "channel_id": t.channel_id, "host_id": t.host_id, "arch": t.arch,
                 "method": t.method, "priority": t.priority, "create_ts": t.create_ts} for t in mine]

    def _own(self, h: HostRec, task_id: int) -> TaskRec:
        t = self._task(task_id)
        if t.host_id != h.id or t.state != OPEN:
            raise not_allowed(f"host {h.id} does not own task {task_id}")
        return t

    def m_host_openTask(self, ctx, task_id):
        h = self._host_ctx(ctx)
        t = self._task(task_id)
        if t.state == ASSIGNED and t.host_id != h.id:
            return None
        if t.state not in (FREE, ASSIGNED):
            return None
        t.state, t.host_id, t.start_ts = OPEN, h.id, self.clock()
        return self._task_row(t, request="xml")

    def m_host_closeTask(self, ctx, task_id, response):
        t = self._own(self._host_ctx(ctx), task_id)
        t.state, t.result, t.completion_ts = CLOSED, response, self.clock()

    def m_host_failTask(self, ctx, task_id, response):
        t = self._own(self._host_ctx(ctx), task_id)
        t.state, t.result, t.completion_ts = FAILED, response, self.clock()

    def m_host_freeTasks(self, ctx, tasks):
        h = self._host_ctx(ctx)
        for tid in tasks:
            t = self.tasks.get(tid)
            if t is not None and t.host_id == h.id and t.state in (OPEN, ASSIGNED):
                self._release(t)

    def m_host_refuseTask(self, ctx, task_id, soft=True, msg=""):
        h = self._host_ctx(ctx)
        t = self._task(task_id)
        if t.host_id == h.id and t.state == ASSIGNED:
            self._release(t)
        self.refusals.append({"id": self._next("refusal"), "task_id": t.id, "host_id": h.id, "by_host": True,
                              "soft": soft, "msg": msg, "ts": self.clock()})
        self._log(t.id, h.id, f"Host refused task: {msg}")

    def m_host_setTaskWeight(self, ctx, task_id, weight):
        self._own(self._host_ctx(ctx), task_id).weight = float(weight)

    def m_host_subtask(self, ctx, method, arglist, parent, **opts):
        h = self._host_ctx(ctx)
        p = self._own(h, parent)
        label = opts.get("label")
        if label is not None:
            for t in self.tasks.values():
                if t.parent == p.id and t.label == label:
                    return t.id
        return self._new_task(method, arglist, p.owner, arch=opts.get("arch", "noarch"), channel=opts.get("channel"),
                              priority=p.priority - 1, parent=p.id, label=label)

    def m_host_taskSetWait(self, ctx, parent, tasks):
        self._own(self._host_ctx(ctx), parent).waiting = True
        for tid in tasks or [t.id for t in self.tasks.values() if t.parent == parent]:
            self.tasks[tid].awaited = True

    def m_host_taskWait(self, ctx, parent):
        self._host_ctx(ctx)
        kids = [t for t in self.tasks.values() if t.parent == parent and t.awaited]
        done = [t.id for t in kids if t.state in (CLOSED, CANCELED, FAILED)]
        if len(done) == len(kids):
            self.tasks[parent].waiting = False
            for t in kids:
                t.awaited = False
        return [done, [t.id for t in kids if t.id not in done]]

    def m_host_taskWaitResults(self, ctx, parent, tasks, canfail=None):
        self._host_ctx(ctx)
        return [[tid, xmlrpc.client.loads(self.tasks[tid].result)[0][0]] for tid in tasks]

    def m_host_getLoadData(self, ctx):
        self._host_ctx(ctx)
        hosts = [dict(self._host_row(h), channels=sorted(h.channels)) for h in self.hosts.values()
                 if h.enabled and h.ready]
        tasks = [{"id": t.id, "state": t.state, "channel_id": t.channel_id, "host_id": t.host_id, "arch": t.arch,
                  "method": t.method, "priority": t.priority, "create_ts": t.create_ts}
                 for t in self.tasks.values() if t.state in (FREE, ASSIGNED)]
        return [hosts, tasks]


_STATE_NAMES = {FREE: "FREE", OPEN: "OPEN", CLOSED: "CLOSED", CANCELED: "CANCELED", ASSIGNED: "ASSIGNED",
                FAILED: "FAILED"}


def _match(row: dict, clauses: list | None) -> bool:
    for col, op, value in clauses or []:
        if op.upper() == "IN" and row.get(col) not in value:
            return False
        if op == "=" and row.get(col) != value:
            return False
    return True


def _int_opt(value: int | None, want: Any) -> bool:
    """listTasks' int options: a list means IN, None means IS NULL, else =."""
    if isinstance(want, list):
        return value in want
    return value == want


def _split_kwargs(params: tuple) -> tuple[list, dict]:
    args = list(params)
    if args and isinstance(args[-1], dict) and args[-1].get("__starstar"):
        kwargs = dict(args.pop())
        del kwargs["__starstar"]
        return args, kwargs
    return args, {}


class _Handler(http.server.BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        cpu = time.thread_time()
        try:
            self._post()
        finally:
            with self.hub.lock:
                self.hub.traffic.cpu_seconds += time.thread_time() - cpu

    def _post(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.hub.lock:
            self.hub.traffic.requests += 1
            self.hub.traffic.bytes_in += len(body)
        try:
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            if "filename" in query:  # koji's rawUpload: raw bytes, arguments in the query string
                ctx = self.hub.context(self.headers.get("Koji-Session-Id"), self.headers.get("Koji-Session-Key"),
                                       "rawUpload")
                payload = xmlrpc.client.dumps((self.hub.upload(ctx, query, body),), methodresponse=True,
                                              allow_none=True)
                return self._reply(payload)
            params, method = xmlrpc.client.loads(body, use_builtin_types=True)
            args, kwargs = _split_kwargs(params)
            if self.path.rstrip("/").endswith("/ssllogin"):
                result = self._ssl_login()
            else:
                ctx = self.hub.context(self.headers.get("Koji-Session-Id"), self.headers.get("Koji-Session-Key"),
                                       method)
                result = self.hub.dispatch(ctx, method, args, kwargs)
            payload = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True)
        except Fault as f:
            payload = xmlrpc.client.dumps(xmlrpc.client.Fault(f.code, f.string), methodresponse=True, allow_none=True)
        except Exception as exc:  # a bug in the fake: answer like the hub's raw-exception fault
            payload = xmlrpc.client.dumps(xmlrpc.client.Fault(1, f"<class '{type(exc).__name__}'>: {exc}"),
                                          methodresponse=True, allow_none=True)
        self._reply(payload)

    def _reply(self, payload: str) -> None:
        data = payload.encode()
        with self.hub.lock:
            self.hub.traffic.bytes_out += len(data)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _ssl_login(self) -> dict:
        cert = self.connection.getpeercert()
        if not cert:
            raise auth_error("No client certificate")
        subject = dict(x[0] for x in cert["subject"])
        issuer = dict(x[0] for x in cert["issuer"])
        return self.hub.login(subject["commonName"], issuer.get("commonName", ""))
