"""End to end on a real AWS account: upload, launch link, deploy, status, client-config with the koji CLI,
user add/revoke, delete. Opt-in only (KOJISTACK_AWS_TESTS=1): it takes ~30 minutes and costs money.

Needs: credentials and AWS_REGION in the environment; KOJISTACK_TEST_BUCKET (a bucket in that region);
KOJISTACK_TEST_ACCESS_CIDR (the CIDR this machine reaches the public NLB from, e.g. 198.51.100.7/32).
Leaves the retained resources that `delete` lists (stack key, snapshot, file system, secrets).
Not run in this workplace (no AWS access): it is written so that a maintainer with an account can."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from kojistack.cli import main

pytestmark = [pytest.mark.aws, pytest.mark.skipif(os.environ.get("KOJISTACK_AWS_TESTS") != "1",
                                                  reason="real AWS: opt-in with KOJISTACK_AWS_TESTS=1")]
KOJI = Path(sys.executable).with_name("koji")


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"kojistack {' '.join(args)}: {result.output}"
    return result.stdout


def moshimoshi(profile: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(KOJI), "-p", profile, "moshimoshi"], capture_output=True, text=True, timeout=120)


def test_launch_operate_and_delete_a_real_stack(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    bucket, cidr = os.environ["KOJISTACK_TEST_BUCKET"], os.environ["KOJISTACK_TEST_ACCESS_CIDR"]
    stack = f"kojistack-test-{uuid.uuid4().hex[:8]}"
    uploaded = cli("upload", "--bucket", bucket, "--prefix", f"kojistack-test/{stack}")
    template_url = next(line.split()[-1] for line in uploaded.splitlines() if line.strip().startswith("latest:")
                        and line.rstrip().endswith("/kojistack.json"))
    assert "templateURL=" in cli("launch-url", "--template-url", template_url, "--param", f"AccessCidr={cidr}")
    try:
        cli("deploy", "--stack-name", stack, "--bucket", bucket, "--param", f"AccessCidr={cidr}", "--yes")
        status = json.loads(cli("status", "--stack-name", stack, "--json"))
        assert status["hub"]["healthy"], status["hub"]
        cli("client-config", "--stack-name", stack, "--koji-profile", stack)
        hello = moshimoshi(stack)
        assert hello.returncode == 0 and "kojiadmin" in hello.stdout, hello.stderr
        cli("user", "add", "kojistack-test-user", "--stack-name", stack)  # a packager
        cli("client-config", "--stack-name", stack, "--user", "kojistack-test-user", "--koji-profile", f"{stack}-user")
        assert moshimoshi(f"{stack}-user").returncode == 0
        cli("user", "revoke", "kojistack-test-user", "--stack-name", stack)
        assert moshimoshi(f"{stack}-user").returncode != 0, "a revoked certificate must be refused"
    finally:
        cli("delete", "--stack-name", stack, "--yes")
