"""Adds the light hosts' group (issue 14 item 1): the light channel's capacity beyond the hub's own
kojid, so build parents can wait in any number.

A build parent holds a kojid job slot on its light-channel host while its children build; slots
are memory (one forked kojid each). The hub's kojid has (MemTotal - 3 GiB) / 24 MiB of them; beyond
that the controller (decide.light_plan) scales this group: small on-demand instances that boot as
builders do (the builder payload, role and security group, CSR tag proof, launch hook) with
KOJISTACK_ROLE=light, register as light-NNN in Koji channel `light` only, and run kojid with
maxjobs = decide.light_slots(MemTotal). MinSize 0, no DesiredCapacity (the controller owns it),
LightHostsMax at most; no spot (an interruption restarts every build its parents wait for) and no
CreationPolicy (nothing is awaited at creation: the group starts empty). Graviton (m7g.large) when
the stack already looks up an aarch64 image (it has aarch64 builders, the default), else m7i.large:
an image lookup for light hosts alone would add a custom resource to every x86-only stack.
Created after the hub group, like the builders.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Template, ec2
from troposphere import autoscaling as asg

from .. import ids, names
from ..config import Config
from . import parameters as P
from .amis import Images
from .builders import builder_env, builder_launch_template, builder_user_data_text, lifecycle_hooks
from .hub import Hub
from .iam import Roles
from .loadbalancers import LoadBalancers
from .network import Network
from .parameters import Params, image_arches
from .payload import Payload, builder_payload
from .security import SecurityGroups

#: the light host's instance type per arch: 8 GiB (decide.light_host_slots: 274 waiting parents each)
LIGHT_HOST_TYPE = {"aarch64": "m7g.large", "x86_64": "m7i.large"}
#: root volume: the OS, koji-builder and its dependencies (mock included, unused), logs; kojid's
#: minspace on a light host is 1 GiB (kojistack-kojid-conf)
LIGHT_VOLUME_GIB = 20


@dataclass(frozen=True)
class LightHosts:
    arch: str
    launch_template: ec2.LaunchTemplate
    group: asg.AutoScalingGroup
    user_data_text: str
    payload: Payload


def light_arch(cfg: Config) -> str:
    """aarch64 when the stack looks up an aarch64 image anyway, else x86_64 (see the module doc)."""
    return "aarch64" if "aarch64" in image_arches(cfg) else "x86_64"


def light_env(cfg: Config, arch: str, payload: Payload) -> dict[str, str]:
    """A builder's stack.env with the light role, group and resources."""
    return {**builder_env(cfg, arch, payload), "ROLE": "light", "GROUP": names.LIGHT_GROUP_NAME,
            "SIGNAL_RESOURCE": ids.LIGHT_GROUP, "LAUNCH_TEMPLATE_RESOURCE": ids.LIGHT_LAUNCH_TEMPLATE}


def add_light_hosts(t: Template, cfg: Config, net: Network, sgs: SecurityGroups, roles: Roles,
                    lbs: LoadBalancers, images: Images, hub: Hub, p: Params) -> LightHosts:
    arch = light_arch(cfg)
    payload = builder_payload()
    text = builder_user_data_text(cfg, arch, payload, light_env(cfg, arch, payload))
    lt = builder_launch_template(t, ids.LIGHT_LAUNCH_TEMPLATE, arch, text, payload, LIGHT_VOLUME_GIB, sgs, roles,
                                 lbs, images, p, "light", InstanceType=LIGHT_HOST_TYPE[arch])
    group = t.add_resource(asg.AutoScalingGroup(
        ids.LIGHT_GROUP, AutoScalingGroupName=Sub(names.LIGHT_GROUP_NAME),
        MinSize=0, MaxSize=p.ref(P.LIGHT_HOSTS_MAX),
        LaunchTemplate=asg.LaunchTemplateSpecification(LaunchTemplateId=Ref(lt),
                                                       Version=GetAtt(lt, "LatestVersionNumber")),
        VPCZoneIdentifier=list(net.private_subnets), HealthCheckType="EC2", HealthCheckGracePeriod=300,
        NewInstancesProtectedFromScaleIn=True, LifecycleHookSpecificationList=lifecycle_hooks(),
        MetricsCollection=[asg.MetricsCollection(Granularity="1Minute")],
        Tags=asg.Tags(Name=Sub("${AWS::StackName}-light")),
        DependsOn=[hub.group.title, ids.BUILDER_POLICY],
    ))
    return LightHosts(arch, lt, group, text, payload)
