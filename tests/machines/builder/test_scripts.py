"""The builder's payload scripts run for real (bash, openssl, curl) against a fake `aws` CLI and a
loopback IMDSv2; the certificate comes from the controller's own signing code, so this is the
builder/controller registration contract end to end."""

import configparser
import json
import os
import subprocess
from pathlib import Path

import pytest

from fakes.pki import TestPki
from kojistack import names
from kojistack.controller import pki as ctl_pki
from support.paths import REPO

from .fakes_cli import Imds, install_fake_aws

BIN = REPO / "cloud-init" / "payload" / "builder" / "bin"
FETCH_LIB = REPO / "cloud-init" / "user-data" / "common" / "fetch-payload.sh"
IID = "i-0123456789abcdef0"
#: kojid.conf keys koji 1.35.3 accepts (builder/kojid get_options; reference/koji.md §10)
KOJID_KEYS = set("""sleeptime maxjobs buildroot_basic_cleanup_delay buildroot_final_cleanup_delay
literal_task_arches minspace admin_emails log_level topdir topurl workdir chroot_tmpdir pluginpath mockdir
mockuser packager vendor distribution mockhost smtphost smtp_user smtp_pass from_addr krb_principal
host_principal_format keytab ccache server user password retry_interval max_retries offline_retry
offline_retry_interval log_timestamps timeout no_ssl_verify use_fast_upload use_createrepo_c
createrepo_skip_stat createrepo_update distrepo_skip_stat copy_old_repodata mock_bootstrap_image pkgurl
allowed_scms allowed_scms_use_config allowed_scms_use_policy scm_credentials_dir support_rpm_source_layout
yum_proxy maven_repo_ignore failed_buildroot_lifetime rpmbuild_timeout oz_install_timeout xz_options
task_avail_delay cert serverca allow_noverifyssl allow_password_in_scm_url build_arch_can_fail plugin
plugins""".split())


@pytest.fixture
def box(tmp_path):
    imds = Imds(IID)
    install_fake_aws(tmp_path / "bin")
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}", FAKE_AWS_DIR=str(tmp_path),
               KOJISTACK_IMDS=imds.url, KOJISTACK_STATE_DIR=str(tmp_path / "state"),
               KOJISTACK_KOJID_DIR=str(tmp_path / "kojid"), KOJISTACK_REGION="us-east-1",
               KOJISTACK_SSM_PREFIX="/ks/kojistack", KOJISTACK_GROUP="ks-builders-x86_64",
               KOJISTACK_FETCH_LIB_PATH=str(FETCH_LIB), KOJISTACK_BOOTSTRAP_LIB="1",
               KOJISTACK_CERT_WAIT_SECONDS="2", KOJISTACK_CERT_POLL_SECONDS="0.2")
    yield tmp_path, env, imds
    imds.stop()


def bootstrap(env: dict, *steps: str) -> subprocess.CompletedProcess:
    script = f'. "{BIN / "kojistack-bootstrap"}"; ' + "; ".join(steps)
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)


def param(root: Path, name: str) -> Path:
    return root / "params" / name.strip("/").replace("/", "__")


def test_registration_round_trip_with_the_controllers_signing(box):
    root, env, _ = box
    proc = bootstrap(env, "hand_over")
    assert proc.returncode == 0, proc.stderr
    tag = json.loads((root / "tags.json").read_text())[IID][names.TAG_CSR_SHA256]
    csr = param(root, f"/ks/kojistack/csr/{IID}").read_text()
    assert ctl_pki.csr_key_sha256(csr) == tag  # both sides hash the key the same way
    assert "PRIVATE KEY" not in csr and oct((root / "kojid" / "client.key").stat().st_mode & 0o777) == "0o600"
    pki = TestPki.create(str(root))
    cert = ctl_pki.sign_builder_csr(csr, "x86-64-07", "x86_64", pki.builder_ca_crt, pki.builder_ca_key)
    param(root, f"/ks/kojistack/cert/{IID}").write_text(cert)
    proc = bootstrap(env, "identity")
    assert proc.returncode == 0, proc.stderr
    assert "registered as x86-64-07" in proc.stderr
    pem = root / "kojid" / "client.pem"
    assert oct(pem.stat().st_mode & 0o777) == "0o600"
    subject = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-subject"], capture_output=True,
                             text=True).stdout
    assert "CN = x86-64-07" in subject
    verify = subprocess.run(["openssl", "verify", "-CAfile", pki.ca_pem, "-untrusted", pki.builder_ca_crt, str(pem)],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # a reboot: the certificate is there, nothing is handed over again
    (root / "calls.log").write_text("")
    assert bootstrap(env, "hand_over", "identity").returncode == 0
    assert (root / "calls.log").read_text() == ""


def test_a_certificate_for_another_key_is_refused(box):
    root, env, _ = box
    assert bootstrap(env, "hand_over").returncode == 0
    pki = TestPki.create(str(root))
    other = subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", str(root / "other.key"), "-subj", "/CN=x"],
                           capture_output=True, text=True, check=True).stdout
    cert = ctl_pki.sign_builder_csr(other, "x86-64-07", "x86_64", pki.builder_ca_crt, pki.builder_ca_key)
    param(root, f"/ks/kojistack/cert/{IID}").write_text(cert)
    proc = bootstrap(env, "identity")
    assert proc.returncode != 0 and "not for this instance's key" in proc.stderr
    assert not (root / "kojid" / "client.pem").exists()


