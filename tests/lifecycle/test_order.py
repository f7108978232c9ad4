"""Issue 11 items 4 and 5 on every representative configuration, both templates: what the
dependency graph guarantees (only a path of dependencies orders two resources; the double's
`Stack.before`), without running the machines."""

from __future__ import annotations

import json

import pytest

from fakes.cloudformation import Stack
from kojistack import ids
from kojistack.config import ArchConfig, Config
from kojistack.template.compose import build_template

CONFIGS = {
    "default": Config(),
    "3az-per-az-nat": Config(availability_zones=3, nat="per-az",
                             builders=(ArchConfig("x86_64", ("c6i.xlarge", "c6a.xlarge")),)),
    "aarch64-fedora": Config(spot=False, distro="fedora", builders=(ArchConfig("aarch64", ("c7g.2xlarge",)),)),
}
EXISTING = {"VpcId": "vpc-0abc", "PublicSubnetIds": "subnet-p1,subnet-p2,subnet-p3",
            "PrivateSubnetIds": "subnet-q1,subnet-q2,subnet-q3"}
#: what the hub, the controller on it and the builders use while they run and while they drain
DRAIN_NEEDS = ("AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::Route", "AWS::EC2::VPCEndpoint",
               "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::NatGateway", "AWS::EC2::SecurityGroupIngress",
               "AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::LoadBalancer",
               "AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::EFS::MountTarget", "AWS::RDS::DBInstance",
               "AWS::IAM::Policy")


def stacks(variants=("new", "existing")) -> list:
    out = []
    for name, cfg in CONFIGS.items():
        for variant in variants:
            t = json.loads(json.dumps(build_template(cfg, variant).to_dict()))
            params = {"AccessCidr": "203.0.113.0/24", **(EXISTING if variant == "existing" else {})}
            out.append(pytest.param(Stack("ks", t, params, clock=lambda: 0.0), id=f"{name}-{variant}"))
    return out


@pytest.mark.parametrize("stack", stacks(("new",)))  # an existing VPC's gateway is not the stack's
def test_internet_facing_load_balancer_waits_for_the_gateway_attachment(stack):
    """Item 5: 'VPC has no internet gateway' - DependsOn docs, 'When a DependsOn attribute is required'."""
    facing = [lid for lid, d in stack.defs.items() if d["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
              and d["Properties"].get("Scheme") == "internet-facing"]
    assert facing
    (attach,) = [lid for lid, d in stack.defs.items() if d["Type"] == "AWS::EC2::VPCGatewayAttachment"]
    for lb in facing:
        assert stack.before(attach, lb), f"{lb} may be created before {attach}"


@pytest.mark.parametrize("stack", stacks())
def test_everything_the_groups_drain_through_outlives_them(stack):
    """Items 4 and 5: every drain need is created before the hub group and, so, deleted only after
    the builder groups (which depend on the hub group) are gone."""
    needs = [lid for lid, d in stack.defs.items() if d["Type"] in DRAIN_NEEDS]
    groups = [lid for lid, d in stack.defs.items() if d["Type"] == "AWS::AutoScaling::AutoScalingGroup"]
    for group in groups:
        own = [lid for lid in needs if not (group == ids.HUB_GROUP and lid == ids.BUILDER_POLICY)]
        missing = [lid for lid in own if not stack.before(lid, group)]
        assert not missing, f"{group} does not wait for {missing}"
        if group != ids.HUB_GROUP:
            assert stack.before(ids.HUB_GROUP, group)
