"""The command table in kojistack/cli/__init__.py is how a newcomer finds a command's code: hold it true."""

from __future__ import annotations

import re
from pathlib import Path

import click

import kojistack
from cli.commands import leaf_commands
from kojistack import cli

PACKAGE = Path(kojistack.__file__).parent
ROW = re.compile(r"^    ([a-z][a-z -]*?)\s{2,}(cli/\S+\.py)\s+(\S+\.py)$")


def table_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in cli.__doc__.splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def module_file(command: click.Command) -> str:
    return command.callback.__module__.removeprefix("kojistack.").replace(".", "/") + ".py"


def test_every_command_has_one_row_and_every_row_a_command():
    assert set(table_rows()) == set(leaf_commands())


def test_each_row_names_the_module_that_defines_the_command():
    commands = leaf_commands()
    wrong = {name: (defined, module_file(commands[name]))
             for name, (defined, _) in table_rows().items() if module_file(commands[name]) != defined}
    assert not wrong


def test_each_row_names_a_module_that_exists():
    missing = [work for _, work in table_rows().values() if not (PACKAGE / work).is_file()]
    assert not missing


def test_groups_list_every_top_level_command_once():
    listed = [c.name for commands in cli.GROUPS.values() for c in commands]
    assert sorted(listed) == sorted(cli.main.commands)
    for group, commands in cli.GROUPS.items():
        assert {c.callback.__module__ for c in commands} == {f"kojistack.cli.{group}"}, group
