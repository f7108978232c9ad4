"""The architecture picture a person reads (docs/architecture.png): who talks to whom, in which
direction, on which port, and what outlives `kojistack delete`. Drawn from a generated template, so
it cannot drift from it: the builder groups per arch, the NAT gateways, and the retained resources
(DeletionPolicy Retain or Snapshot) come from the template; the rest is the fixed shape of every
kojistack stack (docs/architecture.md). The full resource graph is ops/diagram.py's picture."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import ids

RETAINED_POLICIES = ("Retain", "Snapshot", "RetainExceptOnCreate")
_ARCH_OF = {ids.builder_group(a): a for a in ("x86_64", "aarch64")}
_KEPT = "#7d3c98"
_FLOW = "#1f4e79"


def facts(template: Mapping[str, Any]) -> dict[str, Any]:
    """What the picture shows that differs between templates."""
    res = template.get("Resources", {})
    kept = {k: r.get("DeletionPolicy") for k, r in res.items() if r.get("DeletionPolicy") in RETAINED_POLICIES}
    return {
        "arches": [a for k, a in _ARCH_OF.items() if k in res],
        "nat_gateways": sum(1 for r in res.values() if r.get("Type") == "AWS::EC2::NatGateway"),
        "new_vpc": ids.VPC in res,
        "light_hosts": ids.LIGHT_GROUP in res,
        "kept": kept,
        "secrets_kept": sorted(k for k, r in res.items()
                               if r.get("Type") == "AWS::SecretsManager::Secret" and k in kept),
    }


def draw(template: Mapping[str, Any], out: Path) -> list[Path]:
    """Write `out` as PNG and SVG (same stem); returns both paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "kojistack", "font.family": "DejaVu Sans"})
    f = facts(template)
    fig, ax = plt.subplots(figsize=(16, 10))
    ax.set_xlim(0, 32)
    ax.set_ylim(0, 20)
    ax.axis("off")

    def area(x, y, w, h, title, colour, ls="-"):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.1", fc=colour, ec="#888888", lw=1, ls=ls,
                                    zorder=0))
        ax.text(x + 0.3, y + h - 0.25, title, ha="left", va="top", fontsize=10, color="#444444", style="italic")

    def box(x, y, w, h, title, body="", kept=None, colour="#ffffff"):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.12", fc=colour,
                                    ec=_KEPT if kept else "#333333", lw=2.6 if kept else 1.2, zorder=2))
        ax.text(x + w / 2, y + h - 0.3, title, ha="center", va="top", fontsize=11, weight="bold", zorder=3)
        if body:
            ax.text(x + w / 2, y + h - 0.95, body, ha="center", va="top", fontsize=8.5, zorder=3, linespacing=1.35)
        if kept:
            ax.text(x + w - 0.1, y + 0.12, f"kept on delete ({kept})", ha="right", va="bottom", fontsize=7.5,
                    color=_KEPT, weight="bold", zorder=3)
        return (x, y, w, h)

    def arrow(a, b, label="", rad=0.0, colour=_FLOW, style="-|>", lw=1.8, dy=0.0):
        ax.annotate("", xy=b, xytext=a, zorder=1.5, arrowprops={
            "arrowstyle": style, "lw": lw, "color": colour, "shrinkA": 2, "shrinkB": 2,
            "connectionstyle": f"arc3,rad={rad}"})
        if label:
            mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + dy
            ax.text(mx, my, label, ha="center", va="center", fontsize=8, color=colour, zorder=4,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})

    ax.text(16, 19.7, "kojistack: who talks to whom (arrows point from the side that connects)",
            ha="center", va="top", fontsize=14, weight="bold")

    # outside
    box(0.3, 13.2, 4.4, 3.0, "people", "packagers: koji CLI\n(client certificate)\nbrowsers: koji web UI")
    box(0.3, 8.6, 4.4, 2.6, "the internet", "distro mirrors\n(dnf, EPEL; SCMs)", colour="#f4f4f4")
    box(0.3, 2.4, 4.4, 3.8, "admins", "kojistack CLI, console:\nAWS APIs only (CloudFormation,\nSSM, Secrets Manager,\n"
                                        "CloudWatch); no SSH")

    vpc = "VPC (new)" if f["new_vpc"] else "VPC (yours)"
    area(5.6, 0.6, 18.0, 17.6, vpc, "#f7fbff")
    area(6.0, 11.3, 5.6, 6.4, "public subnets", "#fde9d6")
    area(12.2, 1.0, 11.1, 16.7, "private subnets", "#e3effa")

    pub = box(6.4, 14.0, 4.8, 2.7, "public load balancer", "TCP 443, TLS passes through\n(httpd checks client certs)\n"
                                                           "security group: AccessCidr")
    nat = box(6.4, 11.7, 4.8, 1.7, f"NAT gateway{'s' if f['nat_gateways'] > 1 else ''}",
              f"{f['nat_gateways']} (egress only)" if f["nat_gateways"] else "(your VPC's NAT)")
    hub = box(12.7, 10.2, 6.0, 6.9, "hub (exactly 1, self-healing)",
              "httpd + mod_ssl: kojihub, kojiweb,\n/kojifiles\nkojira (repos)\nkojid: createrepo + light channel\n"
              "kojistack-controller:\nscales, registers, drains builders\nand light hosts; log shipper")
    internal = box(12.7, 6.4, 6.0, 2.3, "internal load balancer", "TCP 443, inside the VPC only\n"
                                                                  "(machines' server/topurl)")
    nb = max(1, len(f["arches"]))
    bw = 9.8 / nb
    builders = []
    for i, arch in enumerate(f["arches"]):
        builders.append(box(12.7 + i * bw, 1.4, bw - 0.4, 3.6, f"{arch} builders",
                            "kojid + mock\nspot or on-demand\n0..max, by the controller"))

    light = box(19.2, 5.6, 3.9, 3.6, "light hosts", "kojid: light channel only\n(waiting build parents)\n"
                "on-demand, 0..max,\nby the controller") if f["light_hosts"] else None

    db = box(19.8, 14.0, 3.2, 3.1, "database", "RDS PostgreSQL\nencrypted, TLS,\nbackups",
             kept=f["kept"].get(ids.DATABASE))
    fs = box(19.8, 10.6, 3.2, 2.9, "file system", "EFS /mnt/koji\nencrypted,\nbacked up",
             kept=f["kept"].get(ids.FILE_SYSTEM))

    area(24.3, 0.6, 7.4, 17.6, "AWS services of the region", "#f3eefa")
    box(24.7, 14.4, 6.6, 2.9, "stack KMS key", "encrypts database, file system,\nsecrets, logs, alarm topic",
        kept=f["kept"].get(ids.STACK_KEY))
    box(24.7, 10.6, 6.6, 3.0, "Secrets Manager",
        f"{len(f['secrets_kept'])} stack secrets: CAs, admin,\ndatabase, web (+ one per user)",
        kept="Retain" if f["secrets_kept"] else None)
    ssm = box(24.7, 7.3, 6.6, 2.5, "SSM", "Session Manager, Run Command\n(`kojistack user add`), CA, CSRs")
    cw = box(24.7, 3.6, 6.6, 2.9, "CloudWatch", "logs /kojistack/<stack>/hub|builders\nmetrics, dashboard, alarms")
    sns = box(24.7, 1.0, 6.6, 1.9, "SNS alarm topic", "-> NotificationEmail")

    def right(b, f=0.5):
        return (b[0] + b[2], b[1] + b[3] * f)

    def left(b, f=0.5):
        return (b[0], b[1] + b[3] * f)

    def top(b, f=0.5):
        return (b[0] + b[2] * f, b[1] + b[3])

    def bottom(b, f=0.5):
        return (b[0] + b[2] * f, b[1])

    arrow((4.7, 14.7), left(pub), "HTTPS 443", dy=0.35)
    arrow(right(pub), left(hub, 0.75), "443", dy=0.3)
    for b in builders:
        at = min(0.85, max(0.15, (b[0] + b[2] / 2 - internal[0]) / internal[2]))
        arrow(top(b), bottom(internal, at), "XML-RPC, files: 443", rad=0.0)
    arrow(top(internal), bottom(hub), "443")
    if light is not None:
        arrow(left(light, 0.45), right(internal, 0.45), "443", rad=0.0, dy=0.3)
    arrow(right(hub, 0.85), left(db, 0.5), "5432 TLS", dy=0.3)
    arrow(right(hub, 0.3), left(fs, 0.5), "NFS 2049", dy=0.3)
    arrow(left(hub, 0.35), right(nat), "dnf", rad=0.0, dy=0.3)
    arrow(left(nat), right((0.3, 8.6, 4.4, 2.6), 0.7), "HTTPS out", dy=0.3)
    arrow(left(builders[0], 0.4) if builders else left(internal), right(nat, 0.2), "dnf, SCM", rad=-0.25, dy=-0.6)
    arrow((19.9, 4.3), left(cw), "logs, metrics", dy=0.3)
    arrow(right(hub, 0.02), left(ssm, 0.75), "AWS APIs: secrets, SSM, logs, metrics (443)", dy=0.45)
    arrow(bottom(cw), top(sns), "alarms")

    ax.text(0.4, 0.2, "Purple border: kept when the stack is deleted (DeletionPolicy Retain or Snapshot); "
            "`kojistack delete` lists them and prints the parameters a restore needs. "
            "The whole resource graph: docs/architecture-full.png.", fontsize=8.5, color="#444444")
    return save_figure(fig, out)


def save_figure(fig: Any, out: Path) -> list[Path]:
    """Write `fig` as PNG and SVG beside `out`, without the date and software stamps (same input,
    same bytes), and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    png, svg = out.with_suffix(".png"), out.with_suffix(".svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110, metadata={"Software": None})
    fig.savefig(svg, metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return [png, svg]
