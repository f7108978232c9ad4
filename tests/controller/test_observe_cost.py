"""The controller's observation costs what the decisions read, not what the queue holds
(issue 14 item 4): a fixed number of HTTP requests whatever the fleet, no task rows for a FREE
backlog, and the same picture (per channel, arch, state: the weights) as the full listing.

Against the fake hub, whose listTasks/getTaskRuns options follow koji 1.35.3's kojihub.py listTasks
and scheduler.py TaskRunsQuery; the replay test holds the recorded calls (countOnly, multiCall,
scheduler.getTaskRuns) to the real hub's answers.
"""

from collections import Counter

import pytest

from fakes.kojihub import FREE, OPEN, FakeHub
from fakes.pki import TestPki
from kojistack import names
from kojistack.controller.kojiport import KojiPort
from support.channels import BUILDER_CHANNELS, HUB_CHANNELS

ARCHES = ("x86_64", "aarch64")
HUB_HOST = names.HUB_HOST  # (the tests below keep a list called names)


@pytest.fixture
def hub(tmp_path):
    pki = TestPki.create(str(tmp_path))
    h = FakeHub.start(pki, clock=lambda: 1_800_000_000.0)
    h.seed_user(names.USER_CONTROLLER, ("host", "admin"))
    h.seed_user("kojiadmin", ("admin",))
    h.seed_host(names.HUB_HOST, "x86_64 aarch64", HUB_CHANNELS, capacity=2.0)
    h.port = KojiPort(h.url, pki.client(names.USER_CONTROLLER), pki.ca_pem, BUILDER_CHANNELS)
    yield h
    h.port.close()
    h.stop()


def _slots(hub, n):
    names = [f"x86-64-{i:02d}" for i in range(1, n + 1)]
    for name in names:
        hub.seed_host(name, "x86_64", ("default",), capacity=4.0)
    return names


def _observe(hub, idle=frozenset()):
    hub.port._s()  # log in first: the budget is one loop's
    before = (hub.traffic.requests, hub.traffic.bytes_out)
    tasks, hosts = hub.port.observe(idle, ARCHES, HUB_CHANNELS)
    return tasks, hosts, hub.traffic.requests - before[0], hub.traffic.bytes_out - before[1]


def test_idle_builders_add_no_requests(hub):
    """Was 3 requests plus one listTasks per idle builder (33 here)."""
    names = _slots(hub, 30)
    for _ in range(5):
        hub.seed_task("buildArch", arch="x86_64")
    _, hosts, requests, _ = _observe(hub, frozenset(names))
    assert requests == 2
    assert sum(1 for h in hosts if h.name in names) == 30


def test_a_free_backlog_moves_no_task_rows(hub):
    """2,000 FREE tasks: the full listing moved about 2.4 KB each (4.8 MB); counts move a few KB."""
    _slots(hub, 4)
    for i in range(2000):
        hub.seed_task("buildArch", arch=("x86_64", "aarch64", "noarch")[i % 3])
    tasks, _, _, moved = _observe(hub)
    assert len(tasks) == 2000
    assert moved < 40_000


def test_the_picture_is_the_full_listings(hub):
    """Per (channel, arch, state, host, waiting): the same tasks and weights as listTasks' rows,
    including a task freed after kojid set its weight (Task.free keeps weight and start_time)."""
    names = _slots(hub, 3)
    for i in range(12):
        hub.seed_task("buildArch", arch=("x86_64", "aarch64", "noarch", "ppc64le")[i % 4])
    hub.seed_task("buildArch", arch="x86_64", channel="maven")      # a channel nobody serves
    hub.seed_task("build")                                           # light channel, FREE
    parent = hub.seed_task("build", state=OPEN, host=HUB_HOST)
    with hub.lock:
        hub.tasks[parent].waiting = True
    hub.seed_task("buildArch", arch="x86_64", weight=2.5, state=OPEN, host=names[0])
    refreed = hub.seed_task("buildArch", arch="aarch64", weight=4.5, state=OPEN, host=names[1])
    with hub.lock:  # as freeTask does it (kojihub.py Task.free: state and host only)
        hub.tasks[refreed].state, hub.tasks[refreed].host_id = FREE, None
    tasks, _, _, _ = _observe(hub)

    channel = {cid: name for cid, name in hub.channels.items()}
    hosts = {h.id: h.name for h in hub.hosts.values()}
    with hub.lock:
        truth = [t for t in hub.tasks.values() if t.state in (0, 1, 4)]

    def served(channel_name, arch):
        if channel_name in HUB_CHANNELS:
            return channel_name, "noarch"
        if channel_name != "default":
            channel_name = "(unserved)"
        return channel_name, arch if arch in ARCHES + ("noarch",) else "(other)"

    def key(ch, arch, state, weight, host, waiting, started):
        if state == FREE and not started:
            ch, arch = served(ch, arch)
        return ch, arch, state, weight, host, bool(waiting)

    want = Counter(key(channel[t.channel_id], t.arch, t.state, t.weight, hosts.get(t.host_id), t.waiting,
                       t.start_ts is not None) for t in truth)
    got = Counter(key(t.channel, t.arch, t.state, t.weight, t.host, t.waiting, t.id != 0) for t in tasks)
    assert got == want


def test_last_task_end_from_the_latest_run(hub):
    names = _slots(hub, 2)
    done = hub.seed_task("buildArch", arch="x86_64")
    with hub.lock:
        hub.tasks[done].state, hub.tasks[done].completion_ts = 2, 1_799_999_000.0
        hub.runs.append({"id": 1, "task_id": done, "host_id": hub.host_named(names[0]).id, "active": False,
                         "create_ts": 1_799_990_000.0})
    _, hosts, _, _ = _observe(hub, frozenset(names))
    ends = {h.name: h.last_task_end for h in hosts}
    assert ends[names[0]] == 1_799_999_000.0
    assert ends[names[1]] is None
