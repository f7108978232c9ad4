"""Adds one builder fleet per arch: a launch template (IMDSv2, encrypted gp3 root, user data from
cloud-init/user-data/builder.yaml.j2, payload (cloud-init/payload/builder/) in Metadata) and an Auto
Scaling group the controller owns.

No DesiredCapacity and no UpdatePolicy (the controller owns capacity; a new launch template
reaches new instances and idle out-of-date builders are retired first); hooks on launch
(registration) and terminate (drain) in LifecycleHookSpecificationList; new instances protected
from scale-in; 1-minute metrics; mixed instances, price-capacity-optimized spot above an
on-demand base; a creation signal per minimum builder; created after the hub group.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Template, ec2
from troposphere import autoscaling as asg
from troposphere.policies import CreationPolicy, ResourceSignal

from .. import ids, names
from ..config import ArchConfig, Config
from . import parameters as P
from .amis import Images
from .hub import Hub, imdsv2, root_volume, tag_specs
from .iam import Roles
from .loadbalancers import LoadBalancers
from .network import Network
from .parameters import Params, max_param, min_param
from .payload import Payload, builder_payload
from .security import SecurityGroups
from .stacksub import stack_values
from .userdata import BootContext, render, stack_env, to_user_data

BUILDER_USER_DATA = "builder.yaml.j2"  # cloud-init/user-data/
REGISTER_HEARTBEAT = 1200  # the builder waits up to 840 s for its certificate; ABANDON after 20 min
DRAIN_HEARTBEAT = 3600  # the controller heartbeats while a build finishes (max 7200 per heartbeat)
# Builders never signal FAILURE (kojistack-report): during creation a builder that fails (spot
# reclaim, mirror hiccup) is replaced by its group and the replacement's SUCCESS counts, since a
# single FAILURE signal fails the resource ("If the resource receives a failure signal ... the
# resource creation fails", CreationPolicy, CloudFormation User Guide). The timeout leaves room for
# one replacement after a launch abandoned at REGISTER_HEARTBEAT.
BOOT_TIMEOUT = "PT45M"


@dataclass(frozen=True)
class BuilderFleet:
    arch: str
    launch_template: ec2.LaunchTemplate
    group: asg.AutoScalingGroup
    user_data_text: str
    payload: Payload


def builder_env(cfg: Config, arch: str, payload: Payload) -> dict[str, str]:
    return {
        "STACK_NAME": "${AWS::StackName}", "REGION": "${AWS::Region}", "URL_SUFFIX": "${AWS::URLSuffix}",
        "ROLE": "builder", "ARCH": arch, "GROUP": names.builder_group_name(arch),
        "SIGNAL_RESOURCE": ids.builder_group(arch),
        "LAUNCH_TEMPLATE_RESOURCE": ids.builder_launch_template(arch),
        "PAYLOAD_SHA256": payload.sha256, "INTERNAL_NLB_DNS": "${InternalNlbDns}",
        "KOJI_VERSION": "${KojiVersion}", "ALLOWED_SCMS": "${AllowedScms}", "DISTRO": cfg.distro,
        "SSM_PREFIX": names.SSM_PREFIX, "LOG_GROUP": names.BUILDER_LOG_GROUP_NAME,
    }


def builder_user_data_text(cfg: Config, arch: str, payload: Payload, env: dict[str, str] | None = None) -> str:
    """The builder machine's user data; `env` replaces builder_env (light hosts)."""
    ctx = BootContext(role="builder", distro=cfg.distro, arches=cfg.arches,
                      stack_env=stack_env(env or builder_env(cfg, arch, payload)),
                      payload_sha256=payload.sha256, arch=arch)
    return render(BUILDER_USER_DATA, ctx)


