"""The systemd units and their ordering (review finding 10): the bootstrap runs on every boot
before httpd, kojira, kojid and the controller; readiness runs after httpd and kojira; nothing a
script starts synchronously is ordered after that script's own unit (which would deadlock)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from kojistack import names

from .conftest import BIN, CLOUD_INIT, HUB_FILES

UNITS = HUB_FILES / "systemd"
BOOTSTRAP_UNIT = CLOUD_INIT / "user-data" / "common" / names.UNIT_BOOTSTRAP


def parse(path: Path) -> dict[str, list[str]]:
    """'Section.Key' -> values (systemd allows repeated keys and space-separated lists)."""
    out: dict[str, list[str]] = defaultdict(list)
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        out[f"{section}.{key}"].append(value)
    return out


def words(unit: dict[str, list[str]], key: str) -> set[str]:
    return {w for value in unit.get(key, []) for w in value.split()}


def all_units() -> dict[str, dict[str, list[str]]]:
    """Unit name -> merged settings (unit file + kojistack drop-ins)."""
    units: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in [BOOTSTRAP_UNIT, *UNITS.glob("*.service"), *UNITS.glob("*.timer"), *UNITS.glob("*.d/*.conf")]:
        name = path.parent.name[:-2] if path.parent.name.endswith(".d") else path.name
        for key, values in parse(path).items():
            units[name][key] += values
    return units


def test_bootstrap_unit_runs_every_boot_before_the_services():
    unit = parse(BOOTSTRAP_UNIT)
    assert unit["Service.Type"] == ["oneshot"] and unit["Service.RemainAfterExit"] == ["yes"]
    assert {"network-online.target", "remote-fs.target"} <= words(unit, "Unit.After")
    assert "network-online.target" in words(unit, "Unit.Wants")
    assert {names.UNIT_HTTPD, names.UNIT_KOJIRA, names.UNIT_KOJID, names.UNIT_CONTROLLER,
            names.UNIT_READY} <= words(unit, "Unit.Before")
    assert unit["Install.WantedBy"] == ["multi-user.target"]
    assert unit["Service.EnvironmentFile"] == ["/etc/kojistack/stack.env"]
    assert unit["Service.ExecStartPre"] == ["/usr/local/sbin/kojistack-fetch-payload"]
    assert unit["Service.ExecStart"] == ["/opt/kojistack/files/bin/kojistack-bootstrap"]
    assert unit["Service.ExecStopPost"] == ["/usr/local/sbin/kojistack-report exit %n"]


@pytest.mark.parametrize("service", [names.UNIT_HTTPD, names.UNIT_KOJIRA, names.UNIT_KOJID])
def test_services_need_this_boots_bootstrap(service: str):
    unit = all_units()[service]
    assert names.UNIT_BOOTSTRAP in words(unit, "Unit.Requires")
    assert names.UNIT_BOOTSTRAP in words(unit, "Unit.After")


def test_readiness_after_httpd_and_kojira_and_the_controller_only_ordered_after_it():
    units = all_units()
    ready = units[names.UNIT_READY]
    assert {names.UNIT_BOOTSTRAP, names.UNIT_HTTPD, names.UNIT_KOJIRA} <= words(ready, "Unit.After")
    assert names.UNIT_BOOTSTRAP in words(ready, "Unit.Requires")
    assert ready["Service.ExecStopPost"] == ["/usr/local/sbin/kojistack-report exit %n"]
    controller = units[names.UNIT_CONTROLLER]
    assert names.UNIT_READY in words(controller, "Unit.After")
    # a failed readiness run (smoke test, a refused signal) must not keep the controller down
    # (issue 11 item 1): it needs the bootstrap, not the readiness unit
    assert names.UNIT_BOOTSTRAP in words(controller, "Unit.Requires")
    assert not {names.UNIT_READY} & (words(controller, "Unit.Requires") | words(controller, "Unit.BindsTo")
                                              | words(controller, "Unit.Requisite"))


def ordering_edges() -> set[tuple[str, str]]:
    """(earlier, later) pairs from every After= and Before=."""
    edges = set()
    for name, unit in all_units().items():
        edges |= {(other, name) for other in words(unit, "Unit.After")}
        edges |= {(name, other) for other in words(unit, "Unit.Before")}
    return edges


def ordered_after(first: str, edges: set[tuple[str, str]]) -> set[str]:
    later, todo = set(), [first]
    while todo:
        node = todo.pop()
        for a, b in edges:
            if a == node and b not in later:
                later.add(b)
                todo.append(b)
    return later


def test_ordering_has_no_cycle():
    edges = ordering_edges()
    for name in all_units():
        assert name not in ordered_after(name, edges), f"{name} is ordered after itself"


def _unit_words(words: str) -> list[str]:
    """Unit names of a systemctl command line: "$KOJISTACK_UNIT_X" is names.env's UNIT_X."""
    units = names.units()
    out = []
    for w in words.split():
        m = re.fullmatch(r'"?\$KOJISTACK_(UNIT_\w+)"?', w)
        out.append(units[m.group(1)] if m else w)
    return out


@pytest.mark.parametrize("script, own_unit", [("kojistack-bootstrap", names.UNIT_BOOTSTRAP),
                                              ("kojistack-ready", names.UNIT_READY)])
def test_no_blocking_start_of_a_unit_ordered_after_the_caller(script: str, own_unit: str):
    text = (BIN / script).read_text()
    blocking = [u for w in re.findall(r"systemctl start (?!--no-block)([^;\n]+)", text) for u in _unit_words(w)]
    queued = [u for w in re.findall(r"systemctl start --no-block ([^;\n]+)", text) for u in _unit_words(w)]
    later = ordered_after(own_unit, ordering_edges())
    assert not [u for u in blocking if u in later], f"{script} would deadlock on {blocking}"
    assert queued and all(u in later for u in queued)


def test_timers_are_enabled_by_the_bootstrap():
    text = (BIN / "kojistack-bootstrap").read_text()
    for timer in ("UNIT_KOJI_SWEEP_DB_TIMER", "UNIT_KOJI_GC_TIMER", "UNIT_PRUNE_TIMER"):
        assert f'"$KOJISTACK_{timer}"' in text
    prune = all_units()[names.UNIT_PRUNE_TIMER]
    assert prune["Timer.OnCalendar"] == ["daily"] and prune["Install.WantedBy"] == ["timers.target"]
