"""`make bench`: one controller observation (kojiport.KojiPort.observe, what loop.Controller.observe
asks of Koji) against the fake hub at 1k, 10k and 100k active tasks with 1,000 builders, 100 of
them idle (issue 14 item 4: budget 2 s of hub CPU and 50 MB moved). Printed, never asserted.

The fake hub runs in this process over HTTPS on loopback; "hub CPU" is the CPU time of its request
threads (XML-RPC parsing, the method, marshalling), "moved" the request and response bodies,
"controller CPU" the rest of this process's CPU time over the observation, "peak memory" the
tracemalloc peak of a second observation (the fake hub's allocations for its answers included).
"""

import tempfile
import time
import tracemalloc

from fakes.kojihub import OPEN, FakeHub
from fakes.pki import TestPki
from kojistack.controller.kojiport import KojiPort
from kojistack.names import HUB_HOST, USER_CONTROLLER
from support.channels import BUILDER_CHANNELS, HUB_CHANNELS

BUILDERS = 1000
IDLE = 100
ARCHES = ("x86_64", "aarch64")
PREFIX = {"x86_64": "x86-64", "aarch64": "aarch64"}


def _hub(pki: TestPki, active: int) -> tuple:
    hub = FakeHub.start(pki, clock=time.time)
    hub.seed_user(USER_CONTROLLER, ("host", "admin"))
    hub.seed_user("kojiadmin", ("admin",))
    hub.seed_host(HUB_HOST, "x86_64 aarch64", ("createrepo", "light"), capacity=2.0)
    names = []
    for i in range(BUILDERS):
        arch = ARCHES[i % 2]
        name = f"{PREFIX[arch]}-{i // 2 + 1:04d}"
        hub.seed_host(name, arch, ("default",), capacity=4.0)
        names.append((name, arch))
    busy = names[:BUILDERS - IDLE]
    running = min(active // 2, 2 * len(busy))
    for n in range(running):  # two tasks on each busy builder, as far as they go
        name, arch = busy[n % len(busy)]
        hub.seed_task("buildArch", arch=arch, weight=1.5, state=OPEN, host=name)
    for n in range(active - running):  # the queue: FREE buildArch and a few noarch
        hub.seed_task("buildArch", arch=("x86_64", "aarch64", "noarch")[n % 3])
    idle = [name for name, _ in names[BUILDERS - IDLE:]]
    with hub.lock:
        for k, name in enumerate(idle):  # each idle builder ran one task before
            tid = hub.seed_task("buildArch", arch="x86_64")
            hub.tasks[tid].state, hub.tasks[tid].completion_ts = 2, time.time() - 60
            hub.runs.append({"id": 10_000_000 + k, "task_id": tid, "host_id": hub.host_named(name).id,
                             "active": False, "create_ts": time.time() - 600})
    return hub, frozenset(idle)


def measure(active: int, pki: TestPki) -> dict:
    hub, idle = _hub(pki, active)
    port = KojiPort(hub.url, pki.client(USER_CONTROLLER), pki.ca_pem, BUILDER_CHANNELS)
    try:
        port._s()
        t0 = hub.traffic
        before = (t0.requests, t0.bytes_in + t0.bytes_out, t0.cpu_seconds)
        cpu, wall = time.process_time(), time.perf_counter()
        tasks, hosts = port.observe(idle, ARCHES, HUB_CHANNELS)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        t = hub.traffic
        hub_cpu = t.cpu_seconds - before[2]
        out = {"active": active, "tasks": len(tasks), "hosts": len(hosts), "requests": t.requests - before[0],
               "moved": t.bytes_in + t.bytes_out - before[1], "hub_cpu": hub_cpu,
               "ctl_cpu": max(0.0, cpu - hub_cpu), "wall": wall}
        tracemalloc.start()
        port.observe(idle, ARCHES, HUB_CHANNELS)
        out["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out
    finally:
        port.close()
        hub.stop()


def main() -> None:
    print(f"controller observation, fake hub, {BUILDERS:,} builders ({IDLE} idle); budget 2 s hub CPU, 50 MB moved:")
    with tempfile.TemporaryDirectory() as tmp:
        pki = TestPki.create(tmp)
        for active in (1_000, 10_000, 100_000):
            r = measure(active, pki)
            print(f"  {r['active']:>7,} active tasks: {r['requests']} requests, {r['moved'] / 1e6:.2f} MB moved, "
                  f"hub CPU {r['hub_cpu']:.2f} s, controller CPU {r['ctl_cpu']:.2f} s, wall {r['wall']:.2f} s, "
                  f"peak memory {r['peak'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
