"""The user data's scripts for real (cloud-init/user-data/common/fetch-payload.sh and report.sh) with the
real payload built by kojistack.template.payload. AWS, the instance metadata service and the
journal cannot run here: `aws` is the shared fake (tests/fakes/aws_cli.py: CloudFormation's
signal window and its refusals), `curl` and `journalctl` small fakes on PATH that record their
arguments and answer as the services do."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from fakes.aws_cli import CfnState, install
from kojistack import names
from kojistack.template.payload import hub_payload

from .conftest import CLOUD_INIT, run

FETCH = CLOUD_INIT / "user-data" / "common" / "fetch-payload.sh"
REPORT = CLOUD_INIT / "user-data" / "common" / "report.sh"


def fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" f'echo "{name} $*" >> "$FAKE_LOG"\n' + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    install(bin_dir)
    cfn = CfnState(tmp_path)
    cfn.set_stack("CREATE_IN_PROGRESS", "koji", "eu-west-1")
    cfn.set_resource("HubLaunchTemplate", "CREATE_COMPLETE", type_="AWS::EC2::LaunchTemplate",
                     metadata=hub_payload().metadata())
    cfn.set_resource("HubGroup", "CREATE_IN_PROGRESS", waiting=True)
    fake(bin_dir, "curl", 'case "$*" in *api/token*) echo token ;; *instance-id*) echo i-0123456789abcdef0 ;;\n'
         '  *cloudformation.*) [ -z "$FAKE_OFFLINE" ] || exit 7 ;; esac\n')
    fake(bin_dir, "journalctl", 'for i in $(seq 1 400); do echo "log line $i of the failed unit"; done\n')
    env_file = tmp_path / "stack.env"
    env_file.write_text("KOJISTACK_STACK_NAME='koji'\nKOJISTACK_REGION='eu-west-1'\n"
                        "KOJISTACK_URL_SUFFIX='amazonaws.com'\n"
                        "KOJISTACK_LAUNCH_TEMPLATE_RESOURCE='HubLaunchTemplate'\n"
                        f"KOJISTACK_PAYLOAD_SHA256='{hub_payload().sha256}'\n"
                        "KOJISTACK_SIGNAL_RESOURCE='HubGroup'\nKOJISTACK_SSM_PREFIX='/koji/kojistack'\n")
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "calls"),
            "FAKE_AWS_DIR": str(tmp_path),
            "KOJISTACK_DEST": str(tmp_path / "opt"), "KOJISTACK_RUN_DIR": str(tmp_path / "run"),
            "KOJISTACK_STATE_DIR": str(tmp_path / "state"), "ENV_FILE": str(env_file)}


def stack_env(sandbox: dict[str, str]) -> dict[str, str]:
    """What systemd's EnvironmentFile= would add (quotes removed)."""
    env = dict(sandbox)
    for line in Path(sandbox["ENV_FILE"]).read_text().splitlines():
        key, value = line.split("=", 1)
        env[key] = value.strip("'")
    return env


def calls(sandbox: dict[str, str]) -> list[str]:
    """The fakes' calls: curl and journalctl in order, then aws's (each prefixed `aws`)."""
    out = []
    for path, prefix in ((Path(sandbox["FAKE_LOG"]), ""), (Path(sandbox["FAKE_AWS_DIR"]) / "calls.log", "aws ")):
        out += [prefix + line for line in path.read_text().splitlines()] if path.exists() else []
    return out


def test_fetch_unpacks_the_verified_payload(sandbox):
    run(FETCH, env=stack_env(sandbox))
    dest = Path(sandbox["KOJISTACK_DEST"])
    assert (dest / "files" / "bin" / "kojistack-bootstrap").stat().st_mode & stat.S_IXUSR
    assert (dest / "files" / "sql" / "roles.sql").is_file()
    assert (dest / ".payload-sha256").read_text().strip() == hub_payload().sha256
    describe = [c for c in calls(sandbox) if "describe-stack-resource" in c]
    assert describe == ["aws cloudformation describe-stack-resource --region eu-west-1 --stack-name koji "
                        "--logical-resource-id HubLaunchTemplate --query StackResourceDetail.Metadata "
                        "--output text"]
    # same payload on the next boot: nothing fetched again
    run(FETCH, env=stack_env(sandbox))
    assert len([c for c in calls(sandbox) if "describe-stack-resource" in c]) == 1


def test_fetch_refuses_a_payload_with_another_hash(sandbox):
    env = dict(stack_env(sandbox), KOJISTACK_PAYLOAD_SHA256="0" * 64)
    result = run(FETCH, env=env, check=False)
    assert result.returncode != 0 and "payload hash mismatch" in result.stderr
    assert not (Path(sandbox["KOJISTACK_DEST"]) / "files").exists()
    assert (Path(sandbox["KOJISTACK_RUN_DIR"]) / "step").read_text().strip() == "fetch-payload"


