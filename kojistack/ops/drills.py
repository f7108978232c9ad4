"""CLI commands for resilience drills and credential rotation; `register(main)` adds them."""

import click


def register(main: click.Group) -> None:
    """Add the drill commands (chaos, rotate-admin-cert) to `main`."""
