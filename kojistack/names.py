"""Names that are not logical IDs (those are in `ids`), declared once: what the template and the
machines share, and the deterministic names of the stack's AWS resources.

They reach the machines in the payload as /opt/kojistack/names.env (`env_text`, packed by
kojistack.template.payload), never retyped there: the controller reads them with its settings
(kojistack/controller/settings.py), the boot scripts source the file, the template and the IAM
statements import them from here, and tests/template/test_shared_names.py renames each one and
follows it to every user.
"""

from __future__ import annotations

# Lifecycle hooks (the hub completes its own launch hook; the controller completes the builders')
HUB_LAUNCH_HOOK = "kojistack-hub-ready"
BUILDER_LAUNCH_HOOK = "kojistack-register"
BUILDER_TERMINATE_HOOK = "kojistack-drain"

# Tag keys
TAG_STACK = "kojistack:stack"  # instances, volumes and per-user secrets of the stack
TAG_CSR_SHA256 = "kojistack:csr-sha256"  # set by a builder on itself: the SHA-256 of its CSR's key
TAG_SLOT = "kojistack:slot"  # set by the controller: the builder's koji host name
TAG_DRAIN_STARTED = "kojistack:drain-started"  # set by the controller: when a drain began
TAG_IDLE_MINUTES = "kojistack:idle-minutes"  # on a builder group: idle time before scale-in
TAG_SPARE_TASKS = "kojistack:spare-tasks"  # on a builder group: room kept for arriving build tasks

# A builder's slot (koji host name and certificate CN): <arch prefix>-NN, up to 4 digits
# (controller.settings.MAX_SLOTS; controller.decide.SLOT_PATTERN must match the same names)
SLOT_RE = "^(x86-64|aarch64)-[0-9]{2,4}$"
# A light host's slot (koji host name and certificate CN; the light channel's hosts beyond the hub):
# light-NNN (controller.decide.LIGHT_SLOT_PATTERN must match the same names)
LIGHT_SLOT_RE = "^light-[0-9]{3,4}$"

# Koji channels the stack's hosts serve and its channel policy routes to. `default` and `createrepo`
# are Koji's own: kojihub's schema creates them (schemas/schema.sql, INSERT INTO channels) and puts
# every newRepo task in `createrepo` (kojihub/repos.py); a real hub accepts no other names for
# them, so they are declared here to be read, never to be renamed. `light` is the stack's: the
# channel policy (hub-policy.conf.in) sends coordination tasks there and kojistack-ready creates it.
CHANNEL_DEFAULT = "default"  # builders (kojid on the builder groups) serve it
CHANNEL_CREATEREPO = "createrepo"  # the hub's own kojid serves it
CHANNEL_LIGHT = "light"  # the hub's own kojid serves it (and, by design, light hosts)

# Koji users and the host the stack itself creates: the hub scripts issue each a certificate with that
# CN, kept as /etc/kojistack/pki/<name>.pem (kojistack-bootstrap), seed the users with their
# permissions (sql/users.sql) and refuse them as people's user names (kojistack-user); the template's
# AdminUserName may not be one (template.parameters.RESERVED_USERS). `kojira` and `kojiweb` are also
# the programs' names (their units, configs and logs): those are not these users and stay spelled.
HUB_HOST = "kojihub-builder"  # the hub's own kojid host (createrepo and light channels)
USER_KOJIRA = "kojira"  # kojira's user: perm repo; hub.conf RepoQueueUser
USER_CONTROLLER = "kojistack-ctl"  # the controller's user: perms host and admin
USER_WEB = "kojiweb"  # kojiweb's proxy certificate: the hub's ProxyDNs (its subject, read at boot)

