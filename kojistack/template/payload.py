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
import tarfile
from dataclasses import dataclass
from pathlib import Path

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


def build_payload(trees: dict[str, Path]) -> Payload:
    """Pack each source tree under its prefix (e.g. {"files": cloud-init/hub/files})."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for prefix in sorted(trees):
            src = trees[prefix]
            if not src.is_dir():
                continue
            for path in _files(src):
                data = path.read_bytes()
                info = tarfile.TarInfo(f"{prefix}/{path.relative_to(src).as_posix()}")
                info.size, info.mtime, info.uid, info.gid = len(data), 0, 0, 0
                info.uname = info.gname = "root"
                info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
                tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return Payload(out.getvalue())


COMMON = CLOUD_INIT / "common" / "payload"  # both roles: /opt/kojistack/common (the log shipper)


def hub_payload() -> Payload:
    return build_payload({"files": CLOUD_INIT / "hub" / "files", "common": COMMON,
                          "lib/kojistack_controller": CONTROLLER})


def builder_payload() -> Payload:
    return build_payload({"files": CLOUD_INIT / "builder" / "files", "common": COMMON})
