"""The controller as shipped: installed as `kojistack_controller` (relative imports only), run by
its unit, stdlib + boto3 + koji only, Python 3.9 compatible, settings from stack.env."""

import ast
import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kojistack import names
from kojistack.controller import decide, settings
from support import python39
from support.channels import BUILDER_CHANNELS, HUB_CHANNELS
from support.paths import REPO

CHANNEL_DEFAULT = names.CHANNEL_DEFAULT

PKG = REPO / "kojistack" / "controller"
UNIT = REPO / "cloud-init" / "payload" / "hub" / "systemd" / names.UNIT_CONTROLLER  # beside its drop-in
ALLOWED_TOP = set(sys.stdlib_module_names) | {"boto3", "botocore", "koji"}


def test_imports_only_stdlib_boto3_koji_and_relative():
    for path in sorted(PKG.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: fine
                    continue
                names = [(node.module or "").split(".")[0]]
            else:
                continue
            assert set(names) <= ALLOWED_TOP, f"{path.name}: imports {names}"


def test_vermin_says_python_3_9():
    vermin = str(Path(sys.executable).with_name("vermin"))
    proc = subprocess.run([vermin, "--target=3.9-", "--no-tips", "--violations", str(PKG)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_decisions_run_on_python_3_9(tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(PKG, lib / "kojistack_controller", ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import kojistack_controller.decide as d, kojistack_controller.settings as s; "
            f"st = d.Observed(0.0, (d.Task(1, 'buildArch', 'x86_64', {CHANNEL_DEFAULT!r}, 0, 1.0),), (), (), "
            f"(d.Group('g', 'x86_64', 0, 3, 0, 4.0),)); print(d.plan(st, d.Policy({BUILDER_CHANNELS!r}, "
            f"{HUB_CHANNELS!r}, {HUB_CHANNELS[0]!r})).desired)")
    proc = subprocess.run([python39(), "-c", code], cwd=lib, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "{'x86_64': 1}"
    assert subprocess.run([python39(), "-m", "compileall", "-q", str(lib)], capture_output=True).returncode == 0


def test_runs_as_installed_module_and_explains_a_missing_env(tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(PKG, lib / "kojistack_controller", ignore=shutil.ignore_patterns("__pycache__"))
    env_file = tmp_path / "stack.env"
    env_file.write_text("KOJISTACK_STACK_NAME='ks'\nKOJISTACK_REGION='us-east-1'\n")
    names_file = tmp_path / "names.env"
    names_file.write_text(names.env_text())

    def controller(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kojistack_controller", "--env", str(env_file), *args, "--once"],
                              cwd=lib, capture_output=True, text=True, env={"PYTHONPATH": str(lib), "PATH": "/usr/bin"})
    proc = controller("--names", str(names_file))
    assert proc.returncode == 2
    assert "KOJISTACK_ARCHES is missing or empty in /etc/kojistack/stack.env" in proc.stderr
    # without the payload's names.env: says which file, no traceback
    proc = controller("--names", str(tmp_path / "absent.env"))
    assert proc.returncode == 2 and "absent.env" in proc.stderr and "Traceback" not in proc.stderr


def test_settings_name_the_shared_name_that_is_missing():
    env = {f"KOJISTACK_{k}": v for k, v in {"STACK_NAME": "ks", "REGION": "us-east-1", "ARCHES": "x86_64",
                                             "INTERNAL_NLB_DNS": "int", "METRICS_NAMESPACE": "kojistack/ks",
                                             "SSM_PREFIX": "/kojistack/ks/u"}.items()}
    env.update(names.env())
    assert settings.from_env(env).names.launch_hook == names.BUILDER_LAUNCH_HOOK
    del env["KOJISTACK_BUILDER_TERMINATE_HOOK"]
    with pytest.raises(settings.SettingsError,
                       match="KOJISTACK_BUILDER_TERMINATE_HOOK is missing or empty in /opt/kojistack/names.env"):
        settings.from_env(env)


def test_unit_file(tmp_path):
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read(UNIT)
    svc = cp["Service"]
    assert svc["ExecStart"] == "/usr/bin/python3 -m kojistack_controller"
    assert "PYTHONPATH=/opt/kojistack/lib" in svc["Environment"] or "PYTHONPATH=/opt/kojistack/lib" in open(
        UNIT).read()
    assert svc["Restart"] == "always"
    assert svc["ProtectSystem"] == "strict" and svc["NoNewPrivileges"] == "yes"
    alone = tmp_path / UNIT.name  # the unit itself; its drop-in (beside it) names units of the hub
    shutil.copy(UNIT, alone)
    proc = subprocess.run(["systemd-analyze", "verify", str(alone)],
                          capture_output=True, text=True)
    problems = [line for line in proc.stderr.splitlines()
                if names.UNIT_CONTROLLER in line and "/usr/bin/python3" not in line]
    assert not problems, proc.stderr


def test_settings_from_stack_env():
    env = settings.parse_env("""# written by the hub bootstrap
KOJISTACK_STACK_NAME='ks'
KOJISTACK_REGION='eu-west-1'
KOJISTACK_INTERNAL_NLB_DNS='ks-int.elb.eu-west-1.amazonaws.com'
KOJISTACK_ARCHES='x86_64 aarch64'
KOJISTACK_BUILDER_MAX_X86_64='8'
KOJISTACK_BUILDER_MAX_AARCH64='2'
KOJISTACK_BUILDER_IDLE_MINUTES='15'
KOJISTACK_METRICS_NAMESPACE='kojistack/ks'
KOJISTACK_SSM_PREFIX='/ks/kojistack'
""")
    env.update(names.env())  # /opt/kojistack/names.env (the payload)
    s = settings.from_env(env)
    assert s.hub_url == "https://ks-int.elb.eu-west-1.amazonaws.com/kojihub"
    assert s.group_name("aarch64") == "ks-builders-aarch64"
    assert (s.policy.idle_seconds, s.policy.primary_arch) == (900.0, "x86_64")
    assert s.policy.spare_tasks == decide.SPARE_TASKS == decide.Policy((), (), "").spare_tasks
    assert settings.from_env(dict(env, KOJISTACK_BUILDER_SPARE_TASKS="0")).policy.spare_tasks == 0
    assert s.policy.spare_fraction == decide.SPARE_FRACTION == decide.Policy((), (), "").spare_fraction
    assert settings.from_env(dict(env, KOJISTACK_BUILDER_SPARE_FRACTION="0.1")).policy.spare_fraction == 0.1
    assert not hasattr(s, "max_size"), "builder sizes come from the groups at run time, never from stack.env"
    with pytest.raises(settings.SettingsError, match="unknown arch 'ppc64le'"):
        settings.from_env(dict(env, KOJISTACK_ARCHES="ppc64le"))
    with pytest.raises(settings.SettingsError, match="does not parse"):
        settings.from_env(dict(env, KOJISTACK_BUILDER_IDLE_MINUTES="ten"))
    with pytest.raises(settings.SettingsError, match="does not parse"):
        settings.from_env(dict(env, KOJISTACK_BUILDER_SPARE_TASKS="two"))
