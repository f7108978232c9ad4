"""Build-time choices: read from kojistack.yaml and CLI flags, validated, frozen.

Only what shapes the template lives here (arches, AZ count, spot, NAT, distro, domain, which
templates); values that vary per deployment are CloudFormation parameters instead. Every error
names the key and what is allowed, and is raised before anything is written.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError

ARCHES = ("x86_64", "aarch64")
DISTROS = ("el9", "el10", "fedora")
NAT_MODES = ("single", "per-az")
VPC_MODES = ("new", "existing", "both")
AZ_COUNTS = (2, 3)

# One size per group (capacity per builder comes from its vCPUs): 2xlarge = 8 vCPUs in every
# family listed. Spot needs several types per arch (FSBP AutoScaling.6: >= 3 types).
DEFAULT_INSTANCE_TYPES = {
    "x86_64": ("c6i.2xlarge", "c6a.2xlarge", "c5.2xlarge", "m6i.2xlarge"),
    "aarch64": ("c7g.2xlarge", "c6g.2xlarge", "m7g.2xlarge", "m6g.2xlarge"),
}
_TYPE_RE = re.compile(r"^([a-z][a-z0-9-]*)\.([0-9]*[a-z]+)$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Too small to run mock builds (under 2 vCPUs or 4 GiB); the default builders are 2xlarge (8 vCPUs).
TOO_SMALL_SIZES = ("nano", "micro", "small", "medium")
_KEYS = ("availability_zones", "nat", "distro", "spot", "domain", "vpc", "builders", "arches")


@functools.lru_cache(maxsize=1)
def known_instance_types() -> frozenset[str]:
    """Every EC2 instance type offered in some region, from cfn-lint's pinned regional tables (the same
    tables `kojistack lint` checks each region against)."""
    import cfnlint

    path = Path(cfnlint.__file__).parent / "data" / "schemas" / "extensions" / "aws_ec2_instance" / \
        "instancetype_enum.json"
    tables = json.loads(path.read_text())
    return frozenset().union(*(t["enum"] for t in tables.values() if isinstance(t, dict)))


def is_graviton(instance_type: str) -> bool:
    """True for AWS Graviton (arm64) families: the family's generation digit is followed by 'g'."""
    family = instance_type.split(".", 1)[0]
    return bool(re.match(r"^[a-z]+[0-9]+g", family))


@dataclass(frozen=True)
class ArchConfig:
    """One builder group: its arch and the instance types of its mixed-instances policy."""

    arch: str
    instance_types: tuple[str, ...]

    def __post_init__(self) -> None:
        key = f"builders.{self.arch}.instance_types"
        if not self.instance_types:
            raise UserError(f"{key}: give at least one instance type, e.g. {DEFAULT_INSTANCE_TYPES[self.arch][0]}")
        if len(self.instance_types) > 20:
            raise UserError(f"{key}: at most 20 instance types are allowed, got {len(self.instance_types)}")
        sizes = set()
        for itype in self.instance_types:
            m = _TYPE_RE.match(itype) if isinstance(itype, str) else None
            if not m:
                raise UserError(f"{key}: {itype!r} is not an EC2 instance type (like c6i.2xlarge)")
            if itype not in known_instance_types():
                raise UserError(f"{key}: {itype} is not an EC2 instance type offered in any region "
                                f"(like {DEFAULT_INSTANCE_TYPES[self.arch][0]})")
            if m.group(2) in TOO_SMALL_SIZES:
                raise UserError(f"{key}: {itype} is too small to build on (under 2 vCPUs or 4 GiB); use "
                                f"large or bigger, e.g. {DEFAULT_INSTANCE_TYPES[self.arch][0]}")
            if is_graviton(itype) != (self.arch == "aarch64"):
                want = "Graviton (…g) types such as c7g.2xlarge" if self.arch == "aarch64" else \
                    "x86 types such as c6i.2xlarge"
                raise UserError(f"{key}: {itype} does not run {self.arch}; allowed: {want}")
            sizes.add(m.group(2))
        if len(sizes) > 1:
            raise UserError(f"{key}: use one size for all types (capacity comes from vCPUs), got {sorted(sizes)}")
        if len(set(self.instance_types)) != len(self.instance_types):
            raise UserError(f"{key}: duplicate instance types in {list(self.instance_types)}")


