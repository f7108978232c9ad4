"""The configs the bootstrap renders (files/conf/*.in), rendered by kojistack_hub.render as at
boot, parsed the way each koji component parses them, and held against the keys koji 1.35.3
accepts (reference/koji.md §10, read from koji's source: unknown keys are fatal for kojid and
kojira and silently ignored by the hub and kojiweb)."""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import pytest

from kojistack import names
from kojistack.sim.engine import HUB_MEM_TOTAL_KIB, SimConfig

from .conftest import CLOUD_INIT, HUB_FILES, run

KOJID_KEYS = set("""sleeptime maxjobs buildroot_basic_cleanup_delay buildroot_final_cleanup_delay
literal_task_arches minspace admin_emails log_level topdir topurl workdir chroot_tmpdir pluginpath
mockdir mockuser packager vendor distribution mockhost smtphost smtp_user smtp_pass from_addr
krb_principal host_principal_format keytab ccache server user password retry_interval max_retries
offline_retry offline_retry_interval log_timestamps timeout no_ssl_verify use_fast_upload
use_createrepo_c createrepo_skip_stat createrepo_update distrepo_skip_stat copy_old_repodata
mock_bootstrap_image pkgurl allowed_scms allowed_scms_use_config allowed_scms_use_policy
scm_credentials_dir support_rpm_source_layout yum_proxy maven_repo_ignore failed_buildroot_lifetime
rpmbuild_timeout oz_install_timeout xz_options task_avail_delay cert serverca allow_noverifyssl
allow_password_in_scm_url build_arch_can_fail plugin plugins""".split())
KOJIRA_KEYS = set("""deleted_repo_lifetime retry_interval max_retries offline_retry_interval
max_delete_processes dist_repo_lifetime sleeptime expired_repo_lifetime repo_lifetime recheck_period
reference_recheck_period topdir server user password logfile principal keytab cert serverca ccache
verbose debug ignore_stray_repos offline_retry no_ssl_verify check_external_repos
ignore_other_volumes""".split())
HUB_KEYS = set("""DBName DBUser DBHost DBhost DBPort DBPass DBConnectionString KojiDir ProxyPrincipals
HostPrincipalFormat AllowedKrbRealms DisableURLSessions DNUsernameComponent ProxyDNs CheckClientIP
LoginCreatesUser AllowProxyAuthType KojiWebURL EmailDomain NotifyOnSuccess DisableNotifications
Plugins PluginPath KojiDebug KojiTraceback VerbosePolicy LogLevel LogFormat MissingPolicyOk
EnableMaven EnableWin RLIMIT_AS RLIMIT_CORE RLIMIT_CPU RLIMIT_DATA RLIMIT_FSIZE RLIMIT_MEMLOCK
RLIMIT_NOFILE RLIMIT_NPROC RLIMIT_OFILE RLIMIT_RSS RLIMIT_STACK MemoryWarnThreshold
MaxRequestLength LockOut ServerOffline OfflineMessage MaxNameLengthInternal RegexNameInternal
RegexUserName RPMDefaultChecksums SessionRenewalTimeout MaxJobs CapacityOvercommit ReadyTimeout
AssignTimeout SoftRefusalTimeout HostTimeout RunInterval MaxRepoTasks MaxRepoTasksMaven RepoRetries
RequestCleanTime AllowNewRepo RepoLag RepoAutoLag RepoLagWindow RepoQueueUser DebuginfoTags
SourceTags SeparateSourceTags""".split())
WEB_KEYS = set("""SiteName KojiHubURL KojiFilesURL KojiTheme KojiGreeting LiteralFooter WebPrincipal
WebKeytab WebCCache KrbService KrbRDNS KrbCanonHost KrbServerRealm WebAuthType WebCert KojiHubCA
PythonDebug LoginTimeout Secret LoginDisabled LibPath LogLevel LogFormat Tasks ToplevelTasks
ParentTasks MBS_WEB_URL""".split())
# util/koji-gc cfgmap (koji-1.35.3), section [main]
GC_KEYS = set("""test debug keytab principal runas user password noauth cert serverca server weburl
smtp_host smtp_user smtp_pass from_addr cc_addr bcc_addr email_template email_domain mail delay
unprotected_keys tag_filter ignore_tags pkg_filter bypass_locks grace_period trashcan_tag purge
no_ssl_verify timeout lock_file exit_on_lock ccache key_aliases""".split())

