"""The controller's Koji port: the few hub calls it makes, over the koji client library.

Reads are anonymous-shaped calls on the controller's own session; writes need the `host`
permission (addHost, editHost, enable/disableHost, addHostToChannel, removeHostFromChannel) and,
only for repair, `admin` (freeTask, scheduler.doRun). A light host is registered in the light
channel only (`register`). `CALLS` lists every method used here; the fake hub's replay test checks
each against the recorded real hub.
"""

import logging
from collections.abc import Sequence, Set
from typing import Optional

import koji

from .decide import ASSIGNED, FREE, NOARCH, OPEN, Host, Registration, Task, slot_arch

log = logging.getLogger(__name__)

#: every hub method this module calls (the replay test covers each)
CALLS = ("sslLogin", "logout", "multiCall", "listTasks", "listHosts", "listChannels", "scheduler.getTaskRuns",
         "getHost", "addHost", "enableHost", "editHost", "addHostToChannel", "removeHostFromChannel",
         "disableHost", "freeTask", "scheduler.doRun")


#: channel name of the FREE tasks counted in channels neither the builders nor the hub serve
UNSERVED_CHANNEL = "(unserved)"
#: arch of the FREE tasks counted whose arch no builder group has
OTHER_ARCH = "(other)"


def _run_end(rows: Sequence[dict]) -> Optional[float]:
    """When the latest task run of a host ended: its task's completion (or start), else the run's creation."""
    if not rows:
        return None
    r = rows[0]
    return r.get("completion_ts") or r.get("start_ts") or r.get("create_ts")


