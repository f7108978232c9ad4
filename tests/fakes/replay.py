"""Replay the recorded koji 1.35.3 calls (`recordings/transcripts.jsonl`) against a FakeHub.

`seed(hub, records)` loads the `initial-state` scenario into the fake; `Replayer.run()` then plays
every other record as its caller (anonymous, admin, hostperm, host:NAME) and compares the fake's
answer with the real one. Placeholders in the recording (`<host:NAME>`, `<task:LABEL>`, `<ts>`,
`<run#N>`, ...) are bound to the fake's values on first sight and must stay consistent.
Calls go to `FakeHub.dispatch` in-process (the HTTPS path is exercised by the end-to-end tests).
"""

import json
import re
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .kojihub import FakeHub, Fault, HostRec, TaskRec

#: the real hub's answers, recorded (tests/fakes/recordings/README.md says where they come from)
RECORDINGS = Path(__file__).resolve().parent / "recordings"
TRANSCRIPTS = RECORDINGS / "transcripts.jsonl"
FAULT_CLASSES = {1: "Fault", 1000: "GenericError", 1002: "AuthError", 1004: "ActionNotAllowed", 1005: "BuildError",
                 1006: "AuthLockError", 1019: "ParameterError"}
IDENTITY = {"admin": "kojiadmin", "hostperm": "kojictl"}
UNORDERED = {"listHosts", "getTaskChildren", "host.getHostTasks"}
PLACEHOLDER = re.compile(r"<(host|user|channel|task):([^>]+)>|<(run|logmsg|refusal|session)#(\d+)>")
#: the long silence of the disabled-host scenario (between its steps 38 and 39)
SILENCE = ("disabled-host", "39", 930.0)


def load(path: Path = TRANSCRIPTS) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


