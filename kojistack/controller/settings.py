"""The controller's settings, read from /etc/kojistack/stack.env (written by the hub bootstrap)."""

import os
from dataclasses import dataclass
from typing import Dict, Mapping, Tuple

from .decide import Policy

STACK_ENV = "/etc/kojistack/stack.env"
PKI_DIR = "/etc/kojistack/pki"
LAUNCH_HOOK = "kojistack-register"
TERMINATE_HOOK = "kojistack-drain"
#: builder slots per arch: the most a group may run (template.parameters.BUILDER_MAX_VALUES), named
#: up to x86-64-1000 (decide.SLOT_PATTERN)
MAX_SLOTS = 1000


class SettingsError(ValueError):
    """A missing or malformed value in stack.env."""


@dataclass(frozen=True)
class Settings:
    """Everything the controller needs to know about its stack."""

    stack_name: str
    region: str
    hub_url: str
    arches: Tuple[str, ...]
    metrics_namespace: str
    ssm_prefix: str
    policy: Policy
    ca_pem: str = PKI_DIR + "/ca.pem"
    client_pem: str = PKI_DIR + "/kojistack-ctl.pem"
    builder_ca_crt: str = PKI_DIR + "/builder-ca.crt"
    builder_ca_key: str = PKI_DIR + "/builder-ca.key"
    interval_seconds: float = 20.0

    def group_name(self, arch: str) -> str:
        """`${STACK_NAME}-builders-<arch>`, the deterministic group name IAM is scoped to."""
        return f"{self.stack_name}-builders-{arch}"


def parse_env(text: str) -> Dict[str, str]:
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
        # builder sizes and idle minutes come from the groups at run time (loop.observe), not from here
        idle = float(env.get("KOJISTACK_BUILDER_IDLE_MINUTES", "10")) * 60
        headroom = float(env.get("KOJISTACK_BUILDER_HEADROOM_WEIGHT", "0"))
        drain_hours = float(env.get("KOJISTACK_BUILDER_DRAIN_HOURS", "6"))
        interval = float(env.get("KOJISTACK_CONTROLLER_INTERVAL_SECONDS", "20"))
    except ValueError as exc:
        raise SettingsError(f"a number in {STACK_ENV} does not parse: {exc}") from None
    return Settings(
        stack_name=need("STACK_NAME"), region=need("REGION"),
        hub_url=env.get("KOJISTACK_HUB_URL") or f"https://{need('INTERNAL_NLB_DNS')}/kojihub",
        arches=arches, metrics_namespace=need("METRICS_NAMESPACE"),
        ssm_prefix=need("SSM_PREFIX").rstrip("/"),
        policy=Policy(idle_seconds=idle, headroom_weight=headroom, drain_limit_seconds=drain_hours * 3600,
                      primary_arch=arches[0] if "x86_64" not in arches else "x86_64", max_slots=MAX_SLOTS),
        interval_seconds=interval,
    )


def load(path: str = STACK_ENV) -> Settings:
    """Settings from the stack.env file, with the process environment overriding it."""
    with open(path) as f:
        env = parse_env(f.read())
    env.update({k: v for k, v in os.environ.items() if k.startswith("KOJISTACK_")})
    return from_env(env)
