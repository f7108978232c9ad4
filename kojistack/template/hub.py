"""Adds the hub: its launch template (IMDSv2, encrypted gp3 root on the AMI's root device, user
data from cloud-init/user-data/hub.yaml.j2, the payload (cloud-init/payload/hub/) in Metadata) and its
Auto Scaling group of exactly one.

The group (review finding 1): a launch hook the hub completes itself after its smoke test (so the
load balancers see it only when ready), EC2 health checks with a 300 s grace (a reboot must not
replace the hub), a rolling update
that replaces the one hub in place (never two hubs: two kojiras), a creation signal, and
DependsOn on its IAM policy, the mount targets and the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Tags, Template, ec2
from troposphere import autoscaling as asg
from troposphere.policies import AutoScalingRollingUpdate, CreationPolicy, ResourceSignal, UpdatePolicy

from .. import ids, names
from ..config import Config
from . import parameters as P
from .amis import Images
from .database import DB_PORT, Database
from .iam import Roles
from .kms import ebs_kms_key_id
from .loadbalancers import LoadBalancers
from .network import Network
from .parameters import Params
from .payload import Payload, hub_payload
from .secrets import Secrets
from .security import SecurityGroups
from .stacksub import stack_values
from .storage import Storage
from .userdata import BootContext, render, stack_env, to_user_data

BOOT_TIMEOUT = "PT60M"
BOOT_TIMEOUT_SECONDS = 3600
HUB_USER_DATA = "hub.yaml.j2"  # cloud-init/user-data/


@dataclass(frozen=True)
class Hub:
    launch_template: ec2.LaunchTemplate
    group: asg.AutoScalingGroup
    user_data_text: str  # rendered, before Fn::Sub (for budgets and tests)
    payload: Payload


@dataclass(frozen=True)
class HubInputs:
    net: Network
    sgs: SecurityGroups
    roles: Roles
    lbs: LoadBalancers
    db: Database
    storage: Storage
    secrets: Secrets
    images: Images
    key: object  # the stack KMS key
    p: Params


def hub_env(cfg: Config, payload: Payload) -> dict[str, str]:
    """The hub's stack.env entries (names without the KOJISTACK_ prefix -> value or ${SubName})."""
    env = {
        "STACK_NAME": "${AWS::StackName}", "REGION": "${AWS::Region}", "URL_SUFFIX": "${AWS::URLSuffix}",
        "STACK_ID": "${AWS::StackId}",
        "SIGNAL_RESOURCE": ids.HUB_GROUP, "LAUNCH_TEMPLATE_RESOURCE": ids.HUB_LAUNCH_TEMPLATE,
        "PAYLOAD_SHA256": payload.sha256,
        "HUB_GROUP": names.HUB_GROUP_NAME,  # the launch hook's name travels in names.env, as every shared name
        "FILE_SYSTEM_ID": "${FileSystemId}",
        "DB_ADDRESS": "${DbAddress}", "DB_PORT": "${DbPort}", "DB_CLASS": "${DbInstanceClass}",
        "DB_MASTER_SECRET": "${DbMasterSecret}", "KOJI_DB_SECRET": "${KojiDbSecret}",
        "STACK_KEY_ARN": "${StackKeyArn}", "WEB_SECRET": "${WebSecret}", "CA_SECRET": "${CaSecret}",
        "BUILDER_CA_SECRET": "${BuilderCaSecret}",
        "ADMIN_SECRET": "${AdminSecret}",
        "RESTORE_CA_SECRET": "${RestoreCaSecretArn}", "RESTORE_BUILDER_CA_SECRET": "${RestoreBuilderCaSecretArn}",
        "PUBLIC_NLB_DNS": "${PublicNlbDns}", "INTERNAL_NLB_DNS": "${InternalNlbDns}",
        "PUBLIC_TARGET_GROUP": "${PublicTargetGroup}", "INTERNAL_TARGET_GROUP": "${InternalTargetGroup}",
        "CUSTOM_DOMAIN": "${CustomDomain}", "ADMIN_USER": "${AdminUserName}", "KOJI_VERSION": "${KojiVersion}",
        "ALLOWED_SCMS": "${AllowedScms}", "SEED_BUILD_ENV": "${SeedBuildEnvironment}",
        "DISTRO": cfg.distro, "ARCHES": " ".join(cfg.arches),
        "METRICS_NAMESPACE": names.METRICS_NAMESPACE, "SSM_PREFIX": names.SSM_PREFIX,
        "LOG_GROUP": names.HUB_LOG_GROUP_NAME,
        "USER_SECRET_PREFIX": names.USER_SECRET_PREFIX,
    }
    return env


def _values(x: HubInputs, cfg: Config) -> dict[str, object]:
    p = x.p
    values: dict[str, object] = {
        "FileSystemId": x.storage.file_system_id, "StackKeyArn": GetAtt(x.key, "Arn"),
        "DbAddress": GetAtt(x.db.instance, "Endpoint.Address"), "DbPort": str(DB_PORT),
        "DbMasterSecret": Ref(x.secrets.db_master), "KojiDbSecret": Ref(x.secrets.koji_db),
        "WebSecret": Ref(x.secrets.web), "CaSecret": Ref(x.secrets.ca),
        "BuilderCaSecret": Ref(x.secrets.builder_ca), "AdminSecret": Ref(x.secrets.admin),
        "PublicNlbDns": GetAtt(x.lbs.public, "DNSName"), "InternalNlbDns": GetAtt(x.lbs.internal, "DNSName"),
        "PublicTargetGroup": Ref(x.lbs.public_targets), "InternalTargetGroup": Ref(x.lbs.internal_targets),
        **stack_values(names.SSM_PREFIX),
    }
    for name in (P.DB_INSTANCE_CLASS, P.RESTORE_CA_SECRET_ARN, P.RESTORE_BUILDER_CA_SECRET_ARN, P.CUSTOM_DOMAIN,
                 P.ADMIN_USER_NAME, P.KOJI_VERSION, P.ALLOWED_SCMS, P.SEED_BUILD_ENVIRONMENT):
        values[name] = p.ref(name)
    return values