def test_no_certificate_in_time_fails_without_touching_auto_scaling(box):
    """The builder role has no Auto Scaling action (issue 11 item 6): the failure record that
    kojistack-report writes is the hand-over, and the controller abandons or replaces the instance."""
    root, env, _ = box
    proc = bootstrap(env, "trap give_up EXIT", "hand_over", "identity")
    assert proc.returncode != 0 and "no certificate from the controller" in proc.stderr
    assert "the controller replaces this instance" in proc.stderr
    calls = (root / "calls.log").read_text().splitlines()
    assert not [c for c in calls if " autoscaling " in f" {c} "], calls


def kojid_conf(env: dict, **extra: str) -> configparser.ConfigParser:
    out = subprocess.run([str(BIN / "kojistack-kojid-conf")], env=dict(env, **extra), capture_output=True,
                         text=True, check=True).stdout
    cp = configparser.ConfigParser()
    cp.read_string(out)
    return cp


@pytest.mark.parametrize("scms", ["", "github.com:/*:no"])
def test_kojid_conf_uses_only_accepted_keys(box, scms):
    _, env, _ = box
    cp = kojid_conf(env, KOJISTACK_INTERNAL_NLB_DNS="ks-int-0123.elb.us-east-1.amazonaws.com", KOJISTACK_VCPUS="8",
                    KOJISTACK_ALLOWED_SCMS=scms)
    assert cp.sections() == ["kojid"]
    keys = set(cp["kojid"])
    assert keys <= KOJID_KEYS, keys - KOJID_KEYS
    k = cp["kojid"]
    assert k["server"] == "https://ks-int-0123.elb.us-east-1.amazonaws.com/kojihub"
    assert k["topurl"] == "https://ks-int-0123.elb.us-east-1.amazonaws.com/kojifiles"
    assert (k["maxjobs"], k["minspace"], k["mockdir"]) == ("8", "8192", "/var/lib/mock")
    assert k["cert"].endswith("/client.pem") and k["serverca"].endswith("/serverca.crt")
    assert "topdir" not in k  # no NFS on builders: kojid fetches through topurl
    assert k["allowed_scms"] == scms and k.getboolean("allowed_scms_use_policy")
    assert k.getboolean("allowed_scms_use_config") == bool(scms)  # empty: the hub's policy alone decides


def spot_watch(root: Path, env: dict, polls: int = 1) -> subprocess.CompletedProcess:
    fake = root / "bin" / "systemctl"
    fake.write_text(f'#!/bin/bash\necho "systemctl $*" >> "{root}/systemctl.log"\n')
    fake.chmod(0o755)
    # its unit's EnvironmentFile: the payload's names.env
    env = dict(env, **names.env(), KOJISTACK_SPOT_MAX_POLLS=str(polls), KOJISTACK_SPOT_POLL_SECONDS="0")
    return subprocess.run([str(BIN / "kojistack-spot-watch")], env=env, capture_output=True, text=True)


def test_spot_watch_does_nothing_without_a_notice(box):
    root, env, _ = box
    assert spot_watch(root, env).returncode == 0
    assert not (root / "systemctl.log").exists()


def test_spot_watch_is_one_quiet_process(box):
    """Issue 11 item 10: a oneshot timer every 5 s wrote ~34,000 journal lines a day per builder.
    One process polls; it asks IMDS for a token once (valid 6 h) and logs nothing while all is well."""
    root, env, imds = box
    proc = spot_watch(root, env, polls=40)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == ""
    assert (imds.spot_polls, imds.tokens) == (40, 1)
    assert not (root / "systemctl.log").exists()


