"""Issue 12 item 1: a kojistack installed from its built wheel works outside the source tree.

The wheel is built from a copy of the source (as a clean clone would be), installed with pip into a
fresh virtual environment, and run from an empty directory: generate must write the same bytes as the
committed templates (so cloud-init/ and its file modes travelled as package data), check must pass,
and upload and deploy must work against the moto server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from support.paths import REPO

from .conftest import moto_image
from .moto_transform import for_moto
from .pki import credentials

pytestmark = pytest.mark.slow

_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "tests", "__pycache__",
                                     "*.pyc", ".pytest_cache", "docs", "templates")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv holding kojistack from its wheel (dependencies from this test run's environment)."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCE)
    wheels = base / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
                   check=True)
    (wheel,) = wheels.glob("kojistack-*.whl")
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    # the dependencies come from the environment running the tests: its site-packages, added by path
    # (a plain path line, so its own .pth files, such as an editable kojistack, are not processed)
    target = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (target / "kojistack-test-deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    return env_dir / "bin"


def kojistack(bin_dir: Path, cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(bin_dir / "kojistack"), *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=900)
    assert result.returncode == 0, f"kojistack {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def test_the_installed_kojistack_is_the_wheel_not_the_source(installed, tmp_path):
    where = subprocess.run([str(installed / "python"), "-c", "import kojistack; print(kojistack.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(installed.parent) in where and str(REPO) not in where


def test_generate_and_check_outside_the_source_tree(installed, tmp_path):
    out = kojistack(installed, tmp_path, "generate")
    for name in ("kojistack.json", "kojistack-existing-vpc.json"):
        assert (tmp_path / "templates" / name).read_bytes() == (REPO / "templates" / name).read_bytes(), name
    assert "wrote templates/kojistack.json" in out
    checkov = REPO / ".venv-checkov" / "bin" / "checkov"
    out = kojistack(installed, tmp_path, "check", env={"KOJISTACK_CHECKOV": str(checkov)})
    assert "kojistack check: all checks passed" in out


def test_upload_and_deploy_outside_the_source_tree(installed, tmp_path, aws, aws_env):
    kojistack(installed, tmp_path, "generate")
    aws("s3").create_bucket(Bucket="koji-templates")
    out = kojistack(installed, tmp_path, "upload", "--bucket", "koji-templates")
    assert "latest/kojistack.json" in out and "console.aws.amazon.com/cloudformation" in out

    template = json.loads((tmp_path / "templates" / "kojistack.json").read_text())
    secrets = aws("secretsmanager")
    arns = {name: secrets.create_secret(Name=f"koji-{name}", SecretString=json.dumps(
                credentials() if name == "AdminCredentialsSecret" else {"placeholder": True}))["ARN"]
            for name, res in template["Resources"].items() if res["Type"] == "AWS::SecretsManager::Secret"}
    ami = moto_image(aws)
    params = {"AccessCidr": "203.0.113.0/24", "ImageIdX8664": ami, "ImageIdAarch64": ami}
    moto_ready = tmp_path / "kojistack-for-moto.json"  # tests/ops/moto_transform.py says why
    moto_ready.write_text(json.dumps(for_moto(template, params, arns), indent=1, sort_keys=True))
    out = kojistack(installed, tmp_path, "deploy", "--stack-name", "koji", "--template", str(moto_ready),
                    "--bucket", "koji-templates", "--poll-seconds", "0",
                    *[x for k, v in params.items() for x in ("--param", f"{k}={v}")])
    assert "stack koji: CREATE_COMPLETE" in out
