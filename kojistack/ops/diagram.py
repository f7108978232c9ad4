"""`kojistack diagram`: the architecture picture drawn from a generated template's resources and their
Ref / GetAtt / Sub / DependsOn edges, in four network tiers (public, private, data, global); PNG and SVG."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import ids
from ..config import ARCHES
from .overview import save_figure

TIERS = ("public", "private", "data", "global")
TIER_TITLES = {"public": "public subnets", "private": "private subnets", "data": "data (private)",
               "global": "regional / account services"}
_PUBLIC_TYPES = {"AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::EIP",
                 "AWS::EC2::NatGateway"}
_DATA_PREFIXES = ("AWS::RDS::", "AWS::EFS::", "AWS::Backup::")
_GLOBAL_PREFIXES = ("AWS::IAM::", "AWS::KMS::", "AWS::SecretsManager::", "AWS::Lambda::", "AWS::Logs::",
                    "AWS::CloudWatch::", "AWS::SSM::", "AWS::SQS::", "AWS::SNS::", "AWS::Events::", "Custom::")
_SUB_REF = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")
KEY_NODES = {ids.HUB_GROUP: "hub", ids.DATABASE: "database", ids.FILE_SYSTEM: "file system",
             ids.PUBLIC_NLB: "public load balancer", ids.INTERNAL_NLB: "internal load balancer",
             **{ids.builder_group(a): f"{a} builders" for a in ARCHES}}
_COLOURS = {"public": "#fde2c8", "private": "#d6e9f8", "data": "#dff2d8", "global": "#ece4f6"}


@dataclass(frozen=True)
class Node:
    logical_id: str
    resource_type: str
    tier: str


def tier_of(logical_id: str, resource_type: str) -> str:
    """The network tier a resource is drawn in."""
    if resource_type in _PUBLIC_TYPES or logical_id.startswith("Public"):
        return "public"
    if resource_type.startswith(_DATA_PREFIXES) or logical_id.startswith(("Database", "FileSystem")):
        return "data"
    if resource_type.startswith(_GLOBAL_PREFIXES) or logical_id == ids.DASHBOARD:
        return "global"
    return "private"


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                yield str(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                if isinstance(text, str):
                    yield from _SUB_REF.findall(text)
                if isinstance(inner, list) and len(inner) > 1:
                    yield from _references(inner[1])
            else:
                yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


def graph(template: Mapping[str, Any]) -> tuple[list[Node], list[tuple[str, str]]]:
    """The resources as nodes and their references (resource -> resource it uses) as sorted edges."""
    resources = template.get("Resources", {})
    nodes = [Node(k, r.get("Type", ""), tier_of(k, r.get("Type", ""))) for k, r in sorted(resources.items())]
    edges: set[tuple[str, str]] = set()
    for name, res in resources.items():
        depends = res.get("DependsOn", [])
        targets = set(_references(res.get("Properties", {}))) | set([depends] if isinstance(depends, str) else depends)
        edges.update((name, t) for t in targets if t in resources and t != name)
    return nodes, sorted(edges)


# resources through which key parts reach each other (a flow, as opposed to a permission or a placement)
_VIA_TYPES = {"AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::ElasticLoadBalancingV2::Listener",
              "AWS::EC2::LaunchTemplate", "AWS::EFS::MountTarget"}


def key_flows(nodes: list[Node], edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Pairs of key parts where one uses the other directly, or through its launch template, a mount
    target, or a target group and the listener in front of it (followed backwards from the target group)."""
    types = {n.logical_id: n.resource_type for n in nodes}
    present = set(types) & set(KEY_NODES)
    uses: dict[str, set[str]] = {}
    used_by: dict[str, set[str]] = {}
    for a, b in edges:
        uses.setdefault(a, set()).add(b)
        used_by.setdefault(b, set()).add(a)
    backward_ok = {"AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::TargetGroup"}

    def step(node: str) -> set[str]:
        back = {m for m in used_by.get(node, ()) if types.get(m) in backward_ok}
        return uses.get(node, set()) | (back if types.get(node) in backward_ok else set())

    flows: set[tuple[str, str]] = set()
    for start in present:
        seen, frontier = {start}, {start}
        while frontier:
            found = {m for f in frontier for m in step(f) if m not in seen}
            seen |= found
            flows.update((min(start, m), max(start, m)) for m in found if m in present)
            frontier = {m for m in found if types.get(m) in _VIA_TYPES}
    return sorted(flows)