def test_preflight_fails_fast_with_a_named_step(sandbox):
    result = run(FETCH, env=dict(stack_env(sandbox), FAKE_OFFLINE="1"), check=False)
    assert result.returncode != 0
    assert "cannot reach the CloudFormation endpoint of eu-west-1" in result.stderr
    assert (Path(sandbox["KOJISTACK_RUN_DIR"]) / "step").read_text().strip() == "preflight"
    assert "curl -sS -o /dev/null --max-time 20 https://cloudformation.eu-west-1.amazonaws.com/" in calls(sandbox)
    assert not [c for c in calls(sandbox) if c.startswith("aws")]


def test_fetch_reads_stack_env_when_run_by_hand(sandbox, tmp_path):
    """Without systemd, the values come from the env file (quotes removed)."""
    script = tmp_path / "fetch.sh"
    script.write_text(FETCH.read_text().replace("ENV_FILE=/etc/kojistack/stack.env",
                                                f"ENV_FILE={sandbox['ENV_FILE']}"))
    script.chmod(0o755)
    run(script, env=sandbox)
    assert (Path(sandbox["KOJISTACK_DEST"]) / ".payload-sha256").is_file()


def test_failure_is_recorded_then_signalled_once(sandbox):
    env = dict(stack_env(sandbox), SERVICE_RESULT="exit-code", EXIT_STATUS="3")
    Path(sandbox["KOJISTACK_RUN_DIR"]).mkdir()
    (Path(sandbox["KOJISTACK_RUN_DIR"]) / "step").write_text("database\n")
    run(REPORT, "exit", names.UNIT_BOOTSTRAP, env=env)
    put = [c for c in calls(sandbox) if c.startswith("aws ssm put-parameter")]
    assert len(put) == 1 and "--name /koji/kojistack/bootstrap/i-0123456789abcdef0" in put[0]
    record = json.loads(put[0].split("--value ", 1)[1])
    assert record["step"] == "database" and record["exit_code"] == "3"
    assert record["log_tail"].endswith("log line 400 of the failed unit\n")
    assert len(json.dumps(record, sort_keys=True).encode()) <= 4000
    signals = [c for c in calls(sandbox) if "signal-resource" in c]
    assert signals == ["aws cloudformation signal-resource --region eu-west-1 --stack-name koji "
                       "--logical-resource-id HubGroup --unique-id i-0123456789abcdef0 --status FAILURE"]
    # a later failure (e.g. the next boot) records again but never signals a second time
    run(REPORT, "exit", names.UNIT_BOOTSTRAP, env=env)
    assert len([c for c in calls(sandbox) if "signal-resource" in c]) == 1
    assert len([c for c in calls(sandbox) if "put-parameter" in c]) == 2


def test_success_is_signalled_on_the_first_success_only(sandbox):
    env = stack_env(sandbox)
    run(REPORT, "success", env=env)
    run(REPORT, "success", env=env)
    signals = [c for c in calls(sandbox) if "signal-resource" in c]
    assert len(signals) == 1 and signals[0].endswith("--status SUCCESS")


def test_a_clean_stop_reports_nothing(sandbox):
    run(REPORT, "exit", names.UNIT_BOOTSTRAP, env=dict(stack_env(sandbox), SERVICE_RESULT="success"))
    assert calls(sandbox) == []


# CloudFormation waits for a signal only while it creates the group under its CreationPolicy, or
# updates it with WaitOnResourceSignals; the fake refuses at any other time with its real text.
def test_no_signal_once_the_stack_is_complete_and_the_boot_goes_on(sandbox):
    """A builder launched after CREATE_COMPLETE, a replacement hub: nothing awaits their signal."""
    cfn = CfnState(Path(sandbox["FAKE_AWS_DIR"]))
    cfn.set_stack("CREATE_COMPLETE")
    cfn.set_resource("HubGroup", "CREATE_COMPLETE")
    result = run(REPORT, "success", env=stack_env(sandbox))
    assert "no signal: HubGroup is CREATE_COMPLETE" in result.stderr
    assert not [c for c in calls(sandbox) if "signal-resource" in c] and cfn.signals() == []
    assert (Path(sandbox["KOJISTACK_STATE_DIR"]) / "signalled").read_text().strip() == "SUCCESS"


def test_a_refused_signal_is_logged_never_a_failure(sandbox):
    """When the status cannot be read the signal is tried; CloudFormation's refusal is no boot failure."""
    root = Path(sandbox["FAKE_AWS_DIR"])
    CfnState(root).set_stack("UPDATE_COMPLETE")
    CfnState(root).set_resource("HubGroup", "UPDATE_COMPLETE")
    (root / "fail-describe-stack-resource").write_text("")
    result = run(REPORT, "success", env=stack_env(sandbox))
    assert "is in UPDATE_COMPLETE state and cannot be signaled" in result.stderr
    assert "SUCCESS signal refused" in result.stderr
    assert len([c for c in calls(sandbox) if "signal-resource" in c]) == 1


