"""Every name the template and the machines share is declared once (kojistack/names.py) and
reaches every user from there (issue 13 item 1): renaming `ids.BUILDER_LAUNCH_HOOK` alone once left
197 tests green while a real controller would have completed a hook that no longer existed.

- nothing in kojistack/ or cloud-init/ spells a shared value again (the scripts and the controller
  read /opt/kojistack/names.env, which the payload carries);
- renamed, each name leaves the generated templates and both payloads entirely (template, IAM,
  names.env, every packed script), and the new one is in names.env;
- renamed, the builder hooks and tags still work end to end on the lifecycle rig: the controller,
  reading the payload's names.env, completes the template's renamed hooks (the fake group refuses
  any other hook name, as CompleteLifecycleAction does) and tags with the renamed keys.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import subprocess
import tarfile

import pytest
from moto import mock_aws

from kojistack import ids, names
from kojistack.config import ArchConfig, Config
from kojistack.template.compose import build_template
from support.paths import REPO

NEW = {
    "HUB_LAUNCH_HOOK": "ks-renamed-hub-hook", "BUILDER_LAUNCH_HOOK": "ks-renamed-launch",
    "BUILDER_TERMINATE_HOOK": "ks-renamed-drain", "TAG_STACK": "ks-renamed:stack",
    "TAG_CSR_SHA256": "ks-renamed:csr", "TAG_SLOT": "ks-renamed:slot",
    "TAG_DRAIN_STARTED": "ks-renamed:drain", "TAG_IDLE_MINUTES": "ks-renamed:idle",
    "TAG_SPARE_TASKS": "ks-renamed:spare",
    "SLOT_RE": "^(x86-64|aarch64)-[0-9][0-9]$", "LIGHT_SLOT_RE": "^lite-[0-9]{3}$",
}
CONFIG = Config(builders=(ArchConfig("x86_64", ("c6i.xlarge",)),))


def test_every_shared_name_has_a_rename_case():
    assert set(NEW) == set(names.SHARED)


@pytest.mark.parametrize("key", sorted(names.SHARED))
def test_no_user_spells_a_shared_name_again(key):
    value = names.shared()[key]
    out = subprocess.run(["git", "grep", "-n", "-F", value, "--", "kojistack", "cloud-init",
                          ":!kojistack/names.py"], cwd=REPO, capture_output=True, text=True).stdout
    assert not out, f"{key} ({value}) is spelled again outside kojistack/names.py:\n{out}"


def _payloads(t: dict) -> dict[str, dict[str, str]]:
    """{launch template: {member: text}} of every payload in a template's Metadata."""
    out = {}
    for lid, r in t["Resources"].items():
        p = r.get("Metadata", {}).get("kojistack", {}).get("payload")
        if p:
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(base64.b64decode(p["tgz_b64"])))) as tar:
                out[lid] = {m.name: tar.extractfile(m).read().decode("utf-8", "replace")
                            for m in tar.getmembers() if m.isfile()}
    return out


@pytest.mark.parametrize("key", sorted(names.SHARED))
def test_a_renamed_name_reaches_the_template_and_every_payload(key, monkeypatch):
    old, new = names.shared()[key], NEW[key]
    monkeypatch.setattr(names, key, new)
    for variant in ("new", "existing"):
        t = json.loads(json.dumps(build_template(Config(), variant).to_dict()))
        payloads = _payloads(t)
        assert payloads
        for lid, files in payloads.items():
            env = dict(re.findall(r"^KOJISTACK_(\w+)='(.*)'$", files[names.NAMES_ENV], re.M))
            assert env[key] == new, lid
            stale = [m for m, text in files.items() if old in text]
            assert not stale, f"{lid}: {stale} still spell {old}"
        outside = json.dumps({lid: {k: v for k, v in r.items() if k != "Metadata"}
                              for lid, r in t["Resources"].items()})
        assert old not in outside, f"the template still spells {old}"


