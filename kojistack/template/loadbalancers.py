"""Adds the two network load balancers: public (people, from AccessCidr) and internal (machines).

Both get their security group at creation (it cannot be added later), a TCP 443 listener (TLS
passes through to httpd: koji needs the client certificate there), and a target group with client
IP preservation off (hub-to-itself calls through the internal NLB would hang otherwise). The hub
group registers in both and depends on both listeners (nothing Refs a listener: without that the
listeners would be deleted while the groups still drain through them, issue 11 item 4).

The internet-facing NLB depends on the gateway attachment: it takes public addresses, and without
the DependsOn CloudFormation may create it before the gateway is attached ("VPC has no internet
gateway"; https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html
#gatewayattachment, "When a DependsOn attribute is required").
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Tags, Template
from troposphere import elasticloadbalancingv2 as elb

from .. import ids
from .network import Network
from .security import SecurityGroups

_SKIP_LOGS = {"checkov": {"skip": [{
    "id": "CKV_AWS_91",
    "comment": "TCP passthrough listener: NLB access logs are written only for TLS listeners, so "
               "there is nothing to log (ELB docs, 'Access logs for your Network Load Balancer')"}]}}


@dataclass(frozen=True)
class LoadBalancers:
    public: elb.LoadBalancer
    internal: elb.LoadBalancer
    public_targets: elb.TargetGroup
    internal_targets: elb.TargetGroup
    listeners: tuple[elb.Listener, ...]


def _nlb(t: Template, title: str, scheme: str, subnets, sg, **attrs) -> elb.LoadBalancer:
    return t.add_resource(elb.LoadBalancer(
        title, Type="network", Scheme=scheme, Subnets=list(subnets),
        SecurityGroups=[GetAtt(sg, "GroupId")],
        LoadBalancerAttributes=[elb.LoadBalancerAttributes(Key="load_balancing.cross_zone.enabled", Value="true")],
        Tags=Tags(Name=Sub("${AWS::StackName}-" + scheme)), Metadata=_SKIP_LOGS, **attrs))


def _targets(t: Template, title: str, net: Network) -> elb.TargetGroup:
    return t.add_resource(elb.TargetGroup(
        title, Protocol="TCP", Port=443, TargetType="instance", VpcId=net.vpc_id,
        HealthCheckProtocol="TCP", HealthCheckIntervalSeconds=10, HealthyThresholdCount=3,
        UnhealthyThresholdCount=3,
        TargetGroupAttributes=[
            elb.TargetGroupAttribute(Key="preserve_client_ip.enabled", Value="false"),
            elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30"),
        ]))


def add_load_balancers(t: Template, net: Network, sgs: SecurityGroups) -> LoadBalancers:
    gateway = {"DependsOn": [net.gateway_attachment]} if net.gateway_attachment is not None else {}
    public = _nlb(t, ids.PUBLIC_NLB, "internet-facing", net.public_subnets, sgs.public_nlb, **gateway)
    internal = _nlb(t, ids.INTERNAL_NLB, "internal", net.private_subnets, sgs.internal_nlb)
    ptg = _targets(t, ids.PUBLIC_TARGET_GROUP, net)
    itg = _targets(t, ids.INTERNAL_TARGET_GROUP, net)
    listeners = tuple(
        t.add_resource(elb.Listener(title, LoadBalancerArn=Ref(lb), Port=443, Protocol="TCP",
                                    DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref(tg))]))
        for title, lb, tg in ((ids.PUBLIC_LISTENER, public, ptg), (ids.INTERNAL_LISTENER, internal, itg)))
    return LoadBalancers(public, internal, ptg, itg, listeners)