@dataclass(frozen=True)
class Config:
    """Everything that shapes the generated templates."""

    availability_zones: int = 2
    nat: str = "single"
    distro: str = "el9"
    spot: bool = True
    domain: str = ""
    vpc: str = "both"
    builders: tuple[ArchConfig, ...] = field(default_factory=lambda: tuple(
        ArchConfig(a, DEFAULT_INSTANCE_TYPES[a]) for a in ARCHES))

    def __post_init__(self) -> None:
        _allowed("availability_zones", self.availability_zones, AZ_COUNTS)
        _allowed("nat", self.nat, NAT_MODES)
        _allowed("distro", self.distro, DISTROS)
        _allowed("vpc", self.vpc, VPC_MODES)
        if not isinstance(self.spot, bool):
            raise UserError(f"spot: must be true or false, got {self.spot!r}")
        if not isinstance(self.domain, str) or (self.domain and not _DOMAIN_RE.match(self.domain)):
            raise UserError(f"domain: {self.domain!r} is not a lower-case DNS name like koji.example.com (or empty)")
        if not self.builders:
            raise UserError(f"builders: configure at least one arch of {list(ARCHES)}")
        arches = [b.arch for b in self.builders]
        if len(set(arches)) != len(arches):
            raise UserError(f"builders: each arch once, got {arches}")

    @property
    def arches(self) -> tuple[str, ...]:
        return tuple(b.arch for b in self.builders)

    @property
    def variants(self) -> tuple[str, ...]:
        """Which templates to write: 'new' (kojistack.json), 'existing' (kojistack-existing-vpc.json)."""
        return ("new", "existing") if self.vpc == "both" else (self.vpc,)


def _allowed(key: str, value: Any, allowed: tuple) -> None:
    if isinstance(value, bool) or value not in allowed:
        raise UserError(f"{key}: {value!r} is not allowed; use one of {', '.join(map(str, allowed))}")


def _builders_from(raw: Any) -> tuple[ArchConfig, ...]:
    if not isinstance(raw, dict) or not raw:
        raise UserError(f"builders: must map an arch ({', '.join(ARCHES)}) to its settings")
    out = []
    for arch in sorted(raw, key=lambda a: ARCHES.index(a) if a in ARCHES else 99):
        if arch not in ARCHES:
            raise UserError(f"builders.{arch}: unknown arch; allowed: {', '.join(ARCHES)}")
        body = raw[arch] if raw[arch] is not None else {}
        if not isinstance(body, dict):
            raise UserError(f"builders.{arch}: must be a mapping with instance_types")
        unknown = set(body) - {"instance_types"}
        if unknown:
            raise UserError(f"builders.{arch}.{sorted(unknown)[0]}: unknown key; allowed: instance_types")
        types = body.get("instance_types", list(DEFAULT_INSTANCE_TYPES[arch]))
        if not isinstance(types, list):
            raise UserError(f"builders.{arch}.instance_types: must be a list of instance types")
        out.append(ArchConfig(arch, tuple(types)))
    return tuple(out)


def config_from_dict(raw: dict[str, Any]) -> Config:
    """Build a Config from parsed YAML plus flags (`arches` is the flag's arch list)."""
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        allowed = ", ".join(k for k in _KEYS if k != "arches")
        raise UserError(f"{unknown[0]}: unknown key in the config; allowed keys: {allowed}")
    kwargs: dict[str, Any] = {k: raw[k] for k in ("availability_zones", "nat", "distro", "spot", "vpc")
                              if k in raw}
    if "domain" in raw:
        kwargs["domain"] = "" if raw["domain"] is None else raw["domain"]
    builders = _builders_from(raw["builders"]) if "builders" in raw else Config().builders
    if raw.get("arches"):
        by_arch = {b.arch: b for b in builders}
        picked = []
        for arch in raw["arches"]:
            if arch not in ARCHES:
                raise UserError(f"--arch: {arch!r} is not allowed; use one of {', '.join(ARCHES)}")
            picked.append(by_arch.get(arch, ArchConfig(arch, DEFAULT_INSTANCE_TYPES[arch])))
        builders = tuple(picked)
    kwargs["builders"] = builders
    return Config(**kwargs)


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Read `path` (YAML) if given, apply `overrides` (from flags), validate. Raises UserError."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise UserError(f"--config: cannot read {path}: {err.strerror}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise UserError(f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}): "
                            "save it as UTF-8") from None
        try:
            loaded = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
        except yaml.YAMLError as err:
            raise UserError(f"{path}: not valid YAML: {_yaml_why(err)}") from None
        if loaded is None:
            raise UserError(f"{path}: the config file is empty; write at least one key, e.g. `distro: el9`")
        if not isinstance(loaded, dict):
            raise UserError(f"{path}: the top level must be a mapping of keys ({', '.join(_KEYS[:-1])})")
        raw.update(loaded)
    raw.update(overrides or {})
    return config_from_dict(raw)


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given at line {seen[key].line + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _yaml_why(err: yaml.YAMLError) -> str:
    """What is wrong and where, from a PyYAML error (`problem` says why, `problem_mark` where)."""
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    hint = " (YAML indents with spaces, not tabs)" if "\\t" in problem or "tab" in problem else ""
    return f"{where}{problem}" + (f" ({context})" if context else "") + hint
