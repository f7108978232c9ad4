"""Build-time choices: read from kojistack.yaml and CLI flags, validated, frozen.

Only what shapes the template lives here (arches, AZ count, spot, NAT, distro, domain, which
templates); values that vary per deployment are CloudFormation parameters instead. Every error
names the key and what is allowed, and is raised before anything is written.

An option is declared once, as a `Config` field made with `option(...)`: its name is the config
file's key, its flag is `--<name with dashes>` unless it says otherwise, and its help, allowed
values and checks give both the validation messages and the flag's help (`options()`; the CLI
builds its flags from it in kojistack/cli/options.py). A new field needs no other edit.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
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


@dataclass(frozen=True)
class Option:
    """What the config file, the validation and the command line know of one Config field."""

    help: str  # what it is, in the user's words (the flag's help, the README's comment)
    choices: tuple = ()  # the allowed values (empty: any value of the field's type that `check` passes)
    flag: str = ""  # the command-line flag; "" -> --<field name with dashes>
    #: the config file's value -> the field's (e.g. a mapping -> ArchConfigs); None: as it is
    parse: Callable[[Any], Any] | None = None
    #: (key, value) -> raises UserError naming the key and what is allowed (the type too: it
    #: replaces the type check of a field without choices)
    check: Callable[[str, Any], None] | None = None
    #: a repeatable flag's values and the value from the file (or the default) -> the field's value
    from_flag: Callable[[tuple, Any], Any] | None = None
    dest: str = ""  # the flag's name in the overrides; "" -> the field name


def option(default: Any = MISSING, *, default_factory: Any = MISSING, **spec: Any) -> Any:
    """A Config field that is a build-time option (see Option)."""
    meta = {"option": Option(**spec)}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Spec:
    """One option as the config file and the command line see it."""

    key: str  # the config file's key (= the field's name)
    flag: str  # e.g. --az-count
    dest: str  # its name in the overrides dict (the CLI's parameter name)
    default: Any
    option: Option

    @property
    def is_bool(self) -> bool:
        return isinstance(self.default, bool)

    @property
    def repeatable(self) -> bool:
        return self.option.from_flag is not None

    def help(self) -> str:
        allowed = f" ({', '.join(map(str, self.option.choices))})" if self.option.choices else ""
        return f"{self.option.help}{allowed}; overrides `{self.key}` of the config file."

    def validate(self, value: Any) -> None:
        """UserError naming the key and what is allowed."""
        o = self.option
        if o.choices:
            _allowed(self.key, value, o.choices)
        elif self.is_bool:
            if not isinstance(value, bool):
                raise UserError(f"{self.key}: must be true or false, got {value!r}")
        elif o.check is None and isinstance(self.default, (int, str)) and (
                isinstance(value, bool) or not isinstance(value, type(self.default))):
            kind = "a whole number" if isinstance(self.default, int) else "text"
            raise UserError(f"{self.key}: must be {kind}, got {value!r}")
        if o.check is not None:  # it checks the type too
            o.check(self.key, value)


def options(cls: type | None = None) -> tuple[Spec, ...]:
    """Every build-time option of `cls` (default Config), in field order."""
    out = []
    for f in fields(cls or Config):
        o = f.metadata.get("option")
        if o is None:
            continue
        default = f.default if f.default_factory is MISSING else f.default_factory()
        out.append(Spec(f.name, o.flag or "--" + f.name.replace("_", "-"), o.dest or f.name, default, o))
    return tuple(out)


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


def _check_domain(key: str, value: Any) -> None:
    if not isinstance(value, str) or (value and not _DOMAIN_RE.match(value)):
        raise UserError(f"{key}: {value!r} is not a lower-case DNS name like koji.example.com (or empty)")


def _check_builders(key: str, value: Any) -> None:
    if not value:
        raise UserError(f"{key}: configure at least one arch of {list(ARCHES)}")
    arches = [b.arch for b in value]
    if len(set(arches)) != len(arches):
        raise UserError(f"{key}: each arch once, got {arches}")


def _domain_from_file(value: Any) -> Any:
    return "" if value is None else value


def _default_builders() -> tuple[ArchConfig, ...]:
    return tuple(ArchConfig(a, DEFAULT_INSTANCE_TYPES[a]) for a in ARCHES)


def _pick_arches(flag_values: tuple, builders: tuple[ArchConfig, ...]) -> tuple[ArchConfig, ...]:
    """--arch A --arch B: those builder groups, each with the file's instance types if it has them."""
    by_arch = {b.arch: b for b in builders}
    picked = []
    for arch in flag_values:
        if arch not in ARCHES:
            raise UserError(f"--arch: {arch!r} is not allowed; use one of {', '.join(ARCHES)}")
        picked.append(by_arch.get(arch, ArchConfig(arch, DEFAULT_INSTANCE_TYPES[arch])))
    return tuple(picked)


