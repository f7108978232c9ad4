"""Builds the payload a launch template carries in its Metadata: a deterministic tar.gz of the
role's scripts, units and configs (and, for the hub, the controller package).

Deterministic: members sorted, mtime 0, uid/gid 0, fixed modes (0755 for executables, 0644
otherwise), gzip header without name or time. Same files, same bytes, same SHA-256.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

if __package__:
    from .. import names
else:  # loaded by file path, standard library only (tests/realhub/build.sh): kojistack/names.py beside it
    import importlib.util as _util
    _spec = _util.spec_from_file_location("kojistack_names", Path(__file__).resolve().parents[1] / "names.py")
    assert _spec and _spec.loader
    names = _util.module_from_spec(_spec)
    _spec.loader.exec_module(names)

PACKAGE = Path(__file__).resolve().parents[1]


def _cloud_init_dir() -> Path:
    """cloud-init/ as installed from a wheel (setup.py copies it to kojistack/_cloud_init/), else the
    source tree's top-level cloud-init/ (a checkout or an editable install)."""
    packaged = PACKAGE / "_cloud_init"
    return packaged if packaged.is_dir() else PACKAGE.parent / "cloud-init"


CLOUD_INIT = _cloud_init_dir()
CONTROLLER = PACKAGE / "controller"
_SKIP_PARTS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


@dataclass(frozen=True)
class Payload:
    tgz: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.tgz).hexdigest()

    @property
    def b64(self) -> str:
        return base64.b64encode(self.tgz).decode()

    def metadata(self) -> dict:
        """The launch template's Metadata: fetch-payload.sh reads kojistack.payload."""
        return {"kojistack": {"payload": {"sha256": self.sha256, "tgz_b64": self.b64}}}


def _files(src: Path) -> list[Path]:
    return sorted(p for p in src.rglob("*") if p.is_file() and not _SKIP_PARTS & set(p.parts)
                  and p.suffix not in _SKIP_SUFFIXES)


def _add(tar: tarfile.TarFile, name: str, data: bytes, executable: bool) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.uid, info.gid = len(data), 0, 0, 0
    info.uname = info.gname = "root"
    info.mode = 0o755 if executable else 0o644
    tar.addfile(info, io.BytesIO(data))


class UnitNameError(ValueError):
    """A unit file, drop-in or dependency names a unit kojistack/names.py does not declare, or a
    certificate of a koji user or host it does not declare."""


#: unit-file directives that name other units (systemd.unit(5), systemd.timer(5) Unit=)
_UNIT_DEPENDENCY = re.compile(r"^(?:After|Before|Requires|Wants|BindsTo|PartOf|Requisite|Conflicts|OnFailure|"
                              r"WantedBy|RequiredBy|Unit)=(.*)$", re.M)


#: a certificate of the stack's own koji users and host, named after its CN (kojistack-bootstrap)
_USER_PEM = re.compile(r"/etc/kojistack/pki/([A-Za-z0-9_.@-]+)\.pem\b")
#: the certificates there that are not named after a koji user (kojistack-bootstrap certificates())
_ROLE_PEMS = {"ca", "admin", "client-ca", "rds-ca"}


def check_unit_names(where: str, unit: str, text: str) -> None:
    """`unit` (a unit file's name, or the unit a drop-in folder `<unit>.d` belongs to) and every
    service or timer `text` depends on must be declared in kojistack/names.py UNITS: systemd reads
    no environment in these places, so a unit renamed there must be renamed here too, never half.
    Likewise a certificate /etc/kojistack/pki/<name>.pem the unit names (ConditionPathExists=) must
    be a koji user or host declared in USERS (or one of the certificates named for its role)."""
    declared = set(names.units().values())
    named = [unit] + [word for m in _UNIT_DEPENDENCY.finditer(text) for word in m.group(1).split()
                      if word.endswith((".service", ".timer"))]
    for name in named:
        if name not in declared:
            raise UnitNameError(
                f"{where}: unit {name} is not declared in kojistack/names.py UNITS (a unit's name is its "
                f"file's name: rename the file, its drop-ins and every unit naming it with the declaration)")
    users = set(names.users().values())
    for m in _USER_PEM.finditer(text):
        if m.group(1) not in users | _ROLE_PEMS:
            raise UnitNameError(
                f"{where}: certificate {m.group(0)} names {m.group(1)}, not a koji user or host declared in "
                f"kojistack/names.py USERS (systemd reads no environment here: rename it with the declaration)")


def _check_units(src: Path, rel: str, data: bytes) -> None:
    parts = rel.split("/")
    if parts[0] == "systemd" and len(parts) > 1:
        where = f"{src.relative_to(CLOUD_INIT) if src.is_relative_to(CLOUD_INIT) else src}/{rel}"
        check_unit_names(where, parts[1].removesuffix(".d"), data.decode("utf-8", "replace"))


def build_payload(trees: dict[str, Path], generated: dict[str, str] | None = None) -> Payload:
    """Pack each source tree under its prefix (e.g. {"files": cloud-init/payload/hub}), then the
    generated files (name -> text, e.g. names.env). Unit files and drop-ins (`systemd/`) name only
    declared units (check_unit_names)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for prefix in sorted(trees):
            src = trees[prefix]
            if not src.is_dir():
                continue
            for path in _files(src):
                rel, data = path.relative_to(src).as_posix(), path.read_bytes()
                _check_units(src, rel, data)
                _add(tar, f"{prefix}/{rel}", data, bool(path.stat().st_mode & 0o111))
        for name, text in sorted((generated or {}).items()):
            _add(tar, name, text.encode(), False)
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return Payload(out.getvalue())


PAYLOAD = CLOUD_INIT / "payload"  # what travels in the launch template's Metadata (cloud-init/README.md)
COMMON = PAYLOAD / "common"  # both roles: /opt/kojistack/common (the log shipper)


def shared_names() -> dict[str, str]:
    """/opt/kojistack/names.env on both roles: the names the template and the machines share."""
    return {names.NAMES_ENV: names.env_text()}


def hub_payload() -> Payload:
    return build_payload({"files": PAYLOAD / "hub", "common": COMMON,
                          "lib/kojistack_controller": CONTROLLER}, shared_names())


def builder_payload() -> Payload:
    return build_payload({"files": PAYLOAD / "builder", "common": COMMON}, shared_names())