class KojiPort:
    """A logged-in session of the controller's koji user (names.env USER_CONTROLLER, perms host + admin)."""

    def __init__(self, url: str, cert: str, serverca: str, channels: Sequence[str]):
        self.url, self.cert, self.serverca = url, cert, serverca
        self.channels = tuple(channels)
        self.session: Optional[koji.ClientSession] = None

    def _s(self) -> koji.ClientSession:
        if self.session is None or not self.session.logged_in:
            session = koji.ClientSession(self.url, {"serverca": self.serverca, "max_retries": 2,
                                                    "retry_interval": 2, "timeout": 60})
            session.ssl_login(cert=self.cert, serverca=self.serverca)
            self.session = session
        return self.session

    def close(self) -> None:
        """Log out (a restart then starts a fresh session)."""
        if self.session is not None and self.session.logged_in:
            self.session.logout()
        self.session = None

    # --- observe ----------------------------------------------------------------------------

    def observe(self, idle_candidates: Set[str] = frozenset(), arches: Sequence[str] = (),
                hub_channels: Sequence[str] = (), light_channel: Optional[str] = None
                ) -> tuple[tuple[Task, ...], tuple[Host, ...]]:
        """Active tasks (FREE, OPEN, ASSIGNED) and all hosts; for the hosts named in
        `idle_candidates` (builders in service) with no active task, when their last task ended.

        Two multicalls, each one HTTP request, ask only for what the decisions read:
        1. listChannels, listHosts;
        2. the hosts of the light channel (listHosts(channelID=…): the hub's kojid and light hosts);
           the OPEN/ASSIGNED tasks (rows: the decisions read each one's host, weight, waiting);
           the FREE tasks that were ever started (rows: freeTask and a host timeout keep the
           weight kojid set at open, koji/daemon.py `setTaskWeight`, and the start_time,
           kojihub.py Task.free); counts of FREE tasks per builder channel and arch in `arches`
           (plus noarch), per hub channel, and for every other channel per arch; for each idle
           candidate its latest scheduler task run (scheduler.getTaskRuns, a few fields).
        A FREE task that never started weighs 1.0 (schema.sql: task.weight DEFAULT 1.0; only
        host.setTaskWeight changes it, on an OPEN task) and waits on nothing, so counts say all
        the decisions read of it; they stand in as identical Task values (id 0, method "?").
        `listTasks` rows carry each task's request and result (kojihub.py listTasks always selects
        them), about 2.4 KB a task: asking for rows only for running work keeps one loop's traffic
        at the size of the fleet, not of the queue.
        """
        s = self._s()
        with s.multicall(strict=True) as m:
            chan_call, hosts_call = m.listChannels(), m.listHosts()
        channels = {c["id"]: c["name"] for c in chan_call.result}
        host_rows = hosts_call.result
        names = {h["id"]: h["name"] for h in host_rows}
        ids = {n: i for i, n in names.items()}
        by_name = {n: i for i, n in channels.items()}
        builder_ids = sorted(by_name[c] for c in self.channels if c in by_name)
        hub_ids = sorted(by_name[c] for c in hub_channels if c in by_name and by_name[c] not in builder_ids)
        known = sorted(set(arches) | {NOARCH})
        counts = []  # (channel name, arch, call)
        with s.multicall(strict=True) as m:
            light_call = (m.listHosts(channelID=by_name[light_channel])
                          if light_channel is not None and light_channel in by_name else None)
            running_call = m.listTasks(opts={"state": [OPEN, ASSIGNED]}, queryOpts={"order": "id"})
            refreed_call = m.listTasks(opts={"state": [FREE], "startedAfter": 0}, queryOpts={"order": "id"})
            for cid in builder_ids:
                for arch in known:
                    counts.append((channels[cid], arch, m.listTasks(
                        opts={"state": [FREE], "channel_id": cid, "arch": [arch]}, queryOpts={"countOnly": True})))
                counts.append((channels[cid], OTHER_ARCH, m.listTasks(
                    opts={"state": [FREE], "channel_id": cid, "not_arch": known}, queryOpts={"countOnly": True})))
            for cid in hub_ids:
                counts.append((channels[cid], NOARCH, m.listTasks(
                    opts={"state": [FREE], "channel_id": cid}, queryOpts={"countOnly": True})))
            # an empty list would be "NOT IN ()", a syntax error on the hub (the recorded state=[] fault)
            rest = {"not_channel_id": builder_ids + hub_ids} if builder_ids or hub_ids else {}
            for arch in known:
                counts.append((UNSERVED_CHANNEL, arch, m.listTasks(
                    opts={"state": [FREE], "arch": [arch], **rest}, queryOpts={"countOnly": True})))
            counts.append((UNSERVED_CHANNEL, OTHER_ARCH, m.listTasks(
                opts={"state": [FREE], "not_arch": known, **rest}, queryOpts={"countOnly": True})))
            run_calls = {}
            for name in sorted(idle_candidates):
                if name in ids and slot_arch(name):
                    run_calls[name] = m.scheduler.getTaskRuns(
                        [["host_id", "=", ids[name]]], ["host_id", "create_ts", "start_ts", "completion_ts"],
                        {"order": "-id", "limit": 1})
        rows = list(running_call.result) + list(refreed_call.result)
        tasks = [
            Task(id=r["id"], method=r["method"], arch=r["arch"], channel=channels.get(r["channel_id"], "?"),
                 state=r["state"], weight=float(r["weight"] or 0.0), host=names.get(r["host_id"]),
                 waiting=bool(r["waiting"]))
            for r in rows]
        started: dict[tuple[str, str], int] = {}  # (channel group, arch group) -> FREE rows already listed
        for r in refreed_call.result:
            cid = r["channel_id"]
            group = channels.get(cid, "?") if cid in builder_ids or cid in hub_ids else UNSERVED_CHANNEL
            arch = NOARCH if cid in hub_ids else (r["arch"] if r["arch"] in known else OTHER_ARCH)
            started[(group, arch)] = started.get((group, arch), 0) + 1
        for channel, arch, call in counts:
            n = int(call.result) - started.get((channel, arch), 0)
            if n > 0:
                tasks.extend((Task(id=0, method="?", arch=arch, channel=channel, state=FREE, weight=1.0),) * n)
        busy = {t.host for t in tasks if t.host}
        light = {h["id"] for h in light_call.result} if light_call is not None else set()
        hosts = []
        for h in sorted(host_rows, key=lambda h: h["name"]):
            last = None
            if h["name"] in run_calls and h["name"] not in busy:
                last = _run_end(run_calls[h["name"]].result)
            hosts.append(Host(name=h["name"], enabled=bool(h["enabled"]), ready=bool(h["ready"]),
                              capacity=float(h["capacity"]), last_task_end=last, light=h["id"] in light))
        return tuple(tasks), tuple(hosts)

    # --- act --------------------------------------------------------------------------------

    def register(self, reg: Registration, instance_id: str) -> None:
        """Make slot `reg.slot` a working, enabled host of its arch in its channels.

        `addHost(force=True)` converts a user that a too-early builder login created (koji.md §9);
        a slot used before is re-enabled (hosts cannot be deleted). A builder joins the builders'
        channels; a light host (`reg.channels`) joins those and leaves every other one, `default`
        first of all (addHost subscribes every new host to it: koji-1.35.3 kojihub/kojihub.py
        HostExports.addHost, the "host_channels entry" of the `default` channel; the recorded
        removeHostFromChannel returns None, koji-api register-host step 16). The host's kojid has no
        certificate yet, so nothing is assigned to it meanwhile. Idempotent.
        """
        s = self._s()
        arch = reg.koji_arch or reg.arch
        host = s.getHost(reg.slot)
        if host is None:
            s.addHost(reg.slot, [arch], force=True)
            host = s.getHost(reg.slot, strict=True)
        else:
            s.enableHost(reg.slot)
        kind = "light host" if reg.channels else "builder"
        s.editHost(reg.slot, capacity=reg.capacity, arches=arch, comment=f"kojistack {kind} {instance_id}")
        have = {c["name"] for c in s.listChannels(hostID=host["id"])}
        want = reg.channels or self.channels
        for channel in want:
            if channel not in have:
                s.addHostToChannel(reg.slot, channel)
        if reg.channels:
            for channel in sorted(have - set(want)):
                s.removeHostFromChannel(reg.slot, channel)

    def disable(self, name: str) -> None:
        """disableHost: the scheduler gives it nothing more; running tasks continue."""
        self._s().disableHost(name)

    def enable(self, name: str) -> None:
        """enableHost: a drain called off; the scheduler gives the host work again."""
        self._s().enableHost(name)

    def run_scheduler(self) -> None:
        """scheduler.doRun(force=True) (admin): assign FREE tasks now, not at the next RunInterval."""
        self._s().scheduler.doRun(force=True)

    def free(self, task_ids: Sequence[int]) -> list[int]:
        """freeTask (admin) each task, then one forced scheduler run; returns the ids freed."""
        s = self._s()
        freed = []
        for tid in task_ids:
            try:
                s.freeTask(tid)
                freed.append(tid)
            except koji.GenericError as exc:  # already FREE ("No such task") or finished meanwhile
                log.info("freeTask %s: %s", tid, exc)
        if freed:
            s.scheduler.doRun(force=True)
        return freed
