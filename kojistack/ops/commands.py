"""CLI commands of the ops wing; `register(main)` adds them to the kojistack command group."""

import click


def register(main: click.Group) -> None:
    """Add the ops commands to `main`."""