def test_the_signal_counts_while_an_update_waits_for_it(sandbox):
    cfn = CfnState(Path(sandbox["FAKE_AWS_DIR"]))
    cfn.set_stack("UPDATE_IN_PROGRESS")
    cfn.set_resource("HubGroup", "UPDATE_IN_PROGRESS", waiting=True)
    run(REPORT, "success", env=stack_env(sandbox))
    assert cfn.signals() == [{"resource": "HubGroup", "unique_id": "i-0123456789abcdef0", "status": "SUCCESS"}]


def test_a_failing_builder_is_recorded_but_never_fails_the_creation(sandbox):
    """One FAILURE fails a CreationPolicy; the builder's group replaces it and the replacement counts."""
    env = dict(stack_env(sandbox), KOJISTACK_ROLE="builder", KOJISTACK_SIGNAL_RESOURCE="BuilderX8664Group",
               SERVICE_RESULT="exit-code", EXIT_STATUS="1")
    CfnState(Path(sandbox["FAKE_AWS_DIR"])).set_resource("BuilderX8664Group", "CREATE_IN_PROGRESS", waiting=True)
    run(REPORT, "exit", names.UNIT_BOOTSTRAP, env=env)
    assert [c for c in calls(sandbox) if "put-parameter" in c]
    assert not [c for c in calls(sandbox) if "signal-resource" in c]
    assert CfnState(Path(sandbox["FAKE_AWS_DIR"])).signals() == []


def test_the_fake_refuses_as_cloudformation_does(sandbox):
    """aws-cloudformation-templates#34: "Stack arn:…:stack/RedHat7Cfn/… is in CREATE_COMPLETE state
    and cannot be signaled"; the CLI reports a service error on stderr with exit status 254."""
    CfnState(Path(sandbox["FAKE_AWS_DIR"])).set_stack("CREATE_COMPLETE")
    CfnState(Path(sandbox["FAKE_AWS_DIR"])).set_resource("HubGroup", "CREATE_COMPLETE")
    result = run("aws", "cloudformation", "signal-resource", "--stack-name", "koji", "--logical-resource-id",
                 "HubGroup", "--unique-id", "i-1", "--status", "SUCCESS", env=stack_env(sandbox), check=False)
    assert result.returncode == 254
    assert result.stderr.strip() == (
        "An error occurred (ValidationError) when calling the SignalResource operation: Stack "
        "arn:aws:cloudformation:eu-west-1:123456789012:stack/koji/7d2e3dd0-f5f3-11e7-93f5-50a686e4bb4a "
        "is in CREATE_COMPLETE state and cannot be signaled")


# SELinux (issue 11 item 2): a file moved out of /tmp keeps tmp_t, which systemd (init_t) may not
# execute (203/EXEC). The payload is unpacked on /opt/kojistack's own file system and relabelled
# to the label its final path has in the policy (restorecon), on every boot.
def selinux_fakes(sandbox: dict[str, str], enabled: bool) -> None:
    bin_dir = Path(sandbox["PATH"].split(":", 1)[0])
    fake(bin_dir, "selinuxenabled", f"exit {0 if enabled else 1}\n")
    # what restorecon would relabel: the tree as it stands when it runs
    fake(bin_dir, "restorecon", 'find "$2" -path "*/bin/*" -type f | sort >> "$FAKE_LOG.restorecon"\n')
    fake(bin_dir, "tar", 'exec /bin/tar "$@"\n')


def test_the_payload_is_unpacked_in_place_and_relabelled(sandbox, tmp_path):
    selinux_fakes(sandbox, enabled=True)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    run(FETCH, env=dict(stack_env(sandbox), TMPDIR=str(tmpdir)))
    dest = sandbox["KOJISTACK_DEST"]
    (untar,) = [c for c in calls(sandbox) if c.startswith("tar ")]
    target = untar.split(" -C ", 1)[1].split()[0]
    assert target.startswith(dest + "/.unpack.") and not target.startswith(str(tmpdir))
    assert f"restorecon -R {dest}" in calls(sandbox)
    relabelled = Path(sandbox["FAKE_LOG"] + ".restorecon").read_text().split()
    assert f"{dest}/files/bin/kojistack-bootstrap" in relabelled  # in its final place by then
    assert not [p for p in Path(dest).iterdir() if p.name.startswith(".unpack")]  # staging removed
    # the next boot (same payload, nothing fetched) relabels again
    run(FETCH, env=stack_env(sandbox))
    assert calls(sandbox).count(f"restorecon -R {dest}") == 2


def test_no_relabel_without_selinux(sandbox):
    selinux_fakes(sandbox, enabled=False)
    run(FETCH, env=stack_env(sandbox))
    assert not [c for c in calls(sandbox) if c.startswith("restorecon")]
