"""Renders the hub's config templates (files/conf/*.in) at boot.

A template names deploy-time values as @NAME@ (NAME = an environment variable, e.g.
@KOJISTACK_INTERNAL_NLB_DNS@). Every placeholder must have a value: a missing one is an error
naming the template, so a config is never written half-filled.
"""

from __future__ import annotations

import grp
import os
import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


class RenderError(Exception):
    """A template uses a value the bootstrap did not provide."""


def render_text(text: str, values: Mapping[str, str], name: str = "template") -> str:
    missing = sorted({m for m in _PLACEHOLDER.findall(text) if m not in values})
    if missing:
        raise RenderError(f"{name} needs {', '.join(missing)}, which the bootstrap did not set")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def render_file(src: str, dest: str, values: Mapping[str, str], mode: int = 0o644,
                group: str | None = None) -> bool:
    """Write dest from src; True when the content changed. Written atomically."""
    with open(src, encoding="utf-8") as f:
        text = render_text(f.read(), values, os.path.basename(src))
    gid = grp.getgrnam(group).gr_gid if group else -1
    try:
        with open(dest, encoding="utf-8") as f:
            unchanged = f.read() == text
    except FileNotFoundError:
        unchanged = False
    tmp = f"{dest}.kojistack-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    if gid != -1:
        os.chown(tmp, 0, gid)
    os.replace(tmp, dest)
    return not unchanged