@dataclass(frozen=True)
class Config:
    """Everything that shapes the generated templates: each field is an option (module docstring)."""

    availability_zones: int = option(2, help="Availability zones", choices=AZ_COUNTS, flag="--az-count")
    nat: str = option("single", help="NAT gateways", choices=NAT_MODES)
    distro: str = option("el9", help="Instance OS", choices=DISTROS)
    spot: bool = option(True, help="Use spot capacity for builders")
    domain: str = option("", help="Custom domain name for people (optional)", check=_check_domain,
                         parse=_domain_from_file)
    vpc: str = option("both", help="Templates to write", choices=VPC_MODES)
    builders: tuple[ArchConfig, ...] = option(
        default_factory=_default_builders, help=f"Builder arch, repeatable ({', '.join(ARCHES)}; replaces the "
        "config's list, keeping its instance types)", flag="--arch", dest="arches", check=_check_builders,
        parse=lambda raw: _builders_from(raw), from_flag=_pick_arches)

    def __post_init__(self) -> None:
        for spec in options(type(self)):
            spec.validate(getattr(self, spec.key))

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


def config_from_dict(raw: dict[str, Any], flags: dict[str, Any] | None = None, cls: type | None = None) -> Any:
    """A Config (or `cls`, a Config with more options) from the config file's keys (`raw`) and the
    flags' values (`flags`, by each option's dest: `arches` for --arch; a flag wins over the file)."""
    specs = options(cls)
    # a repeatable flag's dest is a key of the file too (`arches: [x86_64]`, as --arch x86_64: kept for
    # the config files that use it), applied over the option's own key unless the flag is given
    keys = [s.key for s in specs] + [s.dest for s in specs if s.repeatable and s.dest != s.key]
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise UserError(f"{unknown[0]}: unknown key in the config; allowed keys: {', '.join(keys)}")
    stray = sorted(set(flags or {}) - {s.dest for s in specs})
    if stray:
        raise ValueError(f"no option takes the flag value {stray[0]!r}")  # a caller's mistake, not the user's
    kwargs: dict[str, Any] = {}
    for s in specs:
        if s.key in raw:
            kwargs[s.key] = s.option.parse(raw[s.key]) if s.option.parse else raw[s.key]
        value = (flags or {}).get(s.dest)
        if value is None and s.option.from_flag is not None and raw.get(s.dest) is not None:
            if not isinstance(raw[s.dest], list):
                raise UserError(f"{s.dest}: must be a list (the values {s.flag} takes, repeated)")
            value = raw[s.dest]
        if value is None or (s.repeatable and not value):
            continue
        if s.option.from_flag is not None:
            kwargs[s.key] = s.option.from_flag(tuple(value), kwargs.get(s.key, s.default))
        else:
            kwargs[s.key] = value
    return (cls or Config)(**kwargs)


def load_config(path: Path | None, overrides: dict[str, Any] | None = None, cls: type | None = None) -> Any:
    """Read `path` (YAML) if given, apply `overrides` (flag values by dest), validate. Raises UserError."""
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
            keys = ", ".join(s.key for s in options(cls))
            raise UserError(f"{path}: the top level must be a mapping of keys ({keys})")
        raw.update(loaded)
    return config_from_dict(raw, overrides, cls)


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