def test_spot_watch_stops_kojid_at_once_on_a_notice(box):
    root, env, imds = box
    imds.spot_notice = {"action": "terminate", "time": "2026-11-26T18:00:00Z"}
    proc = spot_watch(root, env, polls=100)
    assert proc.returncode == 0 and "spot interruption notice" in proc.stderr
    assert (root / "systemctl.log").read_text() == f"systemctl stop {names.UNIT_KOJID}\n"
    assert imds.spot_polls == 1  # and then it is done


def test_spot_watch_survives_an_unreachable_imds_and_says_so_once(box):
    root, env, _ = box
    proc = spot_watch(root, dict(env, KOJISTACK_IMDS="http://127.0.0.1:9/latest"), polls=5)
    assert proc.returncode == 0
    assert proc.stderr.count("IMDS does not answer") == 1
    assert not (root / "systemctl.log").exists()


def test_builders_install_the_hubs_koji_from_the_hub_whatever_the_mirrors_carry(box):
    """The hub keeps its koji RPMs under /mnt/koji/kojistack-koji (hub kojistack-bootstrap) and
    publishes the build in SSM; a builder installs exactly that build from the hub's topurl, even
    when the mirrors (EPEL keeps only its newest build) have moved on."""
    from fakes.rpmhost import install_fake_rpm_tools, installed

    root, env, _ = box
    hub = (REPO / "cloud-init" / "payload" / "hub" / "bin" / "kojistack-bootstrap").read_text()
    assert "KOJI_KEEP=${KOJISTACK_KOJI_KEEP:-/mnt/koji/kojistack-koji}" in hub  # served as $topurl/kojistack-koji
    rpm = root / "rpm"
    install_fake_rpm_tools(root / "bin", rpm, ["koji-builder-1.36.1-1.el9", "koji-1.36.1-1.el9",
                                               "python3-koji-1.36.1-1.el9", "mock-5.5-1.el9", "openssl-3-1",
                                               "curl-7-1", "python3-3.9-1", "python3-boto3-1.26-1"])
    served = rpm / "https" / "ks-int.elb.amazonaws.com" / "kojifiles" / "kojistack-koji"
    served.mkdir(parents=True)
    for name in ("koji-builder", "koji", "python3-koji", "koji-hub"):
        (served / f"{name}-1.35.3-1.el9.noarch.rpm").write_text("")
    param(root, "/ks/kojistack/koji-version").parent.mkdir(parents=True, exist_ok=True)
    param(root, "/ks/kojistack/koji-version").write_text("1.35.3-1.el9")
    env = dict(env, FAKE_RPM_DIR=str(rpm), KOJISTACK_INTERNAL_NLB_DNS="ks-int.elb.amazonaws.com",
               KOJISTACK_URL_SUFFIX="amazonaws.com")
    proc = bootstrap(env, "start_log_shipping() { :; }", "packages")  # the shipper has its own tests
    assert proc.returncode == 0, proc.stderr
    assert {"koji-builder-1.35.3-1.el9", "koji-1.35.3-1.el9", "python3-koji-1.35.3-1.el9"} <= installed(rpm)
    assert not any("1.36.1" in p for p in installed(rpm))
    dnf = [line for line in (rpm / "calls.log").read_text().splitlines() if " install koji-builder" in line][0]
    assert "--setopt=kojistack-koji.gpgcheck=1" in dnf  # the distro's signatures are still checked


def test_mock_runs_without_a_bootstrap_chroot():
    """koji's advice for builders (docs/source/mock_config.rst, "Site defaults"): use_bootstrap off
    in /etc/mock/site-defaults.cfg, which mock executes as Python with config_opts in scope."""
    from collections import defaultdict

    config_opts: dict = defaultdict(dict)
    exec((REPO / "cloud-init" / "payload" / "builder" / "conf" / "mock-site-defaults.cfg").read_text(),
         {"config_opts": config_opts})
    assert config_opts["use_bootstrap"] is False and config_opts["use_bootstrap_image"] is False
    assert config_opts["plugin_conf"]["root_cache_enable"] is True


