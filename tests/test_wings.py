"""The arrows between wings that must never exist (docs/architecture.md, "Never arrows"):

- the template wing never imports ops, controller, sim or cli (generation stays pure and offline);
- the controller imports nothing else of kojistack (it is shipped alone to the hub, Python 3.9);
- the simulator imports only the controller's decisions, the errors module and the shared names
  (kojistack/names.py: constants only, no imports; the channels it simulates are the stack's).

Imports are read with `ast` (also the ones inside functions), relative ones resolved to absolute names.
"""

from __future__ import annotations

import ast

import pytest

from support.paths import REPO

PKG = REPO / "kojistack"


def module_name(path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """Absolute names of the kojistack modules `source` (module `module`) imports."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[:len(base) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from pkg import mod` may name a module: keep both spellings
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}
    return {n for n in found if n == "kojistack" or n.startswith("kojistack.")}


def wing_imports(wing: str) -> dict[str, set[str]]:
    out = {}
    for path in sorted((PKG / wing).rglob("*.py")):
        out[module_name(path)] = imports(path.read_text(), module_name(path), path.name == "__init__.py")
    return out


def is_module(name: str) -> bool:
    rel = name.split(".")
    return (REPO.joinpath(*rel).with_suffix(".py")).exists() or (REPO.joinpath(*rel) / "__init__.py").exists()


def violations(wing: str, allowed) -> list[str]:
    bad = []
    for mod, names in wing_imports(wing).items():
        for name in sorted(names):
            if is_module(name) and not allowed(name):
                bad.append(f"{mod} imports {name}")
    return bad


def test_the_template_never_imports_ops_controller_sim_or_cli():
    forbidden = ("kojistack.ops", "kojistack.controller", "kojistack.sim", "kojistack.cli")
    assert violations("template", lambda n: not n.startswith(forbidden)) == []


def test_the_controller_imports_nothing_else_of_kojistack():
    assert violations("controller", lambda n: n.startswith("kojistack.controller")) == []


def test_the_simulator_imports_only_the_decisions_errors_and_names():
    allowed = ("kojistack.sim", "kojistack.controller.decide", "kojistack.errors", "kojistack.names")
    assert violations("sim", lambda n: n == "kojistack" or n == "kojistack.controller"
                      or n.startswith(allowed)) == []


@pytest.mark.parametrize("source, module, expected", [
    ("from ..ops import deploy", "kojistack.template.hub", {"kojistack.ops", "kojistack.ops.deploy"}),
    ("def f():\n    from kojistack.controller.loop import run", "kojistack.sim.run",
     {"kojistack.controller.loop", "kojistack.controller.loop.run"}),
    ("import json\nfrom . import decide", "kojistack.controller.loop",
     {"kojistack.controller", "kojistack.controller.decide"}),
])
def test_imports_are_resolved_so_a_forbidden_arrow_would_be_seen(source, module, expected):
    assert imports(source, module) == expected


def test_the_shared_names_import_nothing():
    """kojistack/names.py is a leaf (every wing may read it, and tests/realhub loads it by path)."""
    tree = ast.parse((PKG / "names.py").read_text())
    imported = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
    assert imported == []
