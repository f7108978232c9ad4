"""The kojistack command line. Find any command's code in this table:

    command             defined in (kojistack/)   does its work in (kojistack/)
    generate            cli/templates.py          template/compose.py
    lint                cli/templates.py          checks/lint.py
    check               cli/templates.py          checks/__init__.py
    diagram             cli/templates.py          ops/diagram.py
    upload              cli/publish.py            ops/upload.py
    launch-url          cli/publish.py            ops/launch.py
    deploy              cli/stack.py              ops/deploy.py
    status              cli/stack.py              ops/status.py
    urls                cli/stack.py              ops/urls.py
    logs                cli/stack.py              ops/logs.py
    delete              cli/stack.py              ops/delete.py
    client-config       cli/access.py             ops/clientconfig.py
    user add            cli/access.py             ops/users.py
    user list           cli/access.py             ops/users.py
    user revoke         cli/access.py             ops/users.py
    chaos               cli/drills.py             ops/chaos.py
    rotate-admin-cert   cli/drills.py             ops/rotate.py
    simulate            cli/sim.py                sim/run.py
    trace               cli/sim.py                sim/trace.py

Options several commands share (--stack-name, --profile/--region: always the AWS ones, the build-time
config flags) are in cli/options.py; timeouts are in minutes everywhere.
A new command goes into the module of its group, is added to GROUPS below and gets a row above;
tests/cli/test_table.py holds the table to the commands and the files.
"""

from __future__ import annotations

import logging
import sys
import traceback

import click

from .. import __version__
from ..errors import OperationError, UserError
from . import access, drills, publish, sim, stack, templates


class KojistackGroup(click.Group):
    """Turns UserError into a one-line message and exit status 2, OperationError into exit 1."""

    def invoke(self, ctx: click.Context):  # noqa: D102
        try:
            return super().invoke(ctx)
        except (UserError, OperationError) as err:
            if ctx.params.get("debug"):
                traceback.print_exc()
            word = "error" if isinstance(err, UserError) else "failed"
            click.echo(f"kojistack: {word}: {err}", err=True)
            sys.exit(err.exit_code)


@click.group(cls=KojistackGroup)
@click.version_option(__version__, prog_name="kojistack")
@click.option("--debug", is_flag=True,
              help="Also print the Python traceback of an error, and log every AWS request on stderr.")
def main(debug: bool) -> None:
    """Generate, check and operate a push-button Koji build system on AWS.

    Exit status: 0 done; 1 an operation on AWS or the hub failed; 2 the input was wrong or you
    declined a prompt (nothing was changed).
    """
    if debug:
        logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("botocore").setLevel(logging.DEBUG)


# Every top-level command, by the module that defines it (the order `kojistack --help` does not keep:
# click lists commands alphabetically).
GROUPS: dict[str, list[click.Command]] = {
    "templates": [templates.generate, templates.lint, templates.check, templates.diagram],
    "publish": [publish.upload, publish.launch_url],
    "stack": [stack.deploy, stack.status, stack.urls, stack.logs, stack.delete],
    "access": [access.client_config, access.user],
    "drills": [drills.chaos, drills.rotate_admin_cert],
    "sim": [sim.simulate, sim.trace],
}

for _commands in GROUPS.values():
    for _command in _commands:
        main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
