"""The hub's user data (cloud-init/user-data/hub.yaml.j2 + cloud-init/user-data/common/), rendered by the
lead's kojistack.template.hub exactly as the template generator does."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from kojistack import names
from kojistack.config import Config
from kojistack.template.hub import hub_user_data_text
from kojistack.template.payload import hub_payload
from kojistack.template.userdata import LONGEST, USER_DATA_LIMIT, worst_case
from support.cloudinit_files import written_files

from .conftest import CLOUD_INIT

DISTROS = ("el9", "el10", "fedora")
SECRETS = ("AdminSecret", "BuilderCaSecret", "CaSecret", "DbMasterSecret", "KojiDbSecret",
           "WebSecret", "RestoreBuilderCaSecretArn", "RestoreCaSecretArn")
SHORT = ("AdminUserName", "BuilderAarch64MaxSize", "BuilderX8664MaxSize", "BuilderIdleMinutes",
         "DbInstanceClass", "KojiVersion", "SeedBuildEnvironment")
# longest value of each deploy-time name (AWS limits or the parameter's pattern)
LONGEST_FOR = {**{n: LONGEST["SecretArn"] for n in SECRETS}, **{n: LONGEST["Short"] for n in SHORT},
               "PublicNlbDns": LONGEST["NlbDns"], "InternalNlbDns": LONGEST["NlbDns"],
               "PublicTargetGroup": LONGEST["TargetGroupArn"],
               "InternalTargetGroup": LONGEST["TargetGroupArn"], "DbAddress": LONGEST["DbAddress"],
               "FileSystemId": LONGEST["FileSystemId"], "DbPort": LONGEST["DbPort"],
               "AllowedScms": LONGEST["Param"], "CustomDomain": 253}


def text(distro: str) -> str:
    return hub_user_data_text(Config(distro=distro), hub_payload())


def files(doc: dict) -> dict[str, dict]:
    return {f["path"]: f for f in doc["write_files"]}


@pytest.mark.parametrize("distro", DISTROS)
def test_cloud_init_22_4_accepts_it(distro: str, tmp_path: Path):
    path = tmp_path / "user-data"
    path.write_text(text(distro))
    result = subprocess.run(["cloud-init", "schema", "-c", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout
    version = subprocess.run(["cloud-init", "--version"], capture_output=True, text=True)
    assert "22.4" in version.stdout + version.stderr


@pytest.mark.parametrize("distro", DISTROS)
def test_under_16_kib_with_the_longest_values(distro: str):
    worst = len(worst_case(text(distro), LONGEST_FOR).encode())
    print(f"hub user data ({distro}): {len(text(distro).encode())} bytes rendered, "
          f"{worst} worst case, headroom {USER_DATA_LIMIT - worst}")
    assert worst < USER_DATA_LIMIT
    assert USER_DATA_LIMIT - worst > 1024  # room for a few more stack.env lines


def test_rendering_is_byte_stable():
    assert text("el9") == text("el9")


def test_it_only_writes_files_and_enables_the_bootstrap_unit():
    doc = yaml.safe_load(text("el9"))
    assert text("el9").startswith("#cloud-config\n")
    assert set(doc) == {"write_files", "runcmd"}
    written = files(doc)
    assert set(written) == {"/etc/kojistack/stack.env", "/usr/local/sbin/kojistack-fetch-payload",
                            "/usr/local/sbin/kojistack-report",
                            f"/etc/systemd/system/{names.UNIT_BOOTSTRAP}"}
    assert written["/etc/kojistack/stack.env"]["permissions"] == "0600"
    assert doc["runcmd"] == [["systemctl", "daemon-reload"],
                             ["systemctl", "enable", names.UNIT_BOOTSTRAP],
                             ["systemctl", "start", "--no-block", names.UNIT_BOOTSTRAP]]


def test_embedded_files_are_the_repository_files_verbatim():
    """As cloud-init writes them (the scripts go gzipped, encoding gz+b64)."""
    written = written_files(text("el9"))
    common = CLOUD_INIT / "user-data" / "common"
    assert written["/usr/local/sbin/kojistack-fetch-payload"] == (common / "fetch-payload.sh").read_text()
    assert written["/usr/local/sbin/kojistack-report"] == (common / "report.sh").read_text()
    assert written[f"/etc/systemd/system/{names.UNIT_BOOTSTRAP}"] \
        == (common / names.UNIT_BOOTSTRAP).read_text()


def test_deploy_time_values_appear_only_in_stack_env():
    """Fn::Sub sees ${...} only in stack.env: the scripts carry no ${ (so no ${!VAR} is needed)."""
    for name in ("fetch-payload.sh", "report.sh", names.UNIT_BOOTSTRAP):
        assert "${" not in (CLOUD_INIT / "user-data" / "common" / name).read_text(), name
    written = files(yaml.safe_load(text("el9")))
    for path, f in written.items():
        if path != "/etc/kojistack/stack.env":
            assert "${" not in f["content"], path
    env = written["/etc/kojistack/stack.env"]["content"]
    assert all(re.fullmatch(r"KOJISTACK_[A-Z0-9_]+='[^']*'", line) for line in env.splitlines())
    for name in ("DB_ADDRESS", "CA_SECRET", "SIGNAL_RESOURCE", "LAUNCH_TEMPLATE_RESOURCE",
                 "PAYLOAD_SHA256", "SSM_PREFIX", "PUBLIC_TARGET_GROUP"):
        assert f"KOJISTACK_{name}=" in env
    # the shared names (kojistack/names.py) travel one route, the payload's names.env, never stack.env
    for name in names.shared():
        assert f"KOJISTACK_{name}=" not in env, name
