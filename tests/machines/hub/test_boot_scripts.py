"""The user data's scripts for real (cloud-init/common/fetch-payload.sh and report.sh) with the
real payload built by kojistack.template.payload. AWS, the instance metadata service and the
journal cannot run here: `aws`, `curl` and `journalctl` are small fakes on PATH that record their
arguments and answer as the services do."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from kojistack.template.payload import hub_payload

from .conftest import CLOUD_INIT, run

FETCH = CLOUD_INIT / "common" / "fetch-payload.sh"
REPORT = CLOUD_INIT / "common" / "report.sh"


def fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" f'echo "{name} $*" >> "$FAKE_LOG"\n' + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps(hub_payload().metadata()))
    # describe-stack-resource --query StackResourceDetail.Metadata --output text prints the JSON
    fake(bin_dir, "aws", f'if [ "$1 $2" = "cloudformation describe-stack-resource" ]; then cat {metadata}; fi\n')
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
    path = Path(sandbox["FAKE_LOG"])
    return path.read_text().splitlines() if path.exists() else []


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
    run(REPORT, "exit", "kojistack-bootstrap.service", env=env)
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
    run(REPORT, "exit", "kojistack-bootstrap.service", env=env)
    assert len([c for c in calls(sandbox) if "signal-resource" in c]) == 1
    assert len([c for c in calls(sandbox) if "put-parameter" in c]) == 2


def test_success_is_signalled_on_the_first_success_only(sandbox):
    env = stack_env(sandbox)
    run(REPORT, "success", env=env)
    run(REPORT, "success", env=env)
    signals = [c for c in calls(sandbox) if "signal-resource" in c]
    assert len(signals) == 1 and signals[0].endswith("--status SUCCESS")


def test_a_clean_stop_reports_nothing(sandbox):
    run(REPORT, "exit", "kojistack-bootstrap.service", env=dict(stack_env(sandbox), SERVICE_RESULT="success"))
    assert calls(sandbox) == []
