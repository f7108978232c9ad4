"""`kojistack urls` (and the top of `status`): where people reach the stack, from its outputs and
parameters: web UI, hub, files, and, for a custom domain, the name its CNAME record must point at."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import ids
from . import stackinfo


def parameters(description: Mapping[str, Any]) -> dict[str, str]:
    """The stack's parameters as {key: value}."""
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in description.get("Parameters") or []}


def urls(description: Mapping[str, Any]) -> dict[str, str]:
    """{"web", "hub", "files", "internal_hub", "cname_target", "custom_domain"} ("" where the stack has none)."""
    out = stackinfo.outputs(dict(description))
    domain = parameters(description).get("CustomDomain", "")
    return {"web": out.get(ids.OUT_WEB_URL, ""), "hub": out.get(ids.OUT_HUB_URL, ""),
            "files": out.get(ids.OUT_FILES_URL, ""), "internal_hub": out.get(ids.OUT_INTERNAL_HUB_URL, ""),
            "custom_domain": domain, "cname_target": out.get(ids.OUT_CNAME_TARGET, "")}


def render(found: Mapping[str, str]) -> list[str]:
    """The text form of `urls`."""
    if not found["web"]:
        return ["no URLs yet: the stack has no outputs (is it still creating? `kojistack status`)"]
    lines = [f"web UI:      {found['web']}", f"hub:         {found['hub']}", f"files:       {found['files']}",
             f"machines:    {found['internal_hub']} (inside the VPC only)"]
    if found["custom_domain"]:
        target = found["cname_target"] or "(the public load balancer's DNS name: update the stack for the output)"
        lines.append(f"DNS:         {found['custom_domain']}. CNAME {target}.  "
                     "(create this record at your DNS provider)")
    return lines
