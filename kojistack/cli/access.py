"""Commands that give people access to a stack's hub: client-config, user add / list / revoke."""

from __future__ import annotations

import re

import click

from ..errors import UserError
from ..ops.session import Aws
from .options import aws_options, stack_name_option


@click.command("client-config")
@stack_name_option
@click.option("--koji-profile", default=None, help="koji profile to write (default: the stack name).")
@click.option("--user", default=None, help="Write the profile of a user made by `kojistack user add` "
                                          "instead of the admin.")
@click.option("--force", is_flag=True, help="Replace an existing profile of that name.")
@aws_options
def client_config(aws: Aws, stack: str, koji_profile: str | None, user: str | None, force: bool) -> None:
    """Write a koji client profile (certs 0600), a PKCS#12 for the browser and the stack CA."""
    from ..ops.clientconfig import client_config as write_profile

    profile = koji_profile or stack
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", profile):
        raise UserError(f"--koji-profile {profile!r}: use letters, digits, '.', '_' and '-'")
    written = write_profile(aws, stack, profile, user, force)
    for path in sorted(written.files):
        click.echo(f"wrote {path}")
    if written.p12:
        click.echo(f"browser: import {written.p12} (password in {written.p12}.password) "
                   f"and trust the CA {written.ca}")
    click.echo(f"try it:  koji -p {profile} moshimoshi")


@click.group()
def user() -> None:
    """Koji users with client certificates, minted and revoked on the hub."""


@user.command("add")
@click.argument("name")
@stack_name_option
@click.option("--role", type=click.Choice(["packager", "none"]), default="packager", show_default=True,
              help="packager: may build (scratch and real, from SRPMs; from SCMs that AllowedScms allows) "
                   "and add packages to the stack's tag; none: may only log in and read.")
@click.option("--perm", "perms", multiple=True,
              help="another koji permission to grant, repeatable (e.g. repo, tag, admin).")
@aws_options
def user_add(aws: Aws, name: str, stack: str, role: str, perms: tuple[str, ...]) -> None:
    """Mint a certificate + PKCS#12 for NAME into a per-user secret and grant the role's permissions.
    Again for an existing or revoked user: a new certificate, missing permissions granted."""
    from ..ops.users import check_user, fetch_hint, role_perms, run_on_hub

    check_user(name, perms)
    output = run_on_hub(aws, stack, ["add", name, *role_perms(role, perms)]).rstrip()
    if output:
        click.echo(output)
    for line in fetch_hint(aws, stack, name):
        click.echo(line)


@user.command("revoke")
@click.argument("name")
@stack_name_option
@aws_options
def user_revoke(aws: Aws, name: str, stack: str) -> None:
    """Revoke NAME's certificates (CRL checked by httpd) and disable the koji user."""
    from ..ops.users import check_user, run_on_hub

    check_user(name)
    output = run_on_hub(aws, stack, ["revoke", name]).rstrip()
    click.echo(output or f"revoked {name} on the hub")


@user.command("list")
@stack_name_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@aws_options
def user_list(aws: Aws, stack: str, as_json: bool) -> None:
    """Users made by `user add` (active, or revoked and waiting for their secret's deletion)."""
    import json

    from ..ops import stackinfo
    from ..ops.urls import parameters
    from ..ops.users import list_users

    admin = parameters(stackinfo.describe(aws, stack)).get("AdminUserName", "")
    rows = list_users(aws, stack)
    if as_json:
        click.echo(json.dumps({"admin": admin, "users": rows}, indent=2, sort_keys=True))
        return
    click.echo(f"admin: {admin} (credentials: the stack's AdminCredentialsSecretArn output)")
    if not rows:
        click.echo(f"no users yet: add one with `kojistack user add NAME --stack-name {stack}`")
        return
    click.echo(f"{'USER':<24} {'STATE':<8} {'CREATED':<17} CHANGED")
    for r in rows:
        click.echo(f"{r['name']:<24} {r['state']:<8} {r['created']:<17} {r['changed']}")
    if any(r["state"] == "revoked" for r in rows):
        click.echo("revoked: certificates on the CRL, koji user disabled, "
                   "secret deleted after its 7-day recovery window")