def _layout(nodes: list[Node]) -> dict[str, tuple[float, float]]:
    pos = {}
    for col, tier in enumerate(TIERS):
        members = sorted((n for n in nodes if n.tier == tier),
                         key=lambda n: (n.logical_id not in KEY_NODES, n.logical_id))
        for row, node in enumerate(members):
            pos[node.logical_id] = (col * 4.0, -row * 1.0)
    return pos


def draw(template: Mapping[str, Any], out: Path, title: str = "kojistack") -> list[Path]:
    """Write `out` as PNG and SVG (same stem); returns both paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "kojistack", "font.family": "DejaVu Sans"})
    nodes, edges = graph(template)
    pos = _layout(nodes)
    rows = max(sum(1 for n in nodes if n.tier == t) for t in TIERS)
    fig, ax = plt.subplots(figsize=(16, 1.2 + rows * 0.42))
    for col, tier in enumerate(TIERS):
        count = sum(1 for n in nodes if n.tier == tier)
        ax.add_patch(FancyBboxPatch((col * 4.0 - 1.75, -count + 0.35), 3.5, count + 0.3,
                                    boxstyle="round,pad=0.05", fc=_COLOURS[tier], ec="#999999", lw=0.8, zorder=0))
        ax.text(col * 4.0, 1.0, TIER_TITLES[tier], ha="center", va="bottom", fontsize=11, weight="bold")
    for src, dst in edges:
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        key = src in KEY_NODES and dst in KEY_NODES
        rad = 0.0 if x1 != x2 else 0.35
        ax.annotate("", xy=(x2, y2), xytext=(x1, y1), zorder=1,
                    arrowprops={"arrowstyle": "-|>", "lw": 1.4 if key else 0.4, "alpha": 0.9 if key else 0.25,
                                "color": "#b03a2e" if key else "#555555", "shrinkA": 8, "shrinkB": 8,
                                "connectionstyle": f"arc3,rad={rad}"})
    for a, b in key_flows(nodes, edges):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        ax.annotate("", xy=(x2, y2), xytext=(x1, y1), zorder=1.5,
                    arrowprops={"arrowstyle": "-", "lw": 2.2, "color": "#b03a2e", "alpha": 0.8, "shrinkA": 10,
                                "shrinkB": 10, "connectionstyle": f"arc3,rad={0.0 if x1 != x2 else -0.6}"})
    for node in nodes:
        x, y = pos[node.logical_id]
        key = node.logical_id in KEY_NODES
        label = node.logical_id + (f"  [{KEY_NODES[node.logical_id]}]" if key else "")
        short_type = node.resource_type.split("::", 1)[-1]
        ax.text(x, y, f"{label}\n{short_type}", ha="center", va="center", fontsize=8 if key else 6.5,
                weight="bold" if key else "normal", zorder=2,
                bbox={"boxstyle": "round,pad=0.25", "fc": "#ffffff", "ec": "#b03a2e" if key else "#777777",
                      "lw": 1.4 if key else 0.5})
    ax.set_xlim(-2.0, 4.0 * (len(TIERS) - 1) + 2.0)
    ax.set_ylim(-rows - 0.2, 1.8)
    ax.axis("off")
    ax.set_title(f"{title}: {len(nodes)} resources, {len(edges)} references (Ref, GetAtt, Sub, DependsOn; grey). "
                 "Red: how the key parts reach each other (via target groups, listeners, launch templates, "
                 "mount targets)", fontsize=10)
    return save_figure(fig, out)


def load(path: Path) -> dict[str, Any]:
    from .templates import load_template

    return load_template(path)[1]


def draw_file(template: Path, out: Path) -> list[Path]:
    """Draw the template at `template` into `out` (.png and .svg)."""
    return draw(load(template), out, template.name)


__all__ = ["draw", "draw_file", "graph", "tier_of"]