def hub_user_data_text(cfg: Config, payload: Payload) -> str:
    env = hub_env(cfg, payload)
    ctx = BootContext(role="hub", distro=cfg.distro, arches=cfg.arches, stack_env=stack_env(env),
                      payload_sha256=payload.sha256)
    return render(HUB_USER_DATA, ctx)


def root_volume(device, size) -> ec2.LaunchTemplateBlockDeviceMapping:
    return ec2.LaunchTemplateBlockDeviceMapping(DeviceName=device, Ebs=ec2.EBSBlockDevice(
        VolumeSize=size, VolumeType="gp3", Encrypted=True, KmsKeyId=ebs_kms_key_id(), DeleteOnTermination=True))


def imdsv2() -> ec2.MetadataOptions:
    return ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled", HttpPutResponseHopLimit=1)


def tag_specs(name: str) -> list[ec2.TagSpecifications]:
    return [ec2.TagSpecifications(ResourceType=kind, Tags=Tags(Name=Sub("${AWS::StackName}-" + name),
                                                              **{names.TAG_STACK: Sub("${AWS::StackName}")}))
            for kind in ("instance", "volume")]


def add_hub(t: Template, cfg: Config, x: HubInputs) -> Hub:
    payload = hub_payload()
    text = hub_user_data_text(cfg, payload)
    lt = t.add_resource(ec2.LaunchTemplate(
        ids.HUB_LAUNCH_TEMPLATE,
        LaunchTemplateData=ec2.LaunchTemplateData(
            ImageId=x.images.by_arch["x86_64"], InstanceType=x.p.ref(P.HUB_INSTANCE_TYPE),
            IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(x.roles.hub_profile, "Arn")),
            SecurityGroupIds=[GetAtt(x.sgs.hub, "GroupId")], MetadataOptions=imdsv2(),
            BlockDeviceMappings=[root_volume(x.images.root_device["x86_64"], x.p.ref(P.HUB_ROOT_VOLUME_GIB))],
            UserData=to_user_data(text, _values(x, cfg)), TagSpecifications=tag_specs("hub")),
        Metadata=payload.metadata()))
    # everything the hub and, through it, the builders use: created before the hub, deleted after
    # the builder groups (which depend on the hub group) have drained (issue 11 items 4 and 5);
    # the log groups too, so the machines' last lines (a console delete drains builders) land
    depends = [ids.HUB_POLICY, ids.DATABASE, *(m.title for m in x.storage.mount_targets),
               *(r.title for r in x.net.egress_ready), *(r.title for r in x.sgs.rules),
               *(li.title for li in x.lbs.listeners), ids.HUB_LOG_GROUP, ids.BUILDER_LOG_GROUP]
    group = t.add_resource(asg.AutoScalingGroup(
        ids.HUB_GROUP, AutoScalingGroupName=Sub(names.HUB_GROUP_NAME),
        MinSize="1", MaxSize="1", DesiredCapacity="1",
        LaunchTemplate=asg.LaunchTemplateSpecification(LaunchTemplateId=Ref(lt),
                                                       Version=GetAtt(lt, "LatestVersionNumber")),
        VPCZoneIdentifier=list(x.net.private_subnets),
        TargetGroupARNs=[Ref(x.lbs.public_targets), Ref(x.lbs.internal_targets)],
        # EC2 status checks, not ELB: the bootstrap keeps httpd down for minutes on every boot (and
        # on a re-run), the target groups call the hub unhealthy after 30 s, and the grace period
        # covers only newly launched instances (Auto Scaling User Guide, "Set the health check
        # grace period"; "About the health checks"), so ELB checks would replace the only hub on
        # a reboot. The NLB health checks still route; the hub-health alarm reports an outage.
        HealthCheckType="EC2", HealthCheckGracePeriod=300,
        LifecycleHookSpecificationList=[asg.LifecycleHookSpecification(
            LifecycleHookName=names.HUB_LAUNCH_HOOK, LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
            HeartbeatTimeout=BOOT_TIMEOUT_SECONDS, DefaultResult="ABANDON")],
        MetricsCollection=[asg.MetricsCollection(Granularity="1Minute")],
        Tags=asg.Tags(Name=Sub("${AWS::StackName}-hub")),
        DependsOn=depends,
        CreationPolicy=CreationPolicy(ResourceSignal=ResourceSignal(Count=1, Timeout=BOOT_TIMEOUT)),
        UpdatePolicy=UpdatePolicy(AutoScalingRollingUpdate=AutoScalingRollingUpdate(
            MinInstancesInService=0, MaxBatchSize=1, WaitOnResourceSignals=True, PauseTime=BOOT_TIMEOUT,
            SuspendProcesses=["HealthCheck", "ReplaceUnhealthy", "AZRebalance", "AlarmNotification",
                              "ScheduledActions"])),
    ))
    return Hub(lt, group, text, payload)