# systemd units the scripts enable, start, stop, reload or check by name. A unit's name is its
# file's name, and systemd reads no environment in [Unit] dependencies: the stack's own units are
# files in cloud-init/ named so, and the payload build refuses a unit file, drop-in folder or
# dependency (After=, Requires=, ...) that names an undeclared unit (kojistack/template/payload.py),
# so a rename here cannot half happen. The others come with the distribution's packages.
UNIT_BOOTSTRAP = "kojistack-bootstrap.service"  # in the user data itself (cloud-init/user-data/common)
UNIT_READY = "kojistack-ready.service"  # hub
UNIT_CONTROLLER = "kojistack-controller.service"  # hub
UNIT_PRUNE_TIMER = "kojistack-prune.timer"  # hub (with kojistack-prune.service, started by the timer)
UNIT_PRUNE = "kojistack-prune.service"
UNIT_LOGSHIP = "kojistack-logship.service"  # both roles
UNIT_SPOT_WATCH = "kojistack-spot-watch.service"  # builders
UNIT_HTTPD = "httpd.service"  # package httpd
UNIT_KOJIRA = "kojira.service"  # package koji-utils
UNIT_KOJID = "kojid.service"  # package koji-builder
UNIT_KOJI_GC_TIMER = "koji-gc.timer"  # package koji-utils
UNIT_KOJI_SWEEP_DB_TIMER = "koji-sweep-db.timer"  # package koji-utils
UNIT_SSM_AGENT = "amazon-ssm-agent.service"  # package amazon-ssm-agent
UNIT_CLOUD_FINAL = "cloud-final.service"  # cloud-init's last stage (the bootstrap unit runs after it)

# --- deterministic names of AWS resources (Fn::Sub strings; never Ref, so IAM and the controller
# cause no cycle). They travel to the machines in stack.env (hub_env / builder_env), not in names.env:
# they hold ${AWS::StackName} and ${StackUuid}, which only CloudFormation resolves.
HUB_GROUP_NAME = "${AWS::StackName}-hub"
METRICS_NAMESPACE = "kojistack/${AWS::StackName}"
# CloudWatch Logs groups of the hub and of all builders (kojistack-logship writes, `kojistack logs` reads)
HUB_LOG_GROUP_NAME = "/kojistack/${AWS::StackName}/hub"
BUILDER_LOG_GROUP_NAME = "/kojistack/${AWS::StackName}/builders"
AMI_LOOKUP_LOG_GROUP_NAME = "/kojistack/${AWS::StackName}/ami-lookup"
# Every log group encrypted with the stack key: the key policy lets CloudWatch Logs use the key for
# these log groups only (kms:EncryptionContext:aws:logs:arn), never for every log group of the account
STACK_KEY_LOG_GROUP_NAMES = (HUB_LOG_GROUP_NAME, BUILDER_LOG_GROUP_NAME, AMI_LOOKUP_LOG_GROUP_NAME)
ALARM_NAME_PREFIX = "${AWS::StackName}-kojistack-"
# Names of things the machines create at run time (SSM parameters, per-user secrets) outlive the
# stack, so they carry ${StackUuid} (the last part of AWS::StackId, new with every creation): a
# stack re-created under the same name starts from fresh names and never meets the old stack's
# parameters or its secrets (encrypted with the old, retained key). Both start with "kojistack",
# never with the stack name: an SSM parameter name may not begin with "aws" or "ssm", in any case
# (PutParameter, "Naming Constraints": https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html),
# and a stack may well be called aws-koji.
STACK_UUID = "StackUuid"  # the Fn::Sub variable; kojistack.template.stacksub.stack_sub maps it
SSM_PREFIX = "/kojistack/${AWS::StackName}/${StackUuid}"
USER_SECRET_PREFIX = "kojistack/${AWS::StackName}/${StackUuid}/users/"


def builder_group_name(arch: str) -> str:
    return "${AWS::StackName}-builders-" + arch


# the light hosts' group (kojistack/template/light.py); the controller's settings.light_group_name
LIGHT_GROUP_NAME = "${AWS::StackName}-light"