VALUES = {
    "KOJISTACK_DB_ADDRESS": "koji.abc.eu-west-1.rds.amazonaws.com", "KOJISTACK_DB_PORT": "5432",
    "KOJI_DB_PASSWORD_DSN": "'p\\\\w\\'d'", "KOJISTACK_PROXY_DNS": "CN=kojiweb,O=kojistack",
    "KOJISTACK_PEOPLE_HOST": "koji.example.org", "KOJISTACK_INTERNAL_NLB_DNS": "koji-int.elb.amazonaws.com",
    "KOJI_WEB_SECRET_CONF": "s3%%cret", "KOJISTACK_CHECK_EXTERNAL_REPOS": "true",
    "KOJISTACK_BUILD_FROM_SCM_RULE": "all :: allow", "KOJISTACK_HTTPS_PORT": "443",
    "KOJISTACK_ALLOWED_SCMS": "", "KOJISTACK_SCM_USE_CONFIG": "False",
    "KOJISTACK_PKI_DIR": "/etc/kojistack/pki", "KOJISTACK_DB_CLASS": "db.t4g.small",
    "KOJISTACK_HTTPD_SERVER_LIMIT": "6", "KOJISTACK_HTTPD_THREADS_PER_CHILD": "25",
    "KOJISTACK_HTTPD_MAX_REQUEST_WORKERS": "150", "KOJISTACK_LIGHT_MAXJOBS": "189",
    **names.env(),  # /opt/kojistack/names.env (the payload), exported by sh/common.sh
}


def render(name: str, tmp_path: Path, values: dict[str, str] = VALUES) -> Path:
    out = tmp_path / name.removesuffix(".in")
    env = dict(os.environ, **values, PYTHONPATH=str(HUB_FILES / "python"))
    run("python3", "-m", "kojistack_hub", "render", HUB_FILES / "conf" / name, out, "--mode", "0640", env=env)
    return out


def parse(path: Path, raw: bool = True) -> configparser.ConfigParser:
    parser = configparser.RawConfigParser() if raw else configparser.ConfigParser()
    parser.optionxform = str  # keep the case, as koji does
    parser.read(path)
    return parser


@pytest.mark.parametrize("name, section, known", [
    ("kojid.conf.in", "kojid", KOJID_KEYS), ("kojira.conf.in", "kojira", KOJIRA_KEYS),
    ("hub.conf.in", "hub", HUB_KEYS), ("web.conf.in", "web", WEB_KEYS),
    ("koji-gc.conf.in", "main", GC_KEYS)])
def test_only_keys_koji_accepts(name: str, section: str, known: set[str], tmp_path: Path):
    conf = parse(render(name, tmp_path))
    sections = set(conf.sections())
    assert section in sections
    assert sections <= {section, "prune"}  # kojid refuses any other section
    assert set(conf[section]) <= known, set(conf[section]) - known
    if name == "koji-gc.conf.in":
        assert conf["prune"]["policy"].strip() == "tag * :: keep"


def test_koji_gc_prune_policy_uses_only_koji_gcs_tests(tmp_path: Path):
    """koji-gc parses [prune] policy with koji's policy engine and only the tests defined in koji-gc
    itself (util/koji-gc, koji 1.35.3: findSimpleTests(globals()) finds TagPruneTest 'tag',
    PackagePruneTest 'package', VolumePruneTest 'volume', SigPruneTest 'sig', OrderPruneTest 'order',
    AgePruneTest 'age', HasTagPruneTest 'hastag'); an unknown test such as `all` stops every run with
    "missing test handler" (seen on the real hub). The names are koji-gc's; the parser is koji's."""
    import koji.policy

    class Tag(koji.policy.MatchTest):
        name, field = "tag", "tagname"

    tests = {"tag": Tag}
    tests.update({name: type(name, (koji.policy.BaseSimpleTest,), {"name": name})
                  for name in ("package", "volume", "sig", "order", "age", "hastag")})
    policy = parse(render("koji-gc.conf.in", tmp_path))["prune"]["policy"]
    rules = koji.policy.SimpleRuleSet(policy.strip().splitlines(), tests)
    assert rules.apply({"tagname": "kojistack"}) == "keep"
    assert rules.apply({"tagname": "kojistack-build"}) == "keep"


