"""The controller's settings, read from /etc/kojistack/stack.env (the hub's user data) and
/opt/kojistack/names.env (the payload: the names the template and the machines share, declared once
in kojistack/names.py; this package imports nothing else of kojistack, so it reads them here)."""

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .decide import LIGHT_SLOT_PATTERN, SLOT_PATTERN, SPARE_FRACTION, SPARE_TASKS, Policy

STACK_ENV = "/etc/kojistack/stack.env"
NAMES_ENV = "/opt/kojistack/names.env"
PKI_DIR = "/etc/kojistack/pki"
#: builder slots per arch: the most a group may run (template.parameters.BUILDER_MAX_VALUES), named
#: up to x86-64-1000 (decide.SLOT_PATTERN)
MAX_SLOTS = 1000


class SettingsError(ValueError):
    """A missing or malformed value in stack.env."""


@dataclass(frozen=True)
class Names:
    """The shared names the controller addresses (KOJISTACK_* in names.env)."""

    launch_hook: str
    terminate_hook: str
    tag_slot: str
    tag_csr_sha256: str
    tag_drain_started: str
    tag_idle_minutes: str
    tag_spare_tasks: str
    channel_default: str  # koji's: the builders' channel
    channel_createrepo: str  # koji's: newRepo tasks, served by the hub's kojid
    channel_light: str  # the stack's: coordination tasks, served by the hub's kojid
    controller_user: str  # the controller's koji user (its certificate: PKI_DIR/<user>.pem)

    @property
    def builder_channels(self) -> tuple[str, ...]:
        return (self.channel_default,)

    @property
    def hub_channels(self) -> tuple[str, ...]:
        return (self.channel_light, self.channel_createrepo)


_NAME_KEYS = {"launch_hook": "BUILDER_LAUNCH_HOOK", "terminate_hook": "BUILDER_TERMINATE_HOOK",
              "tag_slot": "TAG_SLOT", "tag_csr_sha256": "TAG_CSR_SHA256",
              "tag_drain_started": "TAG_DRAIN_STARTED", "tag_idle_minutes": "TAG_IDLE_MINUTES",
              "tag_spare_tasks": "TAG_SPARE_TASKS", "channel_default": "CHANNEL_DEFAULT",
              "channel_createrepo": "CHANNEL_CREATEREPO", "channel_light": "CHANNEL_LIGHT",
              "controller_user": "USER_CONTROLLER"}


def names_from_env(env: Mapping[str, str]) -> Names:
    """Names from KOJISTACK_* values; a missing one is an error naming it (no default here: the
    one declaration is kojistack/names.py)."""
    values = {}
    for field, key in _NAME_KEYS.items():
        value = env.get("KOJISTACK_" + key, "")
        if not value:
            raise SettingsError(f"KOJISTACK_{key} is missing or empty in {NAMES_ENV}")
        values[field] = value
    if env.get("KOJISTACK_SLOT_RE") != SLOT_PATTERN.pattern:
        raise SettingsError(f"KOJISTACK_SLOT_RE in {NAMES_ENV} is {env.get('KOJISTACK_SLOT_RE')!r}, but this "
                            f"controller names slots {SLOT_PATTERN.pattern!r} (decide.SLOT_PATTERN)")
    if env.get("KOJISTACK_LIGHT_SLOT_RE") != LIGHT_SLOT_PATTERN.pattern:
        raise SettingsError(f"KOJISTACK_LIGHT_SLOT_RE in {NAMES_ENV} is {env.get('KOJISTACK_LIGHT_SLOT_RE')!r}, but "
                            f"this controller names light hosts {LIGHT_SLOT_PATTERN.pattern!r} "
                            "(decide.LIGHT_SLOT_PATTERN)")
    return Names(**values)


