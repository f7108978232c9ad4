"""`kojistack client-config`: a koji client profile for a stack, with its cert files (0600), a PKCS#12 and the CA.

Writes ~/.koji/config.d/<profile>.conf (read by koji's own `read_config`) and ~/.koji/<profile>/:
client.pem (cert + key), ca.pem, <user>.p12 and <user>.p12.password.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from .. import ids
from ..errors import UserError
from . import stackinfo
from .session import Aws


@dataclass(frozen=True)
class ClientFiles:
    """The files of one koji profile, keyed by path, and the profile name."""

    profile: str
    files: dict[Path, bytes]
    p12: Path | None
    ca: Path


def koji_dir() -> Path:
    return Path(os.path.expanduser("~")) / ".koji"


def build_files(profile: str, stack_outputs: dict[str, str], creds: dict[str, str], root: Path) -> ClientFiles:
    """The profile's files (pure: nothing is written)."""
    home = root / profile
    cert, ca = home / "client.pem", home / "ca.pem"
    user = creds["username"]
    config = "\n".join([
        f"# written by kojistack client-config for user {user}",
        f"[{profile}]",
        f"server = {stack_outputs[ids.OUT_HUB_URL]}",
        f"weburl = {stack_outputs[ids.OUT_WEB_URL]}",
        f"topurl = {stack_outputs[ids.OUT_FILES_URL]}",
        "authtype = ssl",
        f"cert = {cert}",
        f"serverca = {ca}",
        "",
    ])
    files = {root / "config.d" / f"{profile}.conf": config.encode(),
             cert: (creds["cert_pem"].rstrip("\n") + "\n" + creds["key_pem"].rstrip("\n") + "\n").encode(),
             ca: creds["ca_pem"].encode()}
    p12 = None
    if creds.get("p12_b64"):
        p12 = home / f"{user}.p12"
        files[p12] = base64.b64decode(creds["p12_b64"])
        files[home / f"{user}.p12.password"] = (creds.get("p12_password", "") + "\n").encode()
    return ClientFiles(profile, files, p12, ca)


def conflicts(client: ClientFiles) -> list[Path]:
    """Existing files whose content differs from what would be written."""
    return [p for p, data in client.files.items() if p.exists() and p.read_bytes() != data]


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically with mode 0600 (its directory 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def client_config(aws: Aws, stack: str, profile: str, user: str | None, force: bool,
                  root: Path | None = None) -> ClientFiles:
    """Read the stack's outputs and credentials; write the profile. Refuses to change a profile without force."""
    description = stackinfo.describe(aws, stack)
    found = stackinfo.require_outputs(description, ids.OUT_HUB_URL, ids.OUT_WEB_URL, ids.OUT_FILES_URL,
                                      ids.OUT_ADMIN_SECRET)
    if user:
        creds = stackinfo.read_credentials(aws, stackinfo.user_secret_name(description, user), f"user {user}")
    else:
        creds = stackinfo.read_credentials(aws, found[ids.OUT_ADMIN_SECRET], "the admin")
    client = build_files(profile, found, creds, root or koji_dir())
    changed = conflicts(client)
    if changed and not force:
        raise UserError(f"koji profile {profile!r} already exists with different settings "
                        f"({', '.join(str(p) for p in changed)}): pass --force to replace it, or --koji-profile NAME")
    for path, data in client.files.items():
        write_private(path, data)
    return client