def test_hub_conf_values(tmp_path: Path):
    hub = parse(render("hub.conf.in", tmp_path))["hub"]
    assert hub["CheckClientIP"] == "False" and hub["DNUsernameComponent"] == "CN"
    assert hub["ProxyDNs"] == "CN=kojiweb,O=kojistack"
    dsn = hub["DBConnectionString"]
    assert "sslmode=verify-full" in dsn and "sslrootcert=/etc/kojistack/pki/rds-ca.pem" in dsn
    assert "password='p\\\\w\\'d'" in dsn and "host=koji.abc.eu-west-1.rds.amazonaws.com" in dsn
    assert hub["KojiWebURL"] == "https://koji.example.org/koji"


def test_channel_policy_is_the_verified_one(tmp_path: Path):
    policy = parse(render("hub-policy.conf.in", tmp_path))["policy"]
    assert [line.strip() for line in policy["channel"].strip().splitlines()] == [
        "has req_channel :: req",
        "method build chainbuild waitrepo tagBuild tagNotification buildNotification dependantTask :: use light",
        "method buildArch buildSRPMFromSCM rebuildSRPM :: use default",
        "is_child_task :: parent",
        "all :: use default"]
    assert policy["build_from_scm"].strip().splitlines()[0] == "all :: allow"


def test_channel_policy_takes_the_channels_from_names_env(tmp_path: Path):
    """The policy names its channels by names.env (kojistack/names.py), so a renamed light channel
    (the stack's own) is the one coordination tasks go to; default is koji's and stays."""
    values = {**VALUES, "KOJISTACK_CHANNEL_LIGHT": "ks-renamed-light"}
    channel = parse(render("hub-policy.conf.in", tmp_path, values))["policy"]["channel"]
    assert ":: use ks-renamed-light" in channel and ":: use light" not in channel
    assert ":: use default" in channel


def test_the_configs_take_the_stack_s_users_from_names_env(tmp_path: Path):
    """The hub's own host, kojira's and kojiweb's users are names.env's (kojistack/names.py): renamed
    there, each config names the renamed user's certificate (kojistack-bootstrap issues it under that
    name) and the hub queues repos for the renamed kojira user."""
    renamed = {"KOJISTACK_HUB_HOST": "ks-renamed-hub", "KOJISTACK_USER_KOJIRA": "ks-renamed-kojira",
               "KOJISTACK_USER_WEB": "ks-renamed-web"}
    values = {**VALUES, **renamed, "KOJISTACK_LIGHT_MAXJOBS": "10"}
    assert parse(render("kojid.conf.in", tmp_path, values))["kojid"]["cert"] == \
        "/etc/kojistack/pki/ks-renamed-hub.pem"
    assert parse(render("kojira.conf.in", tmp_path, values))["kojira"]["cert"] == \
        "/etc/kojistack/pki/ks-renamed-kojira.pem"
    assert parse(render("web.conf.in", tmp_path, values), raw=False)["web"]["WebCert"] == \
        "/etc/kojistack/pki/ks-renamed-web.pem"
    assert parse(render("hub.conf.in", tmp_path, values))["hub"]["RepoQueueUser"] == "ks-renamed-kojira"


def test_web_secret_survives_kojiweb_interpolation(tmp_path: Path):
    web = parse(render("web.conf.in", tmp_path), raw=False)["web"]
    assert web["Secret"] == "s3%cret"  # kojiweb reads web.conf with interpolation
    assert web["KojiHubURL"] == "https://koji-int.elb.amazonaws.com/kojihub"
    assert web["WebCert"] == f"/etc/kojistack/pki/{names.USER_WEB}.pem"


