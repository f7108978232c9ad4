"""Adds the security groups: the least access, every rule described, explicit egress everywhere.

people -> public NLB 443 (AccessCidr); hub and builders -> internal NLB 443; both NLBs -> hub 443;
hub -> database 5432; hub -> file system 2049; nothing reaches the builders.
Rules that name another group are separate resources, so no group waits for another in a cycle;
the hub group depends on every one of them (`rules`), so they exist before the hub starts and
outlive the groups that drain through them on a console delete (issue 11 items 4 and 5).
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Sub, Tags, Template, ec2

from .. import ids
from . import parameters as P
from .network import Network
from .parameters import Params

# Replaces the default allow-all egress of a group that needs none (RDS, EFS): a rule that matches nothing.
_NO_EGRESS = ec2.SecurityGroupRule(IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="127.0.0.1/32",
                                   Description="no egress: placeholder that replaces the default allow-all rule")


@dataclass(frozen=True)
class SecurityGroups:
    public_nlb: ec2.SecurityGroup
    internal_nlb: ec2.SecurityGroup
    hub: ec2.SecurityGroup
    builder: ec2.SecurityGroup
    database: ec2.SecurityGroup
    file_system: ec2.SecurityGroup
    rules: tuple[ec2.SecurityGroupIngress, ...]


def _out(port: int, what: str) -> ec2.SecurityGroupRule:
    return ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0",
                                 Description=what)


def _sg(t: Template, title: str, what: str, net: Network, egress: list) -> ec2.SecurityGroup:
    return t.add_resource(ec2.SecurityGroup(
        title, GroupDescription=what, VpcId=net.vpc_id, SecurityGroupEgress=egress,
        Tags=Tags(Name=Sub("${AWS::StackName}-" + title))))


def _allow(t: Template, title: str, to: ec2.SecurityGroup, source: ec2.SecurityGroup, port: int,
           what: str) -> ec2.SecurityGroupIngress:
    return t.add_resource(ec2.SecurityGroupIngress(title, GroupId=GetAtt(to, "GroupId"), IpProtocol="tcp",
                                            FromPort=port, ToPort=port,
                                            SourceSecurityGroupId=GetAtt(source, "GroupId"), Description=what))


def add_security_groups(t: Template, net: Network, p: Params) -> SecurityGroups:
    db = _sg(t, ids.DB_SG, "koji database: PostgreSQL from the hub only", net, [_NO_EGRESS])
    efs = _sg(t, ids.EFS_SG, "koji file system: NFS from the hub only", net, [_NO_EGRESS])
    hub = _sg(t, ids.HUB_SG, "koji hub: HTTPS from the load balancers only", net, [
        _out(443, "HTTPS to AWS APIs, distro mirrors and the internal load balancer"),
        _out(80, "HTTP to distro mirrors (repos are signed)"),
        ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=5432, ToPort=5432,
                              DestinationSecurityGroupId=GetAtt(db, "GroupId"),
                              Description="PostgreSQL to the koji database"),
        ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=2049, ToPort=2049,
                              DestinationSecurityGroupId=GetAtt(efs, "GroupId"),
                              Description="NFS to the /mnt/koji file system"),
    ])
    builder = _sg(t, ids.BUILDER_SG, "koji builders: no ingress; HTTPS/HTTP out", net, [
        _out(443, "HTTPS to the internal load balancer, AWS APIs, SCMs and mirrors"),
        _out(80, "HTTP to distro mirrors (repos are signed)"),
    ])
    public = _sg(t, ids.PUBLIC_NLB_SG, "koji public load balancer: HTTPS from AccessCidr", net, [
        ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443,
                              DestinationSecurityGroupId=GetAtt(hub, "GroupId"),
                              Description="HTTPS to the hub")])
    internal = _sg(t, ids.INTERNAL_NLB_SG, "koji internal load balancer: HTTPS from hub and builders", net, [
        ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443,
                              DestinationSecurityGroupId=GetAtt(hub, "GroupId"),
                              Description="HTTPS to the hub")])
    rules = [t.add_resource(ec2.SecurityGroupIngress(
        ids.PUBLIC_NLB_FROM_ACCESS_CIDR, GroupId=GetAtt(public, "GroupId"), IpProtocol="tcp", FromPort=443,
        ToPort=443, CidrIp=p.ref(P.ACCESS_CIDR), Description="HTTPS from the people allowed in (AccessCidr)"))]
    rules += [
        _allow(t, ids.INTERNAL_NLB_FROM_HUB, internal, hub, 443, "HTTPS from the hub (kojira, kojiweb, controller)"),
        _allow(t, ids.INTERNAL_NLB_FROM_BUILDERS, internal, builder, 443, "HTTPS from builders (kojid)"),
        _allow(t, ids.HUB_FROM_PUBLIC_NLB, hub, public, 443, "HTTPS from the public load balancer"),
        _allow(t, ids.HUB_FROM_INTERNAL_NLB, hub, internal, 443, "HTTPS from the internal load balancer"),
        _allow(t, ids.DATABASE_FROM_HUB, db, hub, 5432, "PostgreSQL from the hub"),
        _allow(t, ids.FILE_SYSTEM_FROM_HUB, efs, hub, 2049, "NFS from the hub"),
    ]
    return SecurityGroups(public, internal, hub, builder, db, efs, tuple(rules))


