"""Task traces: export from any Koji hub through its anonymous API, and replay as a workload.

Export (`kojistack trace`): `listChannels()` for channel names, then `listTasks(opts={'createdAfter':
since}, queryOpts={'order': 'id', 'offset': n, 'limit': PAGE})` page by page, written as CSV.

Replay (`kojistack simulate --trace`): the tasks are re-routed by kojistack's shipped channel
policy (coordination methods to the light channel, buildArch/buildSRPMFromSCM/rebuildSRPM to
default, children follow their parent, newRepo/createrepo stay on the hub), because a hub without
that policy ran its parents on builders. A parent spawns all its children after its own work
(the time from its start to its first child's creation); sequential children (SRPM, then
buildArch) therefore overlap in the replay. Tasks that never started, or whose arch no builder
group serves (x86_64, aarch64, noarch), are left out and counted in the workload's notes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .. import names
from .workloads import PRIO_DEFAULT, TaskSpec, Workload

FIELDS = ("id", "method", "arch", "channel", "weight", "parent", "state", "priority",
          "create_ts", "start_ts", "completion_ts")
PAGE = 1000
LIGHT_METHODS = frozenset({"build", "chainbuild", "waitrepo", "tagBuild", "tagNotification",
                           "buildNotification", "dependantTask"})
DEFAULT_METHODS = frozenset({"buildArch", "buildSRPMFromSCM", "rebuildSRPM"})
HUB_METHODS = frozenset({"newRepo", "createrepo", "createdistrepo", "distRepo"})
SERVED_ARCHES = frozenset({"x86_64", "aarch64", "noarch"})


class TraceError(ValueError):
    """A trace file the simulator cannot read; the message names the line."""


def export_rows(session, since_ts: float, page: int | None = None) -> list[dict]:
    """Every task created after `since_ts` (seconds since the epoch), oldest first."""
    page = page or PAGE
    channels = {c["id"]: c["name"] for c in session.listChannels()}
    rows: list[dict] = []
    offset = 0
    while True:
        batch = session.listTasks(opts={"createdAfter": since_ts},
                                  queryOpts={"order": "id", "offset": offset, "limit": page})
        for t in batch:
            if t.get("create_ts") is not None and t["create_ts"] <= since_ts:
                continue
            rows.append({
                "id": t["id"], "method": t["method"], "arch": t["arch"],
                "channel": channels.get(t["channel_id"], str(t["channel_id"])), "weight": t["weight"],
                "parent": t["parent"], "state": t["state"], "priority": t["priority"],
                "create_ts": t["create_ts"], "start_ts": t["start_ts"], "completion_ts": t["completion_ts"],
            })
        if len(batch) < page:
            return rows
        offset += page


def write_csv(rows: list[dict], out) -> None:
    """CSV with a header of FIELDS; empty cells for None."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(FIELDS)
    for r in rows:
        w.writerow(["" if r[k] is None else r[k] for k in FIELDS])


def read_csv(text: str) -> list[dict]:
    """Rows of a trace CSV, typed; TraceError names the bad line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [f for f in FIELDS if f not in (reader.fieldnames or [])]
    if missing:
        raise TraceError(f"trace header lacks column(s) {', '.join(missing)}; expected {','.join(FIELDS)}")
    rows = []
    for n, raw in enumerate(reader, start=2):
        try:
            rows.append({
                "id": int(raw["id"]), "method": raw["method"], "arch": raw["arch"], "channel": raw["channel"],
                "weight": float(raw["weight"]), "parent": int(raw["parent"]) if raw["parent"] else None,
                "state": int(raw["state"]), "priority": int(raw["priority"]) if raw["priority"] else PRIO_DEFAULT,
                "create_ts": float(raw["create_ts"]),
                "start_ts": float(raw["start_ts"]) if raw["start_ts"] else None,
                "completion_ts": float(raw["completion_ts"]) if raw["completion_ts"] else None,
            })
        except (TypeError, ValueError) as err:
            raise TraceError(f"trace line {n}: {err}") from None
    return rows


def _channel(row: dict, parent_channel: str | None) -> str:
    if row["method"] in LIGHT_METHODS:
        return names.CHANNEL_LIGHT
    if row["method"] in DEFAULT_METHODS:
        return names.CHANNEL_DEFAULT
    if row["method"] in HUB_METHODS or row["channel"] == names.CHANNEL_CREATEREPO:
        return names.CHANNEL_CREATEREPO
    return parent_channel or names.CHANNEL_DEFAULT


@dataclass
class _Replay:
    by_id: dict
    children: dict
    skipped: dict

    def spec(self, row: dict, parent_channel: str | None, t0: float) -> TaskSpec | None:
        if row["start_ts"] is None or row["completion_ts"] is None:
            self.skipped["never ran"] = self.skipped.get("never ran", 0) + 1
            return None
        if row["arch"] not in SERVED_ARCHES:
            self.skipped[f"arch {row['arch']}"] = self.skipped.get(f"arch {row['arch']}", 0) + 1
            return None
        channel = _channel(row, parent_channel)
        kids = [k for k in (self.spec(c, channel, t0) for c in self.children.get(row["id"], [])) if k]
        own = row["completion_ts"] - row["start_ts"]
        post = 0.0
        if kids:
            started = [c for c in self.children[row["id"]] if c["completion_ts"] is not None]
            first = min(c["create_ts"] for c in self.children[row["id"]])
            last = max((c["completion_ts"] for c in started), default=row["completion_ts"])
            own, post = max(0.0, first - row["start_ts"]), max(0.0, row["completion_ts"] - last)
        return TaskSpec(row["method"], row["arch"], channel, max(0.0, own), row["weight"],
                        arrival_s=row["create_ts"] - t0, priority=row["priority"], post_s=post,
                        children=tuple(kids))


def workload_from_rows(rows: list[dict], name: str = "trace", max_per_arch: int = 50) -> Workload:
    """A replayable workload: top-level tasks (no parent in the trace) arrive at their create time."""
    if not rows:
        raise TraceError("the trace holds no tasks")
    by_id = {r["id"]: r for r in rows}
    children: dict[int, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r["id"]):
        if r["parent"] in by_id:
            children.setdefault(r["parent"], []).append(r)
    replay = _Replay(by_id, children, {})
    t0 = min(r["create_ts"] for r in rows)
    tops = [replay.spec(r, None, t0) for r in sorted(rows, key=lambda r: (r["create_ts"], r["id"]))
            if r["parent"] not in by_id]
    tasks = tuple(t for t in tops if t is not None)
    notes = tuple(f"left out {n} task(s): {why}" for why, n in sorted(replay.skipped.items()))
    horizon = max((t.arrival_s for t in tasks), default=0.0)
    return Workload(name, 0, tasks, max_per_arch, horizon, notes)


def load_trace(path: Path, max_per_arch: int = 50) -> Workload:
    """Read a trace CSV written by `kojistack trace`."""
    return workload_from_rows(read_csv(path.read_text()), path.name, max_per_arch)
