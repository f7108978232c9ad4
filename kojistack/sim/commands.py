"""CLI commands of the simulator wing; `register(main)` adds them to the kojistack command group."""

import click


def register(main: click.Group) -> None:
    """Add the simulator commands to `main`."""
