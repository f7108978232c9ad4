"""Adds the network: a new VPC (public + private subnets per AZ, IGW, NAT, routes, S3 endpoint),
or the existing VPC's ids picked from list parameters (exactly the configured number per list).

The subnet plan never depends on the AZ count or NAT mode: six /N+3 blocks are cut from the VPC
CIDR (/16 -> six /19) and subnet i always takes block i (private) and 3 + i (public), so changing a build-time
option never replaces a subnet that holds the database's or file system's interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import AWSObject, Cidr, GetAtt, GetAZs, Ref, Select, Sub, Tags, Template, ec2

from .. import ids
from ..config import Config
from . import parameters as P
from .parameters import Params


@dataclass(frozen=True)
class Network:
    vpc_id: object
    public_subnets: tuple[object, ...]
    private_subnets: tuple[object, ...]
    # Every route, route-table association and endpoint the machines' traffic takes. The hub group
    # depends on all of them: it is created only once they exist (issue 11 item 5) and, since a
    # dependent is deleted before what it depends on, they outlive the hub and the builder groups
    # while those drain on a console delete (item 4). Nothing Refs an association, a default route
    # or the endpoint, so without DependsOn CloudFormation deletes them at once, in parallel with
    # the groups (DependsOn attribute docs: "Resource A is deleted before resource B";
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html).
    egress_ready: tuple[AWSObject, ...] = ()
    # The new VPC's internet gateway attachment: resources that take a public address (an
    # internet-facing load balancer) depend on it ("When a DependsOn attribute is required",
    # same page, #gatewayattachment). None for an existing VPC (its gateway is not the stack's).
    gateway_attachment: AWSObject | None = None


def _name(suffix: str) -> Tags:
    return Tags(Name=Sub("${AWS::StackName}-" + suffix))


def add_network(t: Template, cfg: Config, variant: str, p: Params) -> Network:
    if variant == "existing":
        n = cfg.availability_zones
        return Network(
            vpc_id=p.ref(P.VPC_ID),
            public_subnets=tuple(Select(i, p.ref(P.PUBLIC_SUBNET_IDS)) for i in range(n)),
            private_subnets=tuple(Select(i, p.ref(P.PRIVATE_SUBNET_IDS)) for i in range(n)),
        )
    return _new_vpc(t, cfg, p)


def _new_vpc(t: Template, cfg: Config, p: Params) -> Network:
    vpc = t.add_resource(ec2.VPC(ids.VPC, CidrBlock=p.ref(P.VPC_CIDR), EnableDnsSupport=True,
                                 EnableDnsHostnames=True, Tags=_name("vpc")))
    blocks = Cidr(GetAtt(vpc, "CidrBlock"), 6, 13)  # six /19 blocks of the /16
    igw = t.add_resource(ec2.InternetGateway(ids.INTERNET_GATEWAY, Tags=_name("igw")))
    attach = t.add_resource(ec2.VPCGatewayAttachment(ids.GATEWAY_ATTACHMENT, VpcId=Ref(vpc),
                                                     InternetGatewayId=Ref(igw)))
    public_rt = t.add_resource(ec2.RouteTable(ids.PUBLIC_ROUTE_TABLE, VpcId=Ref(vpc), Tags=_name("public")))
    ready: list[AWSObject] = [attach]
    ready.append(t.add_resource(ec2.Route(ids.PUBLIC_DEFAULT_ROUTE, RouteTableId=Ref(public_rt),
                                          DestinationCidrBlock="0.0.0.0/0", GatewayId=Ref(igw),
                                          DependsOn=[attach])))
    public, private, private_rts, nats = [], [], [], []
    for i in range(cfg.availability_zones):
        az = Select(i, GetAZs(""))
        pub = t.add_resource(ec2.Subnet(ids.public_subnet(i), VpcId=Ref(vpc), AvailabilityZone=az,
                                        CidrBlock=Select(3 + i, blocks), MapPublicIpOnLaunch=False,
                                        Tags=_name(f"public-{i + 1}")))
        ready.append(t.add_resource(ec2.SubnetRouteTableAssociation(
            ids.public_subnet_assoc(i), SubnetId=Ref(pub), RouteTableId=Ref(public_rt))))
        priv = t.add_resource(ec2.Subnet(ids.private_subnet(i), VpcId=Ref(vpc), AvailabilityZone=az,
                                         CidrBlock=Select(i, blocks), MapPublicIpOnLaunch=False,
                                         Tags=_name(f"private-{i + 1}")))
        rt = t.add_resource(ec2.RouteTable(ids.private_route_table(i), VpcId=Ref(vpc),
                                           Tags=_name(f"private-{i + 1}")))
        ready.append(t.add_resource(ec2.SubnetRouteTableAssociation(
            ids.private_subnet_assoc(i), SubnetId=Ref(priv), RouteTableId=Ref(rt))))
        if i == 0 or cfg.nat == "per-az":
            eip = t.add_resource(ec2.EIP(ids.nat_eip(i), Domain="vpc", DependsOn=[attach],
                                         Tags=_name(f"nat-{i + 1}")))
            nats.append(t.add_resource(ec2.NatGateway(ids.nat_gateway(i), SubnetId=Ref(pub),
                                                      AllocationId=GetAtt(eip, "AllocationId"),
                                                      Tags=_name(f"nat-{i + 1}"))))
        nat = nats[i] if cfg.nat == "per-az" else nats[0]
        ready.append(t.add_resource(ec2.Route(ids.private_default_route(i), RouteTableId=Ref(rt),
                                              DestinationCidrBlock="0.0.0.0/0", NatGatewayId=Ref(nat))))
        public.append(Ref(pub))
        private.append(Ref(priv))
        private_rts.append(rt)
    ready.append(t.add_resource(ec2.VPCEndpoint(
        ids.S3_ENDPOINT, VpcId=Ref(vpc), VpcEndpointType="Gateway",
        ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
        RouteTableIds=[Ref(rt) for rt in private_rts])))
    return Network(vpc_id=Ref(vpc), public_subnets=tuple(public), private_subnets=tuple(private),
                   egress_ready=tuple(ready), gateway_attachment=attach)