@pytest.fixture
def renamed(monkeypatch):
    for key in ("BUILDER_LAUNCH_HOOK", "BUILDER_TERMINATE_HOOK", "TAG_CSR_SHA256", "TAG_SLOT",
                "TAG_DRAIN_STARTED", "TAG_IDLE_MINUTES", "TAG_SPARE_TASKS"):
        monkeypatch.setattr(names, key, NEW[key])


def test_renamed_hooks_and_tags_still_register_and_drain_builders(renamed, tmp_path, monkeypatch):
    """The controller and the builders, given a template whose builder hooks and tags are all
    renamed, register builders (the renamed launch hook completed, the renamed slot tag set) and
    drain them on delete (the renamed terminate hook)."""
    from lifecycle.rig import World

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    t = json.loads(json.dumps(build_template(CONFIG, "new").to_dict()))
    hooks = {h["LifecycleHookName"] for r in t["Resources"].values()
             for h in r.get("Properties", {}).get("LifecycleHookSpecificationList", [])}
    assert {NEW["BUILDER_LAUNCH_HOOK"], NEW["BUILDER_TERMINATE_HOOK"]} <= hooks
    with mock_aws():
        w = World(tmp_path, t, {"AccessCidr": "203.0.113.0/24", "BuilderX8664MinSize": "1"})
        try:
            w.stack.create()
            assert w.run(("CREATE_COMPLETE", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")) == "CREATE_COMPLETE"
            builders = [m for m in w.machines.values() if m.builder]
            assert builders
            tags = {t["Key"] for t in w.ec2.describe_tags(
                Filters=[{"Name": "resource-id", "Values": [m.id for m in builders]}])["Tags"]}
            assert NEW["TAG_SLOT"] in tags and NEW["TAG_CSR_SHA256"] in tags
            w.stack.delete()
            assert w.stack.run(lambda: w.tick(60), ("DELETE_COMPLETE", "DELETE_FAILED"), max_passes=400) \
                == "DELETE_COMPLETE"
        finally:
            w.stop()


#: the builder groups' tags the controller reads every loop: {names key: (its reader in loop, tag value, read)}
GROUP_TAGS = {"TAG_IDLE_MINUTES": ("group_idle_seconds", "tag_idle_minutes", "30", 1800.0),
              "TAG_SPARE_TASKS": ("group_spare_tasks", "tag_spare_tasks", "4", 4)}


@pytest.mark.parametrize("key", sorted(GROUP_TAGS))
def test_a_renamed_group_tag_reaches_the_controller(key, monkeypatch):
    """Renamed in kojistack/names.py, a builder group's knob tag is the key the template sets on
    every builder group and the key the controller, configured from the hub payload's names.env
    (settings.from_env, as on the hub), reads from that group."""
    from kojistack.controller import loop, settings

    reader, field, value, read = GROUP_TAGS[key]
    monkeypatch.setattr(names, key, NEW[key])
    t = json.loads(json.dumps(build_template(Config(), "new").to_dict()))
    for arch in Config().arches:
        tags = t["Resources"][ids.builder_group(arch)]["Properties"]["Tags"]
        assert NEW[key] in {tag["Key"] for tag in tags}, arch
    (env_text,) = {files[names.NAMES_ENV] for files in _payloads(t).values()}
    env = {f"KOJISTACK_{k}": v for k, v in re.findall(r"^KOJISTACK_(\w+)='(.*)'$", env_text, re.M)}
    stack = {"KOJISTACK_STACK_NAME": "ks", "KOJISTACK_REGION": "us-east-1", "KOJISTACK_ARCHES": "x86_64",
             "KOJISTACK_INTERNAL_NLB_DNS": "int", "KOJISTACK_METRICS_NAMESPACE": "kojistack/ks",
             "KOJISTACK_SSM_PREFIX": "/kojistack/ks/u"}
    tag = getattr(settings.from_env({**stack, **env}).names, field)
    assert tag == NEW[key]
    row = {"AutoScalingGroupName": "ks-builders-x86_64", "Tags": [{"Key": NEW[key], "Value": value}]}
    assert getattr(loop, reader)(row, tag) == read


@pytest.mark.parametrize("name", ["SLOT_RE", "LIGHT_SLOT_RE"])
def test_a_renamed_slot_pattern_stops_a_controller_that_names_slots_otherwise(monkeypatch, name):
    """The controller names builder and light slots itself (decide.SLOT_PATTERN, built from the
    arch prefixes, and decide.LIGHT_SLOT_PATTERN): a names.env whose pattern differs is refused at
    start, naming the variable."""
    from kojistack.controller import settings

    monkeypatch.setattr(names, name, NEW[name])
    env = {"KOJISTACK_STACK_NAME": "ks", "KOJISTACK_REGION": "us-east-1", "KOJISTACK_ARCHES": "x86_64",
           "KOJISTACK_INTERNAL_NLB_DNS": "int", "KOJISTACK_METRICS_NAMESPACE": "kojistack/ks",
           "KOJISTACK_SSM_PREFIX": "/kojistack/ks/u", **names.env()}
    with pytest.raises(settings.SettingsError, match=f"KOJISTACK_{name} in /opt/kojistack/names.env"):
        settings.from_env(env)


# --- the channels: common words ("default", "light"), so their users are found by use, not by text
CHANNEL_NEW = {"CHANNEL_DEFAULT": "ks-renamed-default", "CHANNEL_CREATEREPO": "ks-renamed-createrepo",
               "CHANNEL_LIGHT": "ks-renamed-light"}
#: the Python string constants equal to a channel name that are NOT channels, with why; any other
#: occurrence in kojistack/ is a channel spelled again (read kojistack.names instead)
NOT_CHANNELS = {
    ("kojistack/controller/decide.py", "light"): 1,  # decide.LIGHT: the light hosts' group key and slot prefix
    ("kojistack/ops/paramdoc.py", "default"): 2,  # CloudFormation's label key {"default": ...}
    ("kojistack/sim/engine.py", "light"): 4,  # the role of a simulated light host, not its channel
    ("kojistack/sim/metrics.py", "light"): 1,  # the same role
    ("kojistack/template/light.py", "light"): 2,  # a light host's KOJISTACK_ROLE and its Name tag suffix
    ("kojistack/template/dashboard.py", "light"): 1,  # the light metrics' Arch dimension (decide.LIGHT)
    ("kojistack/sim/engine.py", "createrepo"): 1,  # koji's task method createrepo (newRepo's children)
    ("kojistack/sim/trace.py", "createrepo"): 1,  # the same method, in a recorded trace
}


def _constants(path) -> list[str]:
    import ast
    return [n.value for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _spelled_in_python(values: set[str]) -> dict[tuple[str, str], int]:
    """{(module, value): count} of the string constants of kojistack/ (but names.py) in `values`."""
    found: dict[tuple[str, str], int] = {}
    for path in sorted((REPO / "kojistack").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel == "kojistack/names.py":
            continue
        for value in _constants(path):
            if value in values:
                found[(rel, value)] = found.get((rel, value), 0) + 1
    return found


def test_every_channel_has_a_rename_case():
    assert set(CHANNEL_NEW) == set(names.CHANNELS)


def test_no_python_spells_a_channel_again():
    """The controller (decide, settings, kojiport), the simulator and every other module of
    kojistack/ take the channel names from kojistack.names (the controller: from names.env)."""
    assert _spelled_in_python(set(names.channels().values())) == NOT_CHANNELS


@pytest.mark.parametrize("key", sorted(names.CHANNELS))
def test_a_renamed_channel_reaches_names_env_and_the_controller(key, monkeypatch):
    """Renamed in kojistack/names.py, a channel is in both payloads' names.env and the controller's
    policy built from it (settings.from_env, as on the hub). `default` and `createrepo` are Koji's own
    (a real hub would not accept other names): renaming them here only proves every user reads them."""
    from kojistack.controller import settings

    monkeypatch.setattr(names, key, CHANNEL_NEW[key])
    t = json.loads(json.dumps(build_template(Config(), "new").to_dict()))
    for lid, files in _payloads(t).items():
        env = dict(re.findall(r"^KOJISTACK_(\w+)='(.*)'$", files[names.NAMES_ENV], re.M))
        assert env[key] == CHANNEL_NEW[key], lid
    stack = {"KOJISTACK_STACK_NAME": "ks", "KOJISTACK_REGION": "us-east-1", "KOJISTACK_ARCHES": "x86_64",
             "KOJISTACK_INTERNAL_NLB_DNS": "int", "KOJISTACK_METRICS_NAMESPACE": "kojistack/ks",
             "KOJISTACK_SSM_PREFIX": "/kojistack/ks/u"}
    policy = settings.from_env({**stack, **{f"KOJISTACK_{k}": v for k, v in env.items()}}).policy
    assert CHANNEL_NEW[key] in policy.builder_channels + policy.hub_channels
    if key == "CHANNEL_DEFAULT":
        assert policy.builder_channels == (CHANNEL_NEW[key],)
    else:
        assert CHANNEL_NEW[key] in policy.hub_channels


def _renamed_template(key: str, new: str, refused: str | None, monkeypatch) -> dict | None:
    """The template generated with names.<key> renamed to `new`; its payloads' names.env carry `new`.
    With `refused`: generation must stop with a UnitNameError saying so (None)."""
    from kojistack.template.payload import UnitNameError

    monkeypatch.setattr(names, key, new)
    if refused:
        with pytest.raises(UnitNameError, match=re.escape(refused)):
            build_template(Config(), "new")
        return None
    t = json.loads(json.dumps(build_template(Config(), "new").to_dict()))
    for lid, files in _payloads(t).items():
        env = dict(re.findall(r"^KOJISTACK_(\w+)='(.*)'$", files[names.NAMES_ENV], re.M))
        assert env[key] == new, lid
    return t


# --- the systemd units the scripts address: a unit's name is also its file's name, so a rename
# reaches the scripts (names.env) and is refused at generation wherever systemd itself reads it
def _unit_files() -> dict[str, str]:
    """{path: text} of every unit file and drop-in the machines get (both routes)."""
    out = {str(p.relative_to(REPO)): p.read_text() for p in (REPO / "cloud-init" / "payload").glob("*/systemd/**/*")
           if p.is_file()}
    boot = REPO / "cloud-init" / "user-data" / "common" / names.UNIT_BOOTSTRAP
    out[str(boot.relative_to(REPO))] = boot.read_text()
    return out


def _named_by_unit_files(unit: str) -> bool:
    for path, text in _unit_files().items():
        parts = path.split("/")
        folder = parts[parts.index("systemd") + 1] if "systemd" in parts else parts[-1]
        dependency = rf"^\w+=.*(?<![\w.-]){re.escape(unit)}(?![\w.-])"
        if folder.removesuffix(".d") == unit or re.search(dependency, text, re.M):
            return True
    return False


def test_every_unit_has_a_rename_case():
    assert all(v.endswith((".service", ".timer")) for v in names.UNITS.values())
    assert len(set(names.UNITS.values())) == len(names.UNITS)


@pytest.mark.parametrize("key", sorted(names.UNITS))
def test_no_script_or_module_spells_a_unit_again(key):
    """Scripts, Jinja and Python address units by names.env's $KOJISTACK_UNIT_* (or Jinja's `units`,
    or kojistack.names); only unit files, which systemd reads without any environment, and comments
    spell them."""
    value = names.units()[key]
    unit_files = [f":!{path}" for path in _unit_files()]
    out = subprocess.run(["git", "grep", "-n", "-F", value, "--", "kojistack", "cloud-init", ":!kojistack/names.py",
                          ":!*.md", *unit_files], cwd=REPO, capture_output=True, text=True).stdout
    code = [line for line in out.splitlines() if value in line.split(":", 2)[2].split("#", 1)[0]]
    assert not code, f"{key} ({value}) is spelled again outside kojistack/names.py:\n" + "\n".join(code)


def test_every_shared_name_a_script_reads_is_declared():
    """A $KOJISTACK_UNIT_* or $KOJISTACK_CHANNEL_* (or @...@) a script or config reads is in names.env."""
    out = subprocess.run(["git", "grep", "-h", "-o", "-E", r"KOJISTACK_(UNIT|CHANNEL)_[A-Z0-9_]+", "--", "cloud-init"],
                         cwd=REPO, capture_output=True, text=True).stdout
    read = {w.removeprefix("KOJISTACK_") for w in out.split()}
    assert read and read <= set(names.shared()), read - set(names.shared())


@pytest.mark.parametrize("key", sorted(names.UNITS))
def test_a_renamed_unit_reaches_names_env_or_generation_refuses(key, monkeypatch):
    """Renamed in kojistack/names.py: a unit that no unit file names reaches both payloads' names.env
    (every script reads it there); a unit that a unit file, drop-in folder or dependency names stops
    generation with the place to rename (systemd reads those without an environment)."""
    old = names.units()[key]
    refused = f"unit {old} is not declared" if _named_by_unit_files(old) else None
    _renamed_template(key, "ks-renamed-" + old, refused, monkeypatch)


# --- the stack's own koji users and host: certificate CNs the hub issues, users it seeds, names people
# may not take. `kojira` and `kojiweb` are also the programs' names (units, config folders, logs),
# so, like the channels, their users are found by use: as a certificate, a quoted or assigned value
USER_NEW = {"HUB_HOST": "ks-renamed-hub", "USER_KOJIRA": "ks-renamed-kojira",
            "USER_CONTROLLER": "ks-renamed-ctl", "USER_WEB": "ks-renamed-web"}
#: the Python string constants equal to a user's name that are NOT that user, with why
NOT_USERS = {
    ("kojistack/template/secrets.py", "kojiweb"): 1,  # the web Secret's JSON "purpose" field, a label
}
#: unit files name a certificate by its user's name (systemd reads no environment): the payload build
#: refuses one that names an undeclared user (kojistack.template.payload.check_unit_names)
UNIT_FILE_USES = {"cloud-init/payload/hub/systemd/kojistack-controller.service": "USER_CONTROLLER"}
UNCOMMON_USERS = ("HUB_HOST", "USER_CONTROLLER")  # no program or file of koji's is called so


def test_every_user_has_a_rename_case():
    assert set(USER_NEW) == set(names.USERS)


def test_no_python_spells_a_user_again():
    """The template (RESERVED_USERS), the controller (its certificate, from names.env) and the simulator
    (the hub's host) take the stack's users from kojistack.names."""
    assert _spelled_in_python(set(names.users().values())) == NOT_USERS


@pytest.mark.parametrize("key", sorted(names.USERS))
def test_no_script_or_config_spells_a_user_again(key):
    """Scripts, configs and SQL take the users from names.env ($KOJISTACK_<KEY>, @KOJISTACK_<KEY>@,
    psql variables): none names one as a certificate (<name>.pem), a quoted value, an assigned value
    (`X = name`), a certificate's CN (`client name`) or a shell `case` pattern; only the unit files
    above, guarded. The two that are no common word are spelled nowhere at all in kojistack/ or
    cloud-init/ but there (comments included)."""
    value = names.users()[key]
    v = re.escape(value)
    use = (rf"({v}\.pem|['\"]{v}['\"]|=[[:space:]]*{v}[[:space:]]*$|client[[:space:]]+{v}([^-A-Za-z0-9_]|$)"
           rf"|(^|[[:space:]|]){v}\||\|{v}\))")
    allowed = [f":!{path}" for path, k in UNIT_FILE_USES.items() if k == key]
    out = subprocess.run(["git", "grep", "-n", "-E", use, "--", "cloud-init", *allowed],
                         cwd=REPO, capture_output=True, text=True).stdout
    assert not out, f"{key} ({value}) is spelled again (read names.env's KOJISTACK_{key}):\n{out}"
    for path, k in UNIT_FILE_USES.items():
        assert (k == key) == (f"/{value}.pem" in (REPO / path).read_text()), path
    if key in UNCOMMON_USERS:
        out = subprocess.run(["git", "grep", "-n", "-F", value, "--", "kojistack", "cloud-init",
                              ":!kojistack/names.py", *allowed], cwd=REPO, capture_output=True, text=True).stdout
        assert not out, f"{key} ({value}) is spelled again outside kojistack/names.py:\n{out}"


def test_every_user_a_script_reads_is_declared():
    """A $KOJISTACK_USER_* / KOJISTACK_HUB_HOST a script, config or the SQL's caller reads is in names.env."""
    out = subprocess.run(["git", "grep", "-h", "-o", "-E", r"KOJISTACK_(USER_[A-Z0-9_]+|HUB_HOST)", "--", "cloud-init"],
                         cwd=REPO, capture_output=True, text=True).stdout
    read = {w.removeprefix("KOJISTACK_") for w in out.split()} - {"USER_SECRET_PREFIX", "USER_DB"}
    assert read == set(names.USERS), read ^ set(names.USERS)


@pytest.mark.parametrize("key", sorted(names.USERS))
def test_a_renamed_user_reaches_names_env_and_the_template_or_generation_refuses(key, monkeypatch):
    """Renamed in kojistack/names.py, a user is in both payloads' names.env (the hub scripts, configs
    and SQL read it there: tests/machines/hub, tests/ops/test_kojistack_user.py) and in the template's
    rule that AdminUserName may not be one, the old spelling in neither; a user a unit file names
    (the controller's certificate) stops generation instead, naming the place to rename."""
    old, new = names.users()[key], USER_NEW[key]
    refused = f"certificate /etc/kojistack/pki/{old}.pem names {old}" if key in UNIT_FILE_USES.values() else None
    t = _renamed_template(key, new, refused, monkeypatch)
    if t is None:
        return
    rule = t["Rules"]["AdminUserNameNotReserved"]["Assertions"][0]
    reserved = rule["Assert"]["Fn::Not"][0]["Fn::Contains"][0]
    assert new in reserved and old not in reserved
    assert new in rule["AssertDescription"] and old not in rule["AssertDescription"].split(": ", 1)[1].split(", ")


def test_a_renamed_controller_user_reaches_the_controller(monkeypatch):
    """The controller logs in with the certificate of names.env's USER_CONTROLLER."""
    from kojistack.controller import settings

    monkeypatch.setattr(names, "USER_CONTROLLER", USER_NEW["USER_CONTROLLER"])
    env = {"KOJISTACK_STACK_NAME": "ks", "KOJISTACK_REGION": "us-east-1", "KOJISTACK_ARCHES": "x86_64",
           "KOJISTACK_INTERNAL_NLB_DNS": "int", "KOJISTACK_METRICS_NAMESPACE": "kojistack/ks",
           "KOJISTACK_SSM_PREFIX": "/kojistack/ks/u", **names.env()}
    assert settings.from_env(env).client_pem == f"{settings.PKI_DIR}/{USER_NEW['USER_CONTROLLER']}.pem"


def test_the_simulated_hub_host_is_the_declared_one():
    from kojistack.sim import engine

    assert engine.HUB_HOST == names.HUB_HOST
