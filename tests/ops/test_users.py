"""`kojistack user add/revoke` against a moto server: the SSM command the hub gets, and the error paths.

moto records SSM Run Command invocations as successful without running them; the hub-side script
itself is tested for real in test_kojistack_user.py."""

from __future__ import annotations

from pathlib import Path

from .conftest import make_group, user_secret

FIXTURE = Path(__file__).parent / "fixtures" / "small-stack.json"


def sent_commands(aws) -> list[list[str]]:
    return [c["Parameters"]["commands"] for c in aws("ssm").list_commands()["Commands"]]


def test_user_add_runs_the_hub_script(run, aws):
    aws("cloudformation").create_stack(StackName="koji", TemplateBody=FIXTURE.read_text())
    (hub,) = make_group(aws, "koji-hub", 1)
    result = run("user", "add", "alice", "--stack-name", "koji", "--perm", "repo")
    assert result.exit_code == 0, result.output
    # the packager role by default (the permission the hub policy lets build), then --perm
    assert sent_commands(aws) == [["/opt/kojistack/files/bin/kojistack-user add alice packager repo"]]
    assert aws("ssm").list_commands()["Commands"][0]["InstanceIds"] == [hub]
    assert "kojistack client-config --stack-name koji --user alice --region us-east-1" in result.stdout
    assert f"--secret-id {user_secret(aws, 'koji', 'alice')}" in result.stdout


def test_user_revoke_runs_the_hub_script(run, aws):
    make_group(aws, "koji-hub", 1)
    result = run("user", "revoke", "alice", "--stack-name", "koji")
    assert result.exit_code == 0, result.output
    assert sent_commands(aws) == [["/opt/kojistack/files/bin/kojistack-user revoke alice"]]


def test_bad_user_name_never_reaches_the_hub(run, aws):
    make_group(aws, "koji-hub", 1)
    result = run("user", "add", "alice;reboot", "--stack-name", "koji")
    assert result.exit_code == 2
    assert "user name 'alice;reboot' is invalid" in result.stderr
    bad_perm = run("user", "add", "alice", "--stack-name", "koji", "--perm", "$(id)")
    assert bad_perm.exit_code == 2 and "is not a koji permission name" in bad_perm.stderr
    # koji 1.35.3 has no `build` permission (grant-permission: "No such entry in table permissions")
    build = run("user", "add", "alice", "--stack-name", "koji", "--perm", "build")
    assert build.exit_code == 2 and "koji has no 'build' permission: the packager role" in build.stderr
    assert sent_commands(aws) == []


def test_role_none_grants_nothing(run, aws):
    aws("cloudformation").create_stack(StackName="koji", TemplateBody=FIXTURE.read_text())
    make_group(aws, "koji-hub", 1)
    result = run("user", "add", "bob", "--stack-name", "koji", "--role", "none")
    assert result.exit_code == 0, result.output
    assert sent_commands(aws) == [["/opt/kojistack/files/bin/kojistack-user add bob"]]


def test_no_hub_group(run, aws):
    result = run("user", "add", "alice", "--stack-name", "ghost")
    assert result.exit_code == 1
    assert "there is no hub group ghost-hub" in result.stderr


def test_hub_not_in_service(run, aws):
    make_group(aws, "koji-hub", 0)
    result = run("user", "add", "alice", "--stack-name", "koji")
    assert result.exit_code == 1
    assert "has 0 InService instances, not 1" in result.stderr


def test_user_add_access_denied(run, aws, restrict):
    make_group(aws, "koji-hub", 1)
    restrict()
    result = run("user", "add", "alice", "--stack-name", "koji")
    assert result.exit_code == 1
    assert "access denied while reading auto scaling group koji-hub" in result.stderr
