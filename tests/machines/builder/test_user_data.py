"""Builder user data: renders through the template's renderer, valid for cloud-init 22.4, under
16,384 bytes, every shell script clean under shellcheck (all tools run for real)."""

import gzip
import io
import subprocess
import tarfile

import pytest
import yaml

from kojistack import names
from kojistack.config import Config, config_from_dict
from kojistack.template.builders import builder_user_data_text
from kojistack.template.payload import builder_payload
from support.paths import REPO

FILES = REPO / "cloud-init" / "payload" / "builder"
VARIANTS = [(distro, arch) for distro in ("el9", "el10", "fedora") for arch in ("x86_64", "aarch64")]
#: a deploy-time value is at most this much longer than its ${Name} (NLB names are 69-82 chars)
SUB_GROWTH = 1024


def render(distro: str, arch: str) -> str:
    cfg = config_from_dict({"distro": distro}, {"arches": ["x86_64", "aarch64"]})
    assert isinstance(cfg, Config)
    return builder_user_data_text(cfg, arch, builder_payload())


@pytest.mark.parametrize("distro,arch", VARIANTS)
def test_user_data_passes_cloud_init_schema(distro, arch, tmp_path):
    text = render(distro, arch)
    path = tmp_path / "user-data"
    path.write_text(text)
    proc = subprocess.run(["cloud-init", "schema", "--config-file", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Valid cloud-config" in proc.stdout


@pytest.mark.parametrize("distro,arch", VARIANTS)
def test_user_data_fits_ec2_limit(distro, arch):
    assert len(render(distro, arch).encode()) + SUB_GROWTH < 16384


def test_user_data_writes_env_and_enables_the_bootstrap():
    doc = yaml.safe_load(render("el9", "aarch64"))
    paths = [f["path"] for f in doc["write_files"]]
    assert paths == ["/etc/kojistack/stack.env", "/usr/local/sbin/kojistack-fetch-payload",
                     "/usr/local/sbin/kojistack-report", f"/etc/systemd/system/{names.UNIT_BOOTSTRAP}"]
    env = doc["write_files"][0]["content"]
    assert "KOJISTACK_ARCH='aarch64'" in env and "KOJISTACK_GROUP='${AWS::StackName}-builders-aarch64'" in env
    assert "KOJISTACK_INTERNAL_NLB_DNS='${InternalNlbDns}'" in env
    assert ["systemctl", "enable", names.UNIT_BOOTSTRAP] in doc["runcmd"]
    assert render("el9", "x86_64") == render("el9", "x86_64")  # deterministic


def test_payload_carries_the_builder_files():
    members = tarfile.open(fileobj=io.BytesIO(gzip.decompress(builder_payload().tgz))).getnames()
    assert "files/bin/kojistack-bootstrap" in members and "files/bin/kojistack-spot-watch" in members
    assert f"files/systemd/{names.UNIT_SPOT_WATCH}" in members
    assert not [n for n in members if n.endswith(".timer")]  # one long-running watcher, no 5 s timer
    modes = {m.name: m.mode for m in tarfile.open(fileobj=io.BytesIO(gzip.decompress(builder_payload().tgz)))}
    assert all(modes[n] == 0o755 for n in members if n.startswith("files/bin/"))


def test_builder_scripts_pass_shellcheck():
    scripts = sorted((FILES / "bin").iterdir())
    assert len(scripts) == 3
    proc = subprocess.run(["shellcheck", "-x", *map(str, scripts)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
