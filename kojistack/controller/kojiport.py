"""The controller's Koji port: the few hub calls it makes, over the koji client library.

Reads are anonymous-shaped calls on the controller's own session; writes need the `host`
permission (addHost, editHost, enable/disableHost, addHostToChannel) and, only for repair,
`admin` (freeTask, scheduler.doRun). `CALLS` lists every method used here; the fake hub's replay
test checks each against the recorded real hub.
"""

import logging
from typing import AbstractSet, List, Optional, Sequence, Tuple

import koji

from .decide import ASSIGNED, FREE, OPEN, Host, Registration, Task, slot_arch

log = logging.getLogger(__name__)

#: every hub method this module calls (the replay test covers each)
CALLS = ("sslLogin", "logout", "listTasks", "listHosts", "listChannels", "getHost", "addHost", "enableHost",
         "editHost", "addHostToChannel", "disableHost", "freeTask", "scheduler.doRun")


class KojiPort:
    """A logged-in session of the controller's koji user (`kojistack-ctl`, perms host + admin)."""

    def __init__(self, url: str, cert: str, serverca: str, channels: Sequence[str] = ("default",)):
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

    def observe(self, idle_candidates: AbstractSet[str] = frozenset()) -> Tuple[Tuple[Task, ...], Tuple[Host, ...]]:
        """Active tasks (FREE, OPEN, ASSIGNED) and all hosts; for the hosts named in
        `idle_candidates` (builders in service) with no active task, when their last task ended."""
        s = self._s()
        channels = {c["id"]: c["name"] for c in s.listChannels()}
        host_rows = s.listHosts()
        names = {h["id"]: h["name"] for h in host_rows}
        rows = s.listTasks(opts={"state": [FREE, OPEN, ASSIGNED]}, queryOpts={"order": "id"})
        tasks = tuple(
            Task(id=r["id"], method=r["method"], arch=r["arch"], channel=channels.get(r["channel_id"], "?"),
                 state=r["state"], weight=float(r["weight"] or 0.0), host=names.get(r["host_id"]),
                 waiting=bool(r["waiting"]))
            for r in rows)
        busy = {t.host for t in tasks if t.host}
        hosts = []
        for h in sorted(host_rows, key=lambda h: h["name"]):
            last = None
            if h["name"] in idle_candidates and slot_arch(h["name"]) and h["name"] not in busy:
                last = self._last_task_end(h["id"])
            hosts.append(Host(name=h["name"], enabled=bool(h["enabled"]), ready=bool(h["ready"]),
                              capacity=float(h["capacity"]), last_task_end=last))
        return tasks, tuple(hosts)

    def _last_task_end(self, host_id: int) -> Optional[float]:
        rows = self._s().listTasks(opts={"host_id": host_id}, queryOpts={"order": "-id", "limit": 1})
        if not rows:
            return None
        return rows[0].get("completion_ts") or rows[0].get("start_ts") or rows[0].get("create_ts")

    # --- act --------------------------------------------------------------------------------

    def register(self, reg: Registration, instance_id: str) -> None:
        """Make slot `reg.slot` a working, enabled host of `reg.arch` in the builders' channels.

        `addHost(force=True)` converts a user that a too-early builder login created (koji.md §9);
        a slot used before is re-enabled (hosts cannot be deleted). Idempotent.
        """
        s = self._s()
        host = s.getHost(reg.slot)
        if host is None:
            s.addHost(reg.slot, [reg.arch], force=True)
            host = s.getHost(reg.slot, strict=True)
        else:
            s.enableHost(reg.slot)
        s.editHost(reg.slot, capacity=reg.capacity, arches=reg.arch, comment=f"kojistack builder {instance_id}")
        have = {c["name"] for c in s.listChannels(hostID=host["id"])}
        for channel in self.channels:
            if channel not in have:
                s.addHostToChannel(reg.slot, channel)

    def disable(self, name: str) -> None:
        """disableHost: the scheduler gives it nothing more; running tasks continue."""
        self._s().disableHost(name)

    def enable(self, name: str) -> None:
        """enableHost: a drain called off; the scheduler gives the host work again."""
        self._s().enableHost(name)

    def run_scheduler(self) -> None:
        """scheduler.doRun(force=True) (admin): assign FREE tasks now, not at the next RunInterval."""
        self._s().scheduler.doRun(force=True)

    def free(self, task_ids: Sequence[int]) -> List[int]:
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
