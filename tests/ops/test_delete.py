"""`kojistack delete` against a moto server: lists what is retained with its cost, drains, deletes."""

from __future__ import annotations

from pathlib import Path

from .conftest import make_group, user_secret

FIXTURE = Path(__file__).parent / "fixtures" / "delete-stack.json"


def arrange(aws) -> None:
    aws("cloudformation").create_stack(StackName="koji", TemplateBody=FIXTURE.read_text())
    make_group(aws, "koji-builders-x86_64", 2)
    make_group(aws, "koji-builders-aarch64", 1)
    make_group(aws, "koji-light", 1)


def test_delete_lists_retained_drains_and_deletes(run, aws):
    arrange(aws)
    alice = user_secret(aws, "koji", "alice")
    aws("secretsmanager").create_secret(Name=alice, SecretString="{}")
    aws("secretsmanager").create_secret(Name="kojistack/koji-other/users/bob", SecretString="{}")
    # what an earlier stack of the same name left behind is not this stack's
    aws("secretsmanager").create_secret(Name="kojistack/koji/0a1b2c3d-1111-2222-3333-444455556666/users/carol",
                                        SecretString="{}")
    result = run("delete", "--stack-name", "koji", "--yes", "--poll-seconds", "0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "deleting stack koji keeps 4 resource(s):"
    assert lines[1].startswith("  StackKey (AWS::KMS::Key)") and "without this key" in lines[1]
    assert lines[1].endswith("~$1.00/month")
    assert lines[2].startswith("  Database (AWS::RDS::DBInstance)") and "final snapshot of 20 GiB" in lines[2]
    assert lines[2].endswith("~$1.90/month")
    assert lines[3].startswith("  FileSystem (AWS::EFS::FileSystem)")
    assert lines[4] == (f"  user alice (AWS::SecretsManager::Secret) {alice}: credentials made "
                        "by `kojistack user add`; ~$0.40/month")
    assert "bob" not in result.stdout and "carol" not in result.stdout
    assert "HubLogGroup" not in result.stdout
    assert "draining koji-builders-aarch64: 1 builder(s)" in result.stdout
    assert "draining koji-builders-x86_64: 2 builder(s)" in result.stdout
    assert "builders drained" in result.stdout
    # the light hosts after the builders: they hold the parents of the builds the builders finish
    assert result.stdout.index("builders drained") < result.stdout.index("draining koji-light: 1 light host(s)")
    assert "light hosts drained" in result.stdout
    assert "stack koji deleted" in result.stdout
    groups = aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert {(g["MaxSize"], len(g["Instances"])) for g in groups} == {(0, 0)}
    stacks = aws("cloudformation").list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    assert [s["StackName"] for s in stacks] == ["koji"]
    assert len(aws("kms").list_keys()["Keys"]) == 1
    assert len(aws("efs").describe_file_systems()["FileSystems"]) == 1


def test_delete_asks_first(run, aws):
    arrange(aws)
    result = run("delete", "--stack-name", "koji", "--poll-seconds", "0", input="n\n")
    assert result.exit_code == 2
    assert "delete cancelled; stack koji is unchanged" in result.stderr
    assert aws("cloudformation").describe_stacks(StackName="koji")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    groups = aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert sorted(len(g["Instances"]) for g in groups) == [1, 1, 2]


def test_delete_unknown_stack(run, aws):
    result = run("delete", "--stack-name", "ghost", "--yes")
    assert result.exit_code == 2
    assert "there is no stack 'ghost' in us-east-1" in result.stderr


def test_delete_access_denied(run, aws, restrict):
    arrange(aws)
    restrict()
    result = run("delete", "--stack-name", "koji", "--yes")
    assert result.exit_code == 1
    assert "access denied while reading stack koji" in result.stderr


def test_delete_stops_when_builders_do_not_drain(run, aws):
    # A busy builder is protected from scale-in (the controller protects builders with running tasks).
    aws("cloudformation").create_stack(StackName="koji", TemplateBody=FIXTURE.read_text())
    busy = make_group(aws, "koji-builders-x86_64", 2)
    aws("autoscaling").set_instance_protection(AutoScalingGroupName="koji-builders-x86_64", InstanceIds=busy[:1],
                                               ProtectedFromScaleIn=True)
    result = run("delete", "--stack-name", "koji", "--yes", "--poll-seconds", "0", "--drain-timeout-minutes", "0")
    assert result.exit_code == 1, result.output
    assert ("builders still draining after 0 min (koji-builders-x86_64: 1); running builds are finishing: "
            "run delete again later, or pass --skip-drain") in result.stderr
    assert aws("cloudformation").describe_stacks(StackName="koji")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_delete_skip_drain_leaves_the_groups_alone(run, aws):
    arrange(aws)
    result = run("delete", "--stack-name", "koji", "--yes", "--poll-seconds", "0", "--skip-drain")
    assert result.exit_code == 0, result.output
    assert "draining" not in result.stdout and "stack koji deleted" in result.stdout