def builder_launch_template(t: Template, title: str, arch: str, text: str, payload: Payload, volume_gib,
                            sgs: SecurityGroups, roles: Roles, lbs: LoadBalancers, images: Images, p: Params,
                            name: str, **data) -> ec2.LaunchTemplate:
    """A launch template of the builder machine (builders and light hosts): the builder role and
    security group, IMDSv2, an encrypted gp3 root volume, `text` as user data, the payload in Metadata."""
    values = {"InternalNlbDns": GetAtt(lbs.internal, "DNSName"), "KojiVersion": p.ref(P.KOJI_VERSION),
              "AllowedScms": p.ref(P.ALLOWED_SCMS), **stack_values(names.SSM_PREFIX)}
    return t.add_resource(ec2.LaunchTemplate(
        title,
        LaunchTemplateData=ec2.LaunchTemplateData(
            ImageId=images.by_arch[arch],
            IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(roles.builder_profile, "Arn")),
            SecurityGroupIds=[GetAtt(sgs.builder, "GroupId")], MetadataOptions=imdsv2(),
            BlockDeviceMappings=[root_volume(images.root_device[arch], volume_gib)],
            UserData=to_user_data(text, values), TagSpecifications=tag_specs(name), **data),
        Metadata=payload.metadata()))


def lifecycle_hooks() -> list[asg.LifecycleHookSpecification]:
    """The launch hook (the controller registers the instance) and the terminate hook (it drains it)."""
    return [
        asg.LifecycleHookSpecification(
            LifecycleHookName=names.BUILDER_LAUNCH_HOOK, LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
            HeartbeatTimeout=REGISTER_HEARTBEAT, DefaultResult="ABANDON"),
        asg.LifecycleHookSpecification(
            LifecycleHookName=names.BUILDER_TERMINATE_HOOK,
            LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
            HeartbeatTimeout=DRAIN_HEARTBEAT, DefaultResult="CONTINUE"),
    ]


def add_builder_fleet(t: Template, cfg: Config, b: ArchConfig, net: Network, sgs: SecurityGroups,
                      roles: Roles, lbs: LoadBalancers, images: Images, hub: Hub, p: Params) -> BuilderFleet:
    arch = b.arch
    payload = builder_payload()
    text = builder_user_data_text(cfg, arch, payload)
    lt = builder_launch_template(t, ids.builder_launch_template(arch), arch, text, payload,
                                 p.ref(P.BUILDER_VOLUME_GIB), sgs, roles, lbs, images, p, "builder-" + arch)
    on_demand_pct = p.ref(P.BUILDER_ON_DEMAND_PERCENTAGE) if cfg.spot else 100
    group = t.add_resource(asg.AutoScalingGroup(
        ids.builder_group(arch), AutoScalingGroupName=Sub(names.builder_group_name(arch)),
        MinSize=p.ref(min_param(arch)), MaxSize=p.ref(max_param(arch)),
        MixedInstancesPolicy=asg.MixedInstancesPolicy(
            InstancesDistribution=asg.InstancesDistribution(
                OnDemandAllocationStrategy="lowest-price", OnDemandBaseCapacity=p.ref(P.BUILDER_ON_DEMAND_BASE),
                OnDemandPercentageAboveBaseCapacity=on_demand_pct,
                SpotAllocationStrategy="price-capacity-optimized"),
            LaunchTemplate=asg.LaunchTemplate(
                LaunchTemplateSpecification=asg.LaunchTemplateSpecification(
                    LaunchTemplateId=Ref(lt), Version=GetAtt(lt, "LatestVersionNumber")),
                Overrides=[asg.LaunchTemplateOverrides(InstanceType=it) for it in b.instance_types])),
        VPCZoneIdentifier=list(net.private_subnets), HealthCheckType="EC2", HealthCheckGracePeriod=300,
        NewInstancesProtectedFromScaleIn=True, CapacityRebalance=cfg.spot,
        LifecycleHookSpecificationList=lifecycle_hooks(),
        MetricsCollection=[asg.MetricsCollection(Granularity="1Minute")],
        Tags=asg.Tags(Name=Sub("${AWS::StackName}-builder-" + arch),
                      **{names.TAG_IDLE_MINUTES: (p.ref(P.BUILDER_IDLE_MINUTES), False),
                         names.TAG_SPARE_TASKS: (p.ref(P.BUILDER_SPARE_TASKS), False)}),
        DependsOn=[hub.group.title, ids.BUILDER_POLICY],
        CreationPolicy=CreationPolicy(ResourceSignal=ResourceSignal(Count=p.ref(min_param(arch)),
                                                                    Timeout=BOOT_TIMEOUT)),
    ))
    return BuilderFleet(arch, lt, group, text, payload)