def test_hub_kojid_has_room_for_build_parents_and_uses_the_internal_endpoint(tmp_path: Path):
    """maxjobs comes from the hub's memory (`kojistack_hub light-slots`), and the simulator's
    as-shipped hub is the default hub instance (m7i.large) sized by the same rule."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal:       {HUB_MEM_TOTAL_KIB} kB\nMemFree:        100 kB\n")
    env = dict(os.environ, PYTHONPATH=str(HUB_FILES / "python"))
    slots = dict(line.split("=") for line in run("python3", "-m", "kojistack_hub", "light-slots", "--meminfo",
                                                    meminfo, env=env).stdout.splitlines())
    kojid = parse(render("kojid.conf.in", tmp_path, dict(VALUES, **slots)))["kojid"]
    assert int(kojid["maxjobs"]) == SimConfig().light_maxjobs > 50  # waiting parents count (docs/simulator.md)
    assert float(slots["KOJISTACK_LIGHT_CAPACITY"]) == SimConfig().light_capacity
    hub = parse(render("hub.conf.in", tmp_path), raw=True)["hub"]
    assert int(hub["MaxRepoTasks"]) <= 4  # repo work stays small on the hub
    assert kojid["server"] == "https://koji-int.elb.amazonaws.com/kojihub"
    assert kojid["topurl"] == "https://koji-int.elb.amazonaws.com/kojifiles"
    assert kojid["cert"] == f"/etc/kojistack/pki/{names.HUB_HOST}.pem"


@pytest.mark.parametrize("seeded", ["true", "false"])
def test_kojira_checks_external_repos_when_seeded(seeded: str, tmp_path: Path):
    kojira = parse(render("kojira.conf.in", tmp_path, dict(VALUES, KOJISTACK_CHECK_EXTERNAL_REPOS=seeded)))
    assert kojira.getboolean("kojira", "check_external_repos") is (seeded == "true")


def test_httpd_limits_are_rendered(tmp_path: Path):
    text = render("kojistack-httpd.conf.in", tmp_path).read_text()
    assert "ServerLimit 6" in text and "ThreadsPerChild 25" in text and "MaxRequestWorkers 150" in text
    assert "EnableSendfile Off" in text and "EnableMMAP Off" in text


def test_every_placeholder_is_provided_at_boot():
    """Each @NAME@ is a stack.env value (the lead's hub_env), a names.env value (the payload), exported
    by the bootstrap, or printed by `kojistack_hub httpd-limits` or `light-slots`: no config can fail
    to render on a real hub."""
    from kojistack import names
    from kojistack.config import Config
    from kojistack.template.hub import hub_env
    from kojistack.template.payload import hub_payload

    provided = {f"KOJISTACK_{name}" for name in hub_env(Config(), hub_payload())} | set(names.env())
    for script in (HUB_FILES / "bin" / "kojistack-bootstrap", HUB_FILES / "sh" / "common.sh"):
        for line in script.read_text().splitlines():
            match = re.match(r"\s*export (.*)", line)
            if match:
                provided |= {w.split("=")[0] for w in match.group(1).split() if re.match(r"[A-Z_]+", w)}
    env = dict(os.environ, PYTHONPATH=str(HUB_FILES / "python"))
    limits = run("python3", "-m", "kojistack_hub", "httpd-limits", "db.t4g.small", env=env).stdout
    limits += run("python3", "-m", "kojistack_hub", "light-slots", env=env).stdout
    provided |= {line.split("=")[0] for line in limits.splitlines()}
    for template in sorted((HUB_FILES / "conf").glob("*.in")):
        used = set(re.findall(r"@([A-Z][A-Z0-9_]*)@", template.read_text()))
        assert used <= provided, (template.name, used - provided)


class _HubPolicySession:
    """What kojid's SCM check asks the hub: evalPolicy('build_from_scm', data), answered by koji's
    own policy engine (koji.policy) over the rendered policy. has_perm is kojihub's HasPermTest
    (kojihub/kojihub.py, koji 1.35.3: true if the task owner, data['user_id'], holds a matching
    permission), which only the hub package carries; here it looks the owner up in `perms`."""

    def __init__(self, rules: str, perms: dict[int, list[str]]):
        import fnmatch

        import koji.policy

        class HasPerm(koji.policy.BaseSimpleTest):
            name = "has_perm"

            def run(self, data):
                return any(fnmatch.fnmatch(p, pat) for p in perms.get(data["user_id"], [])
                           for pat in self.str.split()[1:])

        tests = koji.policy.findSimpleTests(vars(koji.policy))
        tests["has_perm"] = HasPerm
        self.ruleset = koji.policy.SimpleRuleSet(rules.strip().splitlines(), tests)

    def evalPolicy(self, name: str, data: dict) -> str:  # noqa: N802 (koji's API name)
        assert name == "build_from_scm"
        return self.ruleset.apply(data)


def _scm_allowed(kojid: configparser.SectionProxy, policy: str, url: str, user_id: int) -> bool:
    """koji 1.35.3's own SCM check as kojid runs it (builder/kojid: defaults allowed_scms '',
    allowed_scms_use_config True, allowed_scms_use_policy False; koji.daemon.SCM.assert_allowed)."""
    import koji
    import koji.daemon

    scm = koji.daemon.SCM(url)
    try:
        scm.assert_allowed(allowed=kojid.get("allowed_scms", ""),
                           session=_HubPolicySession(policy, {1: ["admin"], 2: ["packager"]}),
                           by_config=kojid.getboolean("allowed_scms_use_config", True),
                           by_policy=kojid.getboolean("allowed_scms_use_policy", False),
                           policy_data={"user_id": user_id, "scratch": True, "channel": "default"})
    except koji.BuildError:
        return False
    return True


@pytest.mark.parametrize("scms", ["", "src.example.org:/rpms/*:no:fedpkg,sources"])
def test_allowed_scms_means_what_the_parameter_says(scms: str, tmp_path: Path):
    """AllowedScms empty: SCM builds are admin-only (the parameter's description), on the builders'
    kojid and the hub's; set: the listed SCMs for every user, nothing else for anyone."""
    env = dict(os.environ, KOJISTACK_ALLOWED_SCMS=scms, KOJISTACK_BOOTSTRAP_LIB="1",
               KOJISTACK_FILES=str(HUB_FILES),
               KOJISTACK_FETCH_PAYLOAD=str(CLOUD_INIT / "user-data" / "common" / "fetch-payload.sh"))
    out = run("bash", "-c", f". {HUB_FILES}/bin/kojistack-bootstrap; scm_values; "
              'echo "$KOJISTACK_BUILD_FROM_SCM_RULE|$KOJISTACK_SCM_USE_CONFIG"', env=env).stdout
    rule, use_config = out.strip().split("|")
    values = dict(VALUES, KOJISTACK_BUILD_FROM_SCM_RULE=rule, KOJISTACK_SCM_USE_CONFIG=use_config,
                  KOJISTACK_ALLOWED_SCMS=scms)
    policy = parse(render("hub-policy.conf.in", tmp_path, values))["policy"]["build_from_scm"]
    builder = run(CLOUD_INIT / "payload" / "builder" / "bin" / "kojistack-kojid-conf",
                  env=dict(os.environ, KOJISTACK_INTERNAL_NLB_DNS="h", KOJISTACK_ALLOWED_SCMS=scms)).stdout
    builder_conf = configparser.RawConfigParser()
    builder_conf.read_string(builder)
    listed = "git+https://src.example.org/rpms/bash.git#abc123"
    other = "git+https://github.com/someone/bash.git#abc123"
    for kojid in (builder_conf["kojid"], parse(render("kojid.conf.in", tmp_path, values))["kojid"]):
        admin, packager = 1, 2
        if scms:
            assert _scm_allowed(kojid, policy, listed, admin) and _scm_allowed(kojid, policy, listed, packager)
            assert not _scm_allowed(kojid, policy, other, admin)
            assert not _scm_allowed(kojid, policy, other, packager)
        else:
            assert _scm_allowed(kojid, policy, listed, admin) and _scm_allowed(kojid, policy, other, admin)
            assert not _scm_allowed(kojid, policy, listed, packager)
            assert not _scm_allowed(kojid, policy, other, packager)