class Clock:
    """A manual clock: each replayed call advances it by one second."""

    def __init__(self, start: float = 1_795_600_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Outcome:
    record: dict
    ok: bool
    why: str = ""


@dataclass
class Replayer:
    hub: FakeHub
    clock: Clock
    bind: dict[str, Any] = field(default_factory=dict)  # placeholder -> fake value
    sessions: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # identity -> [(sid, key)]

    # --- placeholders -------------------------------------------------------------------------

    def subst(self, value: Any) -> Any:
        """Replace bound placeholders in call arguments."""
        if isinstance(value, str):
            if value in self.bind:
                return self.bind[value]
            if value == "<task:missing>":
                return 999999
            return PLACEHOLDER.sub(lambda m: str(self.bind.get(m.group(0), m.group(0))), value)
        if isinstance(value, list):
            return [self.subst(v) for v in value]
        if isinstance(value, dict):
            return {k: self.subst(v) for k, v in value.items()}
        return value

    def match(self, exp: Any, act: Any, bind: dict[str, Any], unordered: bool = False) -> str | None:
        """None when `act` matches `exp` (binding new placeholders into `bind`), else why not."""
        if isinstance(exp, str):
            if exp == "<ts>":
                return None if isinstance(act, (int, float)) and not isinstance(act, bool) else f"{act!r} is no ts"
            if exp == "<time>":
                return None if isinstance(act, str) else f"{act!r} is no time"
            if exp == "<redacted>" or exp == "<traceback>":
                return None
            if PLACEHOLDER.fullmatch(exp):
                if exp in bind:
                    return None if bind[exp] == act else f"{exp} is {bind[exp]!r}, got {act!r}"
                if exp == "<task:missing>":
                    return None if act == 999999 else f"missing task {act!r}"
                kind = exp.split(":")[0].split("#")[0]
                if any(k.startswith(kind) and v == act for k, v in bind.items()):
                    return f"{act!r} already bound to another {kind}"
                bind[exp] = act
                return None
            if isinstance(act, str):
                act = act.replace("cli-build/&lt;upload&gt;", "cli-build/<upload>")
            if PLACEHOLDER.search(exp) and isinstance(act, str):
                return None if re.fullmatch(_regex(exp, bind), act, re.S) else f"{act!r} != {exp!r}"
        if isinstance(exp, float) and isinstance(act, (int, float)):
            return None if abs(exp - act) < 1e-6 else f"{act!r} != {exp!r}"
        if isinstance(exp, dict):
            if not isinstance(act, dict):
                return f"{act!r} is not a struct"
            if set(exp) != set(act):
                return f"keys differ: missing {sorted(set(exp) - set(act))}, extra {sorted(set(act) - set(exp))}"
            for k in sorted(exp):
                why = self.match(exp[k], act[k], bind)
                if why:
                    return f"{k}: {why}"
            return None
        if isinstance(exp, list):
            if not isinstance(act, list) or len(exp) != len(act):
                return f"list {act!r:.200} != {exp!r:.200}"
            if not unordered:
                for i, (e, a) in enumerate(zip(exp, act, strict=True)):
                    why = self.match(e, a, bind)
                    if why:
                        return f"[{i}] {why}"
                return None
            left = list(act)
            for e in exp:
                for a in left:
                    trial = dict(bind)
                    if self.match(e, a, trial) is None:
                        bind.update(trial)
                        left.remove(a)
                        break
                else:
                    return f"no element matches {e!r:.200}"
            return None
        return None if exp == act else f"{act!r:.200} != {exp!r:.200}"

    # --- calls --------------------------------------------------------------------------------

    def _session(self, who: str, step: str) -> tuple[str | None, str | None]:
        if who == "anonymous":
            return None, None
        stack = self.sessions.get(who, [])
        if not stack:
            return None, None
        sid, key = stack[-2] if "old-session" in step and len(stack) > 1 else stack[-1]
        return str(sid), key

    def call(self, rec: dict) -> tuple[Any, Fault | None]:
        who, method = rec["as"], rec["method"]
        args, kwargs = self.subst(rec["args"]), self.subst(rec["kwargs"])
        try:
            if method == "sslLogin":
                cn = who.split(":", 1)[1] if who.startswith("host:") else IDENTITY[who]
                info = self.hub.login(cn)
                self.sessions.setdefault(who, []).append((info["session-id"], info["session-key"]))
                return info, None
            sid, key = self._session(who, rec["step"])
            ctx = self.hub.context(sid, key, method)
            if method == "multiCall":
                res = self.hub.dispatch(ctx, method, args, kwargs)
                return [r if isinstance(r, list) else dict(r, traceback="<traceback>") for r in res], None
            return self.hub.dispatch(ctx, method, args, kwargs), None
        except Fault as f:
            return None, f

    def play(self, rec: dict) -> Outcome:
        if rec["scenario"] == SILENCE[0] and rec["step"].startswith(SILENCE[1] + "-"):
            self.clock.now += SILENCE[2]
        self.clock.now += 0.5
        if rec["method"] == "uploadWrapper":
            return Outcome(rec, True, "client-side upload, not a hub call")
        result, fault = self.call(rec)
        bind = dict(self.bind)
        if "fault" in rec:
            exp = rec["fault"]
            if fault is None:
                return Outcome(rec, False, f"expected {exp['class']}, got result {result!r:.200}")
            if FAULT_CLASSES.get(fault.code, "Fault") != exp["class"] or fault.code != exp["code"]:
                return Outcome(rec, False, f"fault {fault.code} {fault.string!r} != {exp['code']} {exp['string']!r}")
            why = self.match(exp["string"], fault.string, bind) if exp["code"] != 1 else None
            self.bind = bind
            return Outcome(rec, True, f"string differs: {why}" if why else "")
        if fault is not None:
            return Outcome(rec, False, f"unexpected fault {fault.code} {fault.string!r}")
        unordered = rec["method"] in UNORDERED or (rec["method"] == "listTasks" and
                                                   not (rec["kwargs"].get("queryOpts") or {}).get("order"))
        why = self.match(rec["result"], result, bind, unordered)
        if why is None:
            self.bind = bind
        return Outcome(rec, why is None, why or "")


def _regex(exp: str, bind: dict[str, Any]) -> str:
    out, pos = [], 0
    for m in PLACEHOLDER.finditer(exp):
        out.append(re.escape(exp[pos:m.start()]))
        out.append(re.escape(str(bind[m.group(0)])) if m.group(0) in bind else r"\d+")
        pos = m.end()
    out.append(re.escape(exp[pos:]))
    return "".join(out)


def seed(hub: FakeHub, records: list[dict], replayer: Replayer) -> None:
    """Load the `initial-state` scenario (users, perms, hosts, channels, tasks) into `hub`."""
    init = {r["step"].split("-", 1)[1]: r for r in records if r["scenario"] == "initial-state"}
    perms = {r["args"][0]: r["result"] for r in records if r["scenario"] == "initial-state"
             and r["method"] == "getUserPerms"}
    b = replayer.bind
    for cid, name in hub.channels.items():
        b[f"<channel:{name}>"] = cid
    for u in init["listUsers"]["result"]:
        b[u["id"]] = hub.seed_user(u["name"], tuple(perms.get(u["id"], [])), u["usertype"])
    for h in init["listHosts"]["result"]:
        chans = next(r["result"] for r in records if r["scenario"] == "initial-state" and r["method"] == "listChannels"
                     and r["kwargs"].get("hostID") == h["id"])
        hid = hub.seed_host(h["name"], h["arches"], tuple(c["name"] for c in chans), h["capacity"], h["enabled"])
        rec: HostRec = hub.hosts[hid]
        rec.comment, rec.description, rec.ready = h["comment"], h["description"], h["ready"]
        rec.update_ts = hub.clock() - 3600 if h["update_ts"] is not None else None
        b[h["id"]], b[h["user_id"]] = hid, rec.user_id
    data = next(r for r in records if r["scenario"] == "initial-state" and r["method"] == "scheduler.getHostData")
    for row in data["result"]:
        hub.hosts[b[row["host_id"]]].data = row["data"]
    for t in init["listTasks-all"]["result"]:
        tid = hub._next("task")
        b[t["id"]] = tid
        rec_t = TaskRec(tid, t["method"], xmlrpc.client.dumps(tuple(t["request"]), t["method"], allow_none=True),
                        b[t["owner"]], b[t["channel_id"]], arch=t["arch"], state=t["state"], priority=t["priority"],
                        weight=t["weight"], parent=b.get(t["parent"]), label=t["label"],
                        host_id=b.get(t["host_id"]), create_ts=hub.clock() - 600,
                        waiting=t["waiting"], awaited=t["awaited"])
        if t["start_ts"] is not None:
            rec_t.start_ts = hub.clock() - 500
        if t["completion_ts"] is not None:
            rec_t.completion_ts = hub.clock() - 400
        if t["result"] is not None:
            rec_t.result = t["result"] if isinstance(t["result"], str) else xmlrpc.client.dumps(
                (t["result"],), methodresponse=True, allow_none=True)
        hub.tasks[tid] = rec_t
    for p in init["getAllPerms"]["result"]:
        hub.perm_descriptions[p["name"]] = p["description"]
    hub.targets = [dict(t) for t in init["getBuildTargets"]["result"]]
    for row in init["scheduler.getTaskRuns"]["result"]:
        hub.runs.append(dict(row, id=hub._next("run"), task_id=b[row["task_id"]], host_id=b[row["host_id"]],
                             create_ts=hub.clock() - 550))
    for row in init["scheduler.getLogMessages"]["result"]:
        hub.logs.append(dict(row, id=hub._next("log"), task_id=b[row["task_id"]], host_id=b[row["host_id"]],
                             msg_ts=hub.clock() - 550))
    hub.last_run = hub.clock() - 3600
