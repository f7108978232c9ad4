"""What the stack's live network lets through, read from the template and the double's resource
states (tests/fakes/cloudformation.py): the paths the controller and the builders need.

A resource counts while it is CREATE_COMPLETE or being updated; once its deletion starts, it
does not (an association being deleted no longer routes). Rules, with their sources:
  [Routes]  a subnet without an explicit association uses the VPC's main route table, which in a
            new VPC holds only the local route (https://docs.aws.amazon.com/vpc/latest/userguide/
            VPC_Route_Tables.html, "Subnet route tables" / "Main route table"); a private subnet
            reaches the internet through a 0.0.0.0/0 route to a NAT gateway, which itself sits in
            a public subnet whose table routes 0.0.0.0/0 to an attached internet gateway
            (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-scenarios.html).
  [SGs]     security groups are stateful and allow only what a rule allows: inbound from a source
            group needs an ingress rule naming that group, outbound needs an egress rule
            (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
  [NLB]     a load balancer forwards only on a listener's port to the listener's target group
            (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-listeners.html);
            with security groups on the NLB, its targets' groups must admit the NLB's group
            (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-security-groups.html).
An existing VPC's subnets, routes and gateway are not the stack's: they are taken to work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kojistack import ids

from .cloudformation import Stack

LIVE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_FAILED")


def _live(stack: Stack, lid: str) -> bool:
    r = stack.resources.get(lid)
    return r is not None and r.status in LIVE


def _of_type(stack: Stack, type_: str) -> list[tuple]:
    return [(lid, d.get("Properties", {})) for lid, d in stack.defs.items()
            if d["Type"] == type_ and _live(stack, lid)]


def _names(node: Any) -> str | None:
    """The logical id a Ref / GetAtt names, else None."""
    if isinstance(node, dict):
        if "Ref" in node:
            return node["Ref"]
        if "Fn::GetAtt" in node:
            v = node["Fn::GetAtt"]
            return v[0] if isinstance(v, list) else v.split(".")[0]
    return None


def _table_of(stack: Stack, subnet: str) -> str | None:
    for _, p in _of_type(stack, "AWS::EC2::SubnetRouteTableAssociation"):
        if _names(p.get("SubnetId")) == subnet:
            return _names(p.get("RouteTableId"))
    return None  # [Routes]: the main route table: local routes only


def _default_route(stack: Stack, table: str | None) -> dict | None:
    if table is None or not _live(stack, table):
        return None
    for _, p in _of_type(stack, "AWS::EC2::Route"):
        if _names(p.get("RouteTableId")) == table and p.get("DestinationCidrBlock") == "0.0.0.0/0":
            return p
    return None


def internet_from(stack: Stack, subnet: Any) -> bool:
    """[Routes]: can an instance in `subnet` (a Ref, or an existing VPC's Select) reach AWS APIs?"""
    lid = _names(subnet)
    if lid is None or lid not in stack.defs:
        return True  # an existing VPC's subnet: its routes are not the stack's
    if not _live(stack, lid):
        return False
    route = _default_route(stack, _table_of(stack, lid))
    if route is None:
        return False
    if "GatewayId" in route:
        igw = _names(route["GatewayId"])
        return _live(stack, igw) and any(_names(p.get("InternetGatewayId")) == igw
                                         for _, p in _of_type(stack, "AWS::EC2::VPCGatewayAttachment"))
    nat = _names(route.get("NatGatewayId"))
    if nat is None or not _live(stack, nat):
        return False
    return internet_from(stack, stack.defs[nat]["Properties"]["SubnetId"])


def allows(stack: Stack, to_sg: str, from_sg: str, port: int) -> bool:
    """[SGs]: does `to_sg` admit `from_sg` on TCP `port` (a live ingress rule, inline or separate)?"""
    if not (_live(stack, to_sg) and _live(stack, from_sg)):
        return False
    rules = [p for _, p in _of_type(stack, "AWS::EC2::SecurityGroupIngress") if _names(p.get("GroupId")) == to_sg]
    rules += stack.defs[to_sg]["Properties"].get("SecurityGroupIngress", [])
    return any(_names(r.get("SourceSecurityGroupId")) == from_sg and r.get("IpProtocol") in ("tcp", "-1")
               and int(r.get("FromPort", 0)) <= port <= int(r.get("ToPort", 65535)) for r in rules)


def egress(stack: Stack, sg: str, port: int, to_sg: str | None = None) -> bool:
    """[SGs]: does `sg` let TCP `port` out (to anywhere, or to `to_sg`)?"""
    rules = stack.defs[sg]["Properties"].get("SecurityGroupEgress")
    if rules is None:
        return True  # the default allow-all egress rule
    return any(int(r.get("FromPort", 0)) <= port <= int(r.get("ToPort", 65535)) and r.get("IpProtocol") == "tcp"
               and (r.get("CidrIp") == "0.0.0.0/0" or (to_sg and _names(r.get("DestinationSecurityGroupId")) == to_sg))
               for r in rules)


def _nlb_sg(stack: Stack, nlb: str) -> str:
    (sg,) = [_names(s) for s in stack.defs[nlb]["Properties"]["SecurityGroups"]]
    return sg


def through_nlb(stack: Stack, nlb: str, from_sg: str, target_sg: str, port: int = 443) -> bool:
    """[NLB] + [SGs]: from instances in `from_sg` through `nlb`'s listener on `port` to targets in `target_sg`."""
    if not _live(stack, nlb):
        return False
    listeners = [p for _, p in _of_type(stack, "AWS::ElasticLoadBalancingV2::Listener")
                 if _names(p.get("LoadBalancerArn")) == nlb and int(p.get("Port", 0)) == port]
    if not listeners:
        return False
    groups = [_names(a.get("TargetGroupArn")) for p in listeners for a in p.get("DefaultActions", [])]
    nsg = _nlb_sg(stack, nlb)
    return (any(_live(stack, g) for g in groups) and egress(stack, from_sg, port, nsg)
            and allows(stack, nsg, from_sg, port) and egress(stack, nsg, port, target_sg)
            and allows(stack, target_sg, nsg, port))


def hub_backends(stack: Stack) -> bool:
    """The hub's own needs: the database (5432) and the file system's mount targets (2049)."""
    db_ok = _live(stack, ids.DATABASE) and allows(stack, ids.DB_SG, ids.HUB_SG, 5432) \
        and egress(stack, ids.HUB_SG, 5432, ids.DB_SG)
    mounts = [lid for lid, d in stack.defs.items() if d["Type"] == "AWS::EFS::MountTarget"]
    fs_ok = all(_live(stack, m) for m in mounts) and allows(stack, ids.EFS_SG, ids.HUB_SG, 2049) \
        and egress(stack, ids.HUB_SG, 2049, ids.EFS_SG)
    return db_ok and fs_ok


def subnets_of(stack: Stack, group: str) -> Iterable[Any]:
    return stack.defs[group]["Properties"]["VPCZoneIdentifier"]
