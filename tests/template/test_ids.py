"""kojistack/ids.py is true (issue 13 item 2): it declares every logical ID the templates contain
(resources and outputs, of both variants of every config in support/configs.py) and nothing else."""

from __future__ import annotations

import inspect

from kojistack import ids

HELPERS = {"arch_title"}  # builds parts of IDs, names none


def declared() -> dict[str, set[str]]:
    """{constant or function name: the logical IDs it declares} (functions: every index and arch)."""
    out: dict[str, set[str]] = {}
    for name, value in vars(ids).items():
        if name.isupper() and isinstance(value, str):
            out[name] = {value}
        elif inspect.isfunction(value) and value.__module__ == ids.__name__ and name not in HELPERS:
            (param,) = inspect.signature(value).parameters
            args = range(3) if param == "i" else ("x86_64", "aarch64")
            out[name] = {value(a) for a in args}
    return out


def in_templates(templates) -> set[str]:
    return {lid for t in templates.values() for section in ("Resources", "Outputs") for lid in t.get(section, {})}


def test_every_logical_id_of_every_template_is_declared(templates):
    known = set().union(*declared().values())
    missing = sorted(in_templates(templates) - known)
    assert not missing, f"logical IDs typed inline, not declared in kojistack/ids.py: {missing}"


def test_every_declaration_names_something_in_a_template(templates):
    present = in_templates(templates)
    idle = sorted(name for name, lids in declared().items() if not lids & present)
    assert not idle, f"kojistack/ids.py declares IDs no template contains: {idle}"


def test_ids_declares_nothing_but_logical_ids():
    others = sorted(name for name, value in vars(ids).items()
                    if name.isupper() and not isinstance(value, (str, tuple)))
    assert not others
    assert all(isinstance(v, str) and v.isalnum() for v in ids.STATEFUL)
    assert all(v.isalnum() for lids in declared().values() for v in lids), "a name, not a logical ID"


def test_parameters_are_referred_to_by_their_constants(templates):
    """No `p.ref("Name")`, `Ref("Name")` or `{"Ref": "Name"}` of a parameter typed again: each
    parameter name is declared once in kojistack/template/parameters.py."""
    import re

    from support.paths import REPO

    params = {name for t in templates.values() for name in t.get("Parameters", {})}
    typed = []
    for path in sorted((REPO / "kojistack" / "template").glob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for name in re.findall(r'(?:\.ref\(|\bRef\(|\{"Ref": )"(\w+)"', line):
                if name in params:
                    typed.append(f"{path.name}:{n}: {name}")
    assert not typed, typed