def test_spot_watch_unit_is_a_long_running_service():
    unit = (BIN.parent / "systemd" / names.UNIT_SPOT_WATCH).read_text()
    assert "Type=simple" in unit and "Restart=on-failure" in unit
    assert "ExecStart=/opt/kojistack/files/bin/kojistack-spot-watch" in unit
    assert not (BIN.parent / "systemd" / "kojistack-spot-watch.timer").exists()
    assert (BIN.parent / "systemd" / names.UNIT_SPOT_WATCH).is_file()
    assert '"$KOJISTACK_UNIT_SPOT_WATCH"' in (BIN / "kojistack-bootstrap").read_text()


@pytest.mark.parametrize("mem_kib", [7_800_000, 8_388_608, 3_900_000, 1_000_000, 500_000])
def test_a_light_hosts_maxjobs_is_the_controllers_light_slots_of_its_memtotal(box, mem_kib):
    """Light hosts (issue 14 item 1): kojid's maxjobs from MemTotal by decide.light_slots, the formula
    the controller sizes the group with; no buildroot keys change."""
    from kojistack.controller import decide

    root, env, _ = box
    meminfo = root / "meminfo"
    meminfo.write_text(f"MemTotal:       {mem_kib} kB\nMemFree:          1000 kB\n")
    k = kojid_conf(env, KOJISTACK_INTERNAL_NLB_DNS="int", KOJISTACK_VCPUS="2", KOJISTACK_ROLE="light",
                   KOJISTACK_MEMINFO=str(meminfo))["kojid"]
    assert int(k["maxjobs"]) == decide.light_slots(mem_kib // 1024)
    assert set(k) <= KOJID_KEYS and k["minspace"] == "1024"  # a 20 GiB root volume (template/light.py)
    assert kojid_conf(env, KOJISTACK_INTERNAL_NLB_DNS="int", KOJISTACK_VCPUS="2", KOJISTACK_ROLE="builder",
                      KOJISTACK_MEMINFO=str(meminfo))["kojid"]["maxjobs"] == "2"


def test_a_light_host_takes_only_a_light_slot_certificate(box):
    root, env, _ = box
    env = dict(env, **names.env())
    pki = TestPki.create(str(root))
    assert bootstrap(dict(env, KOJISTACK_ROLE="light"), "hand_over").returncode == 0
    csr = param(root, f"/ks/kojistack/csr/{IID}").read_text()
    param(root, f"/ks/kojistack/cert/{IID}").write_text(
        ctl_pki.sign_builder_csr(csr, "x86-64-07", "x86_64", pki.builder_ca_crt, pki.builder_ca_key))
    proc = bootstrap(dict(env, KOJISTACK_ROLE="light"), "identity")
    assert proc.returncode != 0 and "not a light slot name" in proc.stderr
    param(root, f"/ks/kojistack/cert/{IID}").write_text(
        ctl_pki.sign_builder_csr(csr, "light-007", "light", pki.builder_ca_crt, pki.builder_ca_key))
    proc = bootstrap(dict(env, KOJISTACK_ROLE="light"), "identity")
    assert proc.returncode == 0 and "registered as light-007" in proc.stderr, proc.stderr
    proc = bootstrap(env, "rm -f $KOJISTACK_KOJID_DIR/client.pem", "identity")  # a builder refuses it
    assert proc.returncode != 0 and "not a builder slot name" in proc.stderr


@pytest.mark.parametrize("role", ["builder", "light"])
def test_every_role_installs_the_koji_log_rotation(box, role):
    """kojid logs to /var/log/kojid.log on every host; a light host (issue 14) skips the storage step
    (no buildroot) but its kojid logs all the same, so the rotation rule is not part of storage. main()
    runs with every step and the system calls it makes stubbed (install recorded)."""
    root, env, _ = box
    calls = root / "calls"
    stubs = "; ".join(f"{f}() {{ echo {f} >> {calls}; }}" for f in
                      ("load_env", "trust", "hand_over", "packages", "storage", "identity", "start_kojid"))
    script = (f'. "{BIN / "kojistack-bootstrap"}"; {stubs}; '
              f'install() {{ echo "install $*" >> {calls}; }}; main')
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env=dict(env, KOJISTACK_ROLE=role, KOJISTACK_RUN_DIR=str(root / "run")))
    assert proc.returncode == 0, proc.stderr
    done = calls.read_text().splitlines()
    assert "install -m 0644 /opt/kojistack/common/conf/logrotate-koji /etc/logrotate.d/kojistack" in done, done
    assert ("storage" in done) == (role == "builder") and done[-1] == "start_kojid"
