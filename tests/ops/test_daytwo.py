"""Day-two commands against a moto server: `urls` (and the URLs in `status`), `user list`, `logs`,
and the restore parameters `delete` prints."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .conftest import user_secret
from .test_delete import arrange as arrange_delete

FIXTURES = Path(__file__).parent / "fixtures"


def _urls_stack(aws, domain: str = "koji.example.com") -> None:
    aws("cloudformation").create_stack(StackName="koji", TemplateBody=(FIXTURES / "urls-stack.json").read_text(),
                                       Parameters=[{"ParameterKey": "CustomDomain", "ParameterValue": domain}])


def test_urls_name_the_cname_record_for_a_custom_domain(run, aws):
    _urls_stack(aws)
    result = run("urls", "--stack-name", "koji")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "web UI:      https://koji.example.com/koji",
        "hub:         https://koji.example.com/kojihub",
        "files:       https://koji.example.com/kojifiles",
        "machines:    https://internal-koji-internal-1234.elb.us-east-1.amazonaws.com/kojihub (inside the VPC only)",
        "DNS:         koji.example.com. CNAME koji-public-0123456789abcdef.elb.us-east-1.amazonaws.com.  "
        "(create this record at your DNS provider)",
    ]
    found = json.loads(run("urls", "--stack-name", "koji", "--json").stdout)
    assert found["cname_target"] == "koji-public-0123456789abcdef.elb.us-east-1.amazonaws.com"


def test_urls_without_a_domain_have_no_dns_line_and_status_shows_them(run, aws):
    _urls_stack(aws, domain="")
    result = run("urls", "--stack-name", "koji")
    assert result.exit_code == 0, result.output
    assert not any(line.startswith("DNS:") for line in result.stdout.splitlines())
    status = run("status", "--stack-name", "koji")
    assert status.exit_code == 0, status.output
    assert status.stdout.splitlines()[1] == "  web UI:      https://koji.example.com/koji"


def test_urls_of_an_unknown_stack_is_a_clear_error(run, aws):
    result = run("urls", "--stack-name", "nope")
    assert result.exit_code == 2
    assert "there is no stack 'nope' in us-east-1" in result.stderr


def test_user_list_shows_active_and_revoked_users_of_this_stack_only(run, aws):
    _urls_stack(aws)
    sm = aws("secretsmanager")
    sm.create_secret(Name=user_secret(aws, "koji", "alice"), SecretString="{}")
    sm.create_secret(Name=user_secret(aws, "koji", "bob"), SecretString="{}")
    sm.create_secret(Name="kojistack/koji-other/users/carol", SecretString="{}")
    sm.create_secret(Name="kojistack/koji/0a1b2c3d-1111-2222-3333-444455556666/users/carol", SecretString="{}")
    sm.delete_secret(SecretId=user_secret(aws, "koji", "bob"), RecoveryWindowInDays=7)  # what `user revoke` does
    result = run("user", "list", "--stack-name", "koji")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "admin: kojiadmin (credentials: the stack's AdminCredentialsSecretArn output)"
    assert lines[1].split() == ["USER", "STATE", "CREATED", "CHANGED"]
    assert [line.split()[:2] for line in lines[2:4]] == [["alice", "active"], ["bob", "revoked"]]
    assert lines[4].startswith("revoked: certificates on the CRL")
    assert "carol" not in result.stdout


def _log(aws, group: str, stream: str, *messages: str) -> None:
    logs = aws("logs")
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": now - 1000 + i, "message": m} for i, m in enumerate(messages)])


def test_logs_reads_both_roles_and_filters(run, aws):
    _urls_stack(aws)
    _log(aws, "/kojistack/koji/hub", "i-0hub/journal", "kojistack-bootstrap.service: step: packages",
         "httpd.service: Started The Apache HTTP Server.")
    _log(aws, "/kojistack/koji/builders", "i-0b1/kojid.log", "koji.TaskManager: Attempting to take task 7")
    _log(aws, "/kojistack/koji/builders", "i-0b2/kojid.log", "koji.TaskManager: Attempting to take task 8")
    result = run("logs", "--stack-name", "koji")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0].split(" ", 4)[2:] == ["hub", "i-0hub/journal", "kojistack-bootstrap.service: step: packages"]
    assert {line.split(" ")[3] for line in lines[2:]} == {"i-0b1/kojid.log", "i-0b2/kojid.log"}
    only = run("logs", "--stack-name", "koji", "--role", "builders", "--instance", "i-0b2")
    assert [line.split(" ", 4)[4] for line in only.stdout.splitlines()] == [
        "koji.TaskManager: Attempting to take task 8"]
    none = run("logs", "--stack-name", "koji", "--role", "hub", "--filter", "no such text")
    assert none.exit_code == 0 and none.stdout == ""
    assert "no log lines in the last 1h (hub)" in none.stderr


def test_logs_bad_since_and_missing_group_are_clear_errors(run, aws):
    _urls_stack(aws)
    bad = run("logs", "--stack-name", "koji", "--since", "yesterday")
    assert bad.exit_code == 2 and "--since 'yesterday': use a number and m, h or d" in bad.stderr
    missing = run("logs", "--stack-name", "koji", "--role", "hub")
    assert missing.exit_code == 2
    assert "there is no log group /kojistack/koji/hub in us-east-1" in missing.stderr


def test_delete_prints_the_parameters_a_restore_needs(run, aws):
    arrange_delete(aws)
    result = run("delete", "--stack-name", "koji", "--yes", "--poll-seconds", "0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("to restore it into a new stack (docs/operations.md), deploy with:")
    params = dict(line.strip().removeprefix("--param ").split("=", 1) for line in lines[start + 1:])
    fs = aws("efs").describe_file_systems()["FileSystems"][0]["FileSystemId"]
    key = aws("kms").list_keys()["Keys"][0]["KeyArn"]
    assert params["ExistingFileSystemId"] == fs
    assert params["RestoreKeyArn"] == key
    assert params["RestoreCaSecretArn"].endswith(":secret:CaSecret-AbCdEf")
    assert params["RestoreBuilderCaSecretArn"].endswith(":secret:BuilderCaSecret-GhIjKl")
    assert set(params) == {"DbSnapshotIdentifier", "ExistingFileSystemId", "RestoreCaSecretArn",
                           "RestoreBuilderCaSecretArn", "RestoreKeyArn"}
    snaps = aws("rds").describe_db_snapshots()["DBSnapshots"]
    if snaps:  # moto's CloudFormation may or may not take the final snapshot; AWS does (DeletionPolicy Snapshot)
        assert params["DbSnapshotIdentifier"] == snaps[-1]["DBSnapshotIdentifier"]
    else:
        assert params["DbSnapshotIdentifier"].startswith("(none found: aws rds describe-db-snapshots")




def test_status_names_the_stacks_firing_alarms_only(run, aws):
    _urls_stack(aws)
    cw = aws("cloudwatch")
    for name in ("koji-kojistack-hub-unhealthy", "koji-kojistack-database-storage", "other-kojistack-hub-unhealthy"):
        cw.put_metric_alarm(AlarmName=name, MetricName="UnHealthyHostCount", Namespace="AWS/NetworkELB",
                            Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.set_alarm_state(AlarmName="koji-kojistack-hub-unhealthy", StateValue="ALARM",
                       StateReason="Threshold Crossed: 5 datapoints were greater than or equal to the threshold (1.0)")
    cw.set_alarm_state(AlarmName="other-kojistack-hub-unhealthy", StateValue="ALARM", StateReason="not ours")
    result = run("status", "--stack-name", "koji")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "alarms: 1 firing" in lines, lines[-4:]
    start = lines.index("alarms: 1 firing")
    assert lines[start + 1] == ("  hub-unhealthy: Threshold Crossed: 5 datapoints were greater than or equal to "
                                "the threshold (1.0)")
    assert "not ours" not in "\n".join(lines)


def test_status_says_when_no_alarm_fires(run, aws):
    _urls_stack(aws)
    assert "alarms: none firing" in run("status", "--stack-name", "koji").stdout.splitlines()


def test_logs_follow_prints_new_lines_once(aws_env, aws):
    import datetime as dt

    from kojistack.ops.logs import follow
    from kojistack.ops.session import open_session

    _urls_stack(aws)
    _log(aws, "/kojistack/koji/hub", "i-0hub/journal", "first")
    added = []

    def sleep(_seconds):  # between polls the shipper sends one more line
        if not added:
            aws("logs").put_log_events(logGroupName="/kojistack/koji/hub", logStreamName="i-0hub/journal",
                                       logEvents=[{"timestamp": int(time.time() * 1000), "message": "second"}])
            added.append(1)

    got = [m for _, _, _, m in follow(open_session(None, "us-east-1"), "koji", ["hub"], dt.timedelta(hours=1),
                                      poll_seconds=0, rounds=3, sleep=sleep)]
    assert got == ["first", "second"]


def test_logs_follow_flag_runs_to_its_rounds(run, aws):
    _urls_stack(aws)
    _log(aws, "/kojistack/koji/hub", "i-0hub/journal", "only once")
    result = run("logs", "--stack-name", "koji", "--role", "hub", "--follow", "--poll-seconds", "0", "--rounds", "2")
    assert result.exit_code == 0, result.output
    assert [line.split(" ", 4)[4] for line in result.stdout.splitlines()] == ["only once"]
