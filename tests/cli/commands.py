"""Every leaf command of `kojistack`, by its full name ('user add'), as `kojistack --help` offers them."""

from __future__ import annotations

import click

from kojistack import cli


def leaf_commands() -> dict[str, click.Command]:
    found = {}
    for name, command in cli.main.commands.items():
        if isinstance(command, click.Group):
            found.update({f"{name} {sub}": c for sub, c in command.commands.items()})
        else:
            found[name] = command
    return found
