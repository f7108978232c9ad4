"""How many httpd threads the hub may run: one PostgreSQL connection per thread (koji.md §9),
so ServerLimit x ThreadsPerChild stays below the DB class's max_connections minus headroom; and
how many tasks the hub's own kojid may hold (light and createrepo channels), from its memory.

RDS PostgreSQL sets max_connections = LEAST(DBInstanceClassMemory / 9531392, 5000). The class
memory RDS counts is less than the nominal memory (the OS and RDS processes take a share), so the
table below uses 80% of the nominal memory: a conservative estimate, never an overestimate.
"""

from __future__ import annotations

from typing import NamedTuple

_BYTES_PER_CONNECTION = 9531392
_RDS_CAP = 5000
_COUNTED_SHARE = 0.8
HEADROOM_MIN = 20  # rds_superuser reserved slots, koji-sweep-db, the bootstrap's psql, an operator
HEADROOM_SHARE = 0.10
THREADS_PER_CHILD = 25
MAX_WORKERS = 400  # more threads than this do not help a single hub instance

_SIZE_VCPUS = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32,
               "12xlarge": 48, "16xlarge": 64, "24xlarge": 96}
_BURSTABLE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
_GIB_PER_VCPU = {"m5": 4, "m6g": 4, "m6i": 4, "m7g": 4, "m7i": 4,
                 "r5": 8, "r6g": 8, "r6i": 8, "r7g": 8, "r7i": 8}


def _memory_table() -> dict[str, int]:
    table = {}
    for family in ("t3", "t4g"):
        for size, gib in _BURSTABLE_GIB.items():
            table[f"db.{family}.{size}"] = gib
    for family, per_vcpu in _GIB_PER_VCPU.items():
        for size, vcpus in _SIZE_VCPUS.items():
            table[f"db.{family}.{size}"] = vcpus * per_vcpu
    return table


MEMORY_GIB = _memory_table()


def max_connections(db_class: str) -> int:
    """Estimated max_connections of an RDS PostgreSQL class; ValueError for an unknown class."""
    try:
        gib = MEMORY_GIB[db_class]
    except KeyError:
        raise ValueError(f"unknown database class {db_class!r}: add it to kojistack_hub/sizing.py "
                         f"(known: {', '.join(sorted(MEMORY_GIB))})") from None
    return min(_RDS_CAP, int(gib * (1 << 30) * _COUNTED_SHARE) // _BYTES_PER_CONNECTION)


class HttpdLimits(NamedTuple):
    server_limit: int
    threads_per_child: int
    max_request_workers: int


def httpd_limits(db_class: str) -> HttpdLimits:
    """MPM limits for a hub whose database is `db_class`."""
    connections = max_connections(db_class)
    headroom = max(HEADROOM_MIN, int(connections * HEADROOM_SHARE))
    workers = min(MAX_WORKERS, connections - headroom)
    if workers < 1:
        raise ValueError(f"database class {db_class} allows too few connections ({connections})")
    per_child = min(THREADS_PER_CHILD, workers)
    servers = workers // per_child
    return HttpdLimits(servers, per_child, servers * per_child)


# The hub's own kojid holds every build parent while it waits for its children: one forked kojid
# process each (koji/daemon.py forkTask; a waiting task sleeps in signal.pause()), and waiting
# parents count towards maxjobs (daemon.py readyForTask: len(self.tasks) >= maxjobs). So the
# number of builds in flight is set by memory, not by a fixed maxjobs. A forked child of a Python
# process that imported koji measured 11 MiB private memory here (docs/simulator.md); kojid
# loads more, so 24 MiB is the design figure. The reserve covers httpd (kojihub, kojiweb),
# kojira, the controller and kojid's own main process.
LIGHT_TASK_MIB = 24
HUB_RESERVE_MIB = 3072
LIGHT_MAXJOBS_MIN = 50          # what the hub shipped with before: never fewer


def light_slots(mem_total_kib: int) -> int:
    """maxjobs (and capacity) of the hub's kojid for a machine with `mem_total_kib` (MemTotal)."""
    free_mib = mem_total_kib // 1024 - HUB_RESERVE_MIB
    return max(LIGHT_MAXJOBS_MIN, free_mib // LIGHT_TASK_MIB)


def mem_total_kib(meminfo: str) -> int:
    """MemTotal from /proc/meminfo text; ValueError when it is missing."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    raise ValueError("MemTotal not found in /proc/meminfo")