@dataclass(frozen=True)
class Settings:
    """Everything the controller needs to know about its stack."""

    stack_name: str
    region: str
    hub_url: str
    arches: tuple[str, ...]
    metrics_namespace: str
    ssm_prefix: str
    policy: Policy
    names: Names
    ca_pem: str = PKI_DIR + "/ca.pem"
    client_pem: str = ""  # the controller user's certificate; from_env: PKI_DIR/<names.controller_user>.pem
    builder_ca_crt: str = PKI_DIR + "/builder-ca.crt"
    builder_ca_key: str = PKI_DIR + "/builder-ca.key"
    interval_seconds: float = 20.0

    def group_name(self, arch: str) -> str:
        """`${STACK_NAME}-builders-<arch>`, the deterministic group name IAM is scoped to."""
        return f"{self.stack_name}-builders-{arch}"

    def light_group_name(self) -> str:
        """`${STACK_NAME}-light`, the light hosts' group (names.LIGHT_GROUP_NAME); a stack without
        one simply has no such group."""
        return f"{self.stack_name}-light"


def parse_env(text: str) -> dict[str, str]:
    """KEY=value lines (no shell expansion; optional surrounding quotes; # comments)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def from_env(env: Mapping[str, str]) -> Settings:
    """Settings from KOJISTACK_* values; errors name the missing key."""
    def need(key: str) -> str:
        value = env.get("KOJISTACK_" + key, "")
        if not value:
            raise SettingsError(f"KOJISTACK_{key} is missing or empty in {STACK_ENV}")
        return value

    arches = tuple(need("ARCHES").split())
    for arch in arches:
        if arch not in ("x86_64", "aarch64"):
            raise SettingsError(f"KOJISTACK_ARCHES: unknown arch {arch!r} (x86_64 or aarch64)")
    try:
        # builder sizes, idle minutes and spare tasks come from the groups at run time (loop.observe);
        # these are the fallbacks for a group without a valid tag
        idle = float(env.get("KOJISTACK_BUILDER_IDLE_MINUTES", "10")) * 60
        headroom = float(env.get("KOJISTACK_BUILDER_HEADROOM_WEIGHT", "0"))
        spare = int(env.get("KOJISTACK_BUILDER_SPARE_TASKS", str(SPARE_TASKS)))
        spare_fraction = float(env.get("KOJISTACK_BUILDER_SPARE_FRACTION", str(SPARE_FRACTION)))
        drain_hours = float(env.get("KOJISTACK_BUILDER_DRAIN_HOURS", "6"))
        interval = float(env.get("KOJISTACK_CONTROLLER_INTERVAL_SECONDS", "20"))
    except ValueError as exc:
        raise SettingsError(f"a number in {STACK_ENV} does not parse: {exc}") from None
    names = names_from_env(env)
    return Settings(
        stack_name=need("STACK_NAME"), region=need("REGION"),
        hub_url=env.get("KOJISTACK_HUB_URL") or f"https://{need('INTERNAL_NLB_DNS')}/kojihub",
        arches=arches, metrics_namespace=need("METRICS_NAMESPACE"),
        ssm_prefix=need("SSM_PREFIX").rstrip("/"),
        policy=Policy(names.builder_channels, names.hub_channels, names.channel_light, idle_seconds=idle,
                      headroom_weight=headroom, spare_tasks=spare, spare_fraction=spare_fraction,
                      drain_limit_seconds=drain_hours * 3600,
                      primary_arch=arches[0] if "x86_64" not in arches else "x86_64", max_slots=MAX_SLOTS),
        names=names, client_pem=f"{PKI_DIR}/{names.controller_user}.pem", interval_seconds=interval,
    )


def load(path: str = STACK_ENV, names_path: str = NAMES_ENV) -> Settings:
    """Settings from the stack.env and names.env files, with the process environment overriding them."""
    env: dict[str, str] = {}
    for p in (names_path, path):
        with open(p) as f:
            env.update(parse_env(f.read()))
    env.update({k: v for k, v in os.environ.items() if k.startswith("KOJISTACK_")})
    return from_env(env)