# What names.env carries: name (after KOJISTACK_) -> value. Two kinds, because they are found
# differently: a SHARED value is spelled nowhere else at all (a plain text search finds any copy);
# a CHANNELS value is a common word ("default", "light"), so its users are found by where they use it;
# a UNITS value is also a systemd unit file's name and is spelled in unit files (see above).
SHARED: dict[str, str] = {
    "HUB_LAUNCH_HOOK": HUB_LAUNCH_HOOK,
    "BUILDER_LAUNCH_HOOK": BUILDER_LAUNCH_HOOK, "BUILDER_TERMINATE_HOOK": BUILDER_TERMINATE_HOOK,
    "TAG_STACK": TAG_STACK, "TAG_CSR_SHA256": TAG_CSR_SHA256, "TAG_SLOT": TAG_SLOT,
    "TAG_DRAIN_STARTED": TAG_DRAIN_STARTED, "TAG_IDLE_MINUTES": TAG_IDLE_MINUTES,
    "TAG_SPARE_TASKS": TAG_SPARE_TASKS, "SLOT_RE": SLOT_RE, "LIGHT_SLOT_RE": LIGHT_SLOT_RE,
}
CHANNELS: dict[str, str] = {
    "CHANNEL_DEFAULT": CHANNEL_DEFAULT, "CHANNEL_CREATEREPO": CHANNEL_CREATEREPO, "CHANNEL_LIGHT": CHANNEL_LIGHT,
}
UNITS: dict[str, str] = {
    "UNIT_BOOTSTRAP": UNIT_BOOTSTRAP, "UNIT_READY": UNIT_READY, "UNIT_CONTROLLER": UNIT_CONTROLLER,
    "UNIT_PRUNE_TIMER": UNIT_PRUNE_TIMER, "UNIT_PRUNE": UNIT_PRUNE, "UNIT_LOGSHIP": UNIT_LOGSHIP,
    "UNIT_SPOT_WATCH": UNIT_SPOT_WATCH, "UNIT_HTTPD": UNIT_HTTPD, "UNIT_KOJIRA": UNIT_KOJIRA,
    "UNIT_KOJID": UNIT_KOJID, "UNIT_KOJI_GC_TIMER": UNIT_KOJI_GC_TIMER,
    "UNIT_KOJI_SWEEP_DB_TIMER": UNIT_KOJI_SWEEP_DB_TIMER, "UNIT_SSM_AGENT": UNIT_SSM_AGENT,
    "UNIT_CLOUD_FINAL": UNIT_CLOUD_FINAL,
}
#: the stack's own koji users and host (see above); also common words, found by use like the channels
USERS: dict[str, str] = {
    "USER_KOJIRA": USER_KOJIRA, "USER_CONTROLLER": USER_CONTROLLER, "USER_WEB": USER_WEB, "HUB_HOST": HUB_HOST,
}
NAMES_ENV = "names.env"  # the payload member; /opt/kojistack/names.env on a machine


def _current(keys: dict[str, str]) -> dict[str, str]:
    g = globals()
    return {key: g[key] for key in keys}


def shared() -> dict[str, str]:
    """Every names.env entry with its current value (read at call time, so a test that renames a
    constant sees it here)."""
    return {**_current(SHARED), **_current(CHANNELS), **_current(UNITS), **_current(USERS)}


def channels() -> dict[str, str]:
    """The channel entries of names.env, current values."""
    return _current(CHANNELS)


def users() -> dict[str, str]:
    """The stack's koji users and host in names.env, current values."""
    return _current(USERS)


def units() -> dict[str, str]:
    """The unit entries of names.env, current values."""
    return _current(UNITS)


def env_text() -> str:
    """names.env: KOJISTACK_NAME='value' lines, sorted (bash `.` and systemd EnvironmentFile read it)."""
    for key, value in shared().items():
        if "'" in value or "\n" in value:
            raise ValueError(f"shared name {key} may not contain a quote or a newline: {value!r}")
    return "".join(f"KOJISTACK_{k}='{v}'\n" for k, v in sorted(shared().items()))


def env() -> dict[str, str]:
    """The names.env entries as environment variables (for tests that run the scripts from source)."""
    return {f"KOJISTACK_{k}": v for k, v in shared().items()}
