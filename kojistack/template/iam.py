"""Adds the hub and builder roles (awacs, least privilege, partition-aware).

Everything is scoped to this stack's own resources: secrets and the key by reference, groups and
SSM parameters by their deterministic names through Fn::Sub (never Ref: no cycle with the groups
that use these roles). The only `*` resources are actions AWS gives no resource-level permission
(named in each statement's Sid, and listed in tests/template/iam_ledger.txt). Session Manager
replaces SSH, with only the actions AWS documents for it, never AmazonSSMManagedInstanceCore (whose
ssm:GetParameter(s) on "*" would let any package build read every parameter of the account).
A builder may act on itself only: it tags its own instance (ec2:SourceInstanceARN = the tagged
instance's ARN) and holds no Auto Scaling action; the controller abandons or replaces failed builders.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import autoscaling as aas
from awacs import cloudformation as acfn
from awacs import cloudwatch as acw
from awacs import ec2 as aec2
from awacs import ec2messages as aec2msg
from awacs import elasticloadbalancing as aelb
from awacs import kms as akms
from awacs import logs as alogs
from awacs import secretsmanager as asm
from awacs import ssm as assm
from awacs import ssmmessages as assmmsg
from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    ForAllValuesStringEquals,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from awacs.sts import AssumeRole
from troposphere import GetAtt, If, NoValue, Ref, Sub, Template, iam

from .. import ids, names
from ..config import Config
from . import parameters as P
from .parameters import Params
from .secrets import Secrets
from .stacksub import stack_sub

# "Only the calling instance", as AWS's own AWSEC2VssSnapshotPolicy writes it
# (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSEC2VssSnapshotPolicy.html):
# Resource instance/*, condition ArnLike ec2:SourceInstanceARN = ...:instance/${ec2:InstanceId}.
# ec2:SourceInstanceARN is "an AWS global condition key" (EC2 user guide, Condition keys for Amazon
# EC2, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-policies-for-amazon-ec2.html) and
# ec2:InstanceId the instance resource's own key, used as a policy variable. (aws:ARN, used before,
# is not a documented key.) ${!...} keeps Fn::Sub from reading the IAM variable.
OWN_INSTANCE_KEY = "ec2:SourceInstanceARN"
OWN_INSTANCE_ARN = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${!ec2:InstanceId}"


@dataclass(frozen=True)
class Roles:
    hub_role: iam.Role
    hub_policy: iam.PolicyType
    hub_profile: iam.InstanceProfile
    builder_role: iam.Role
    builder_policy: iam.PolicyType
    builder_profile: iam.InstanceProfile


def _arn(service: str, rest: str) -> Sub:
    return stack_sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{rest}")


def stack_arn() -> Sub:
    return _arn("cloudformation", "stack/${AWS::StackName}/*")


def group_arn(name: str) -> Sub:
    return _arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/" + name)


def ssm_arn(suffix: str) -> Sub:
    return _arn("ssm", "parameter" + names.SSM_PREFIX + suffix)


def _role(t: Template, title: str, what: str) -> iam.Role:
    return t.add_resource(iam.Role(
        title, Description=Sub("kojistack ${AWS::StackName}: " + what),
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "ec2.amazonaws.com"), Action=[AssumeRole])])))


_SESSION_MANAGER_SKIP = {"checkov": {"skip": [
    {"id": "CKV_AWS_111", "comment": "Session Manager's documented instance-profile actions (ssmmessages channels, "
                                     "ssm:UpdateInstanceInformation) take Resource '*' in AWS's own policy; they "
                                     "act on the calling instance's agent only. Every other write is scoped"},
]}}


def allow_session_manager() -> Statement:
    """What the SSM agent needs for Session Manager, as AWS documents it ("Create a custom IAM instance
    profile for Session Manager", https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html):
    ssm:UpdateInstanceInformation and the four ssmmessages channel actions, Resource "*"."""
    return Statement(Sid="SessionManagerOnlyNoResourceLevelPermission", Effect=Allow,
                     Action=[assm.UpdateInstanceInformation, assmmsg.CreateControlChannel,
                             assmmsg.CreateDataChannel, assmmsg.OpenControlChannel, assmmsg.OpenDataChannel],
                     Resource=["*"])


def allow_run_command() -> Statement:
    """The agent's Run Command message actions (`kojistack user`, `rotate-admin-cert` reach the hub
    this way): ec2messages, which AWS lists for Run Command in the same instance-profile page."""
    return Statement(Sid="RunCommandMessagesNoResourceLevelPermission", Effect=Allow,
                     Action=[aec2msg.AcknowledgeMessage, aec2msg.DeleteMessage, aec2msg.FailMessage,
                             aec2msg.GetEndpoint, aec2msg.GetMessages, aec2msg.SendReply],
                     Resource=["*"])


def allow_ship_logs(group_name: str) -> Statement:
    """kojistack-logship: create its streams and put events in its role's log group, nothing else
    (no DescribeLogStreams: it creates a stream when PutLogEvents says it is missing)."""
    group = _arn("logs", "log-group:" + group_name)
    return Statement(Sid="ShipLogsToItsStackLogGroup", Effect=Allow,
                     Action=[alogs.CreateLogStream, alogs.PutLogEvents],
                     Resource=[group, Sub("${Group}:log-stream:*", Group=group)])


def _signal_and_payload() -> Statement:
    return Statement(Sid="SignalAndReadPayloadOfThisStack", Effect=Allow,
                     Action=[acfn.SignalResource, acfn.DescribeStackResource], Resource=[stack_arn()])


def _hub_statements(cfg: Config, secrets: Secrets, key) -> list[Statement]:
    # the light hosts' group is scaled, registered and drained like the builder groups (issue 14 item 1)
    builder_groups = [group_arn(names.builder_group_name(a)) for a in cfg.arches] + [group_arn(names.LIGHT_GROUP_NAME)]
    return [
        _signal_and_payload(),
        allow_session_manager(),
        allow_run_command(),
        allow_ship_logs(names.HUB_LOG_GROUP_NAME),
        Statement(Sid="ReadStackSecrets", Effect=Allow, Action=[asm.GetSecretValue, asm.DescribeSecret],
                  Resource=[Ref(s) for s in secrets.all()]),
        Statement(Sid="WriteHubOwnedSecrets", Effect=Allow, Action=[asm.PutSecretValue],
                  Resource=[Ref(s) for s in secrets.hub_written()]),
        Statement(Sid="ManagePerUserSecrets", Effect=Allow,
                  Action=[asm.CreateSecret, asm.PutSecretValue, asm.GetSecretValue, asm.DescribeSecret,
                          asm.TagResource, asm.DeleteSecret, asm.RestoreSecret],
                  Resource=[_arn("secretsmanager", "secret:" + names.USER_SECRET_PREFIX + "*")]),
        Statement(Sid="UseTheStackKey", Effect=Allow,
                  Action=[akms.Decrypt, akms.GenerateDataKey, akms.DescribeKey], Resource=[GetAtt(key, "Arn")]),
        Statement(Sid="StackParameters", Effect=Allow,
                  Action=[assm.GetParameter, assm.GetParametersByPath, assm.PutParameter,
                          assm.DeleteParameter, assm.DeleteParameters],
                  Resource=[ssm_arn("/*")]),
        Statement(Sid="CompleteTheHubLaunchHook", Effect=Allow, Action=[aas.CompleteLifecycleAction],
                  Resource=[group_arn(names.HUB_GROUP_NAME)]),
        Statement(Sid="ControllerScalesAndDrainsBuilderGroups", Effect=Allow,
                  Action=[aas.SetDesiredCapacity, aas.TerminateInstanceInAutoScalingGroup,
                          aas.SetInstanceProtection, aas.CompleteLifecycleAction,
                          aas.RecordLifecycleActionHeartbeat, aas.SuspendProcesses],
                  Resource=builder_groups),
        Statement(Sid="DescribeCallsHaveNoResourceLevelPermission", Effect=Allow,
                  Action=[aas.DescribeAutoScalingGroups, aas.DescribeAutoScalingInstances,
                          aas.DescribeScalingActivities,
                          aec2.DescribeInstances,
                          aec2.DescribeInstanceTypes, aec2.DescribeLaunchTemplateVersions,
                          aelb.DescribeTargetHealth],
                  Resource=["*"]),
        Statement(Sid="ControllerTagsOnlyBuildersOfThisStack", Effect=Allow, Action=[aec2.CreateTags],
                  Resource=[_arn("ec2", "instance/*")],
                  Condition=Condition([
                      StringLike("aws:ResourceTag/aws:autoscaling:groupName",
                                 [Sub(names.builder_group_name("*")), Sub(names.LIGHT_GROUP_NAME)]),
                      ForAllValuesStringEquals("aws:TagKeys", [names.TAG_SLOT, names.TAG_DRAIN_STARTED]),
                  ])),
        Statement(Sid="PutMetricDataOnlyInTheStackNamespace", Effect=Allow, Action=[acw.PutMetricData],
                  Resource=["*"],
                  Condition=Condition(StringEquals("cloudwatch:namespace", Sub(names.METRICS_NAMESPACE)))),
    ]


def _restore_statement() -> object:
    """Read a retained stack's CA secrets (and decrypt them with its retained key) when restoring."""
    return If(P.HAS_RESTORE_CA, Statement(
        Sid="ReadRestoredCaSecrets", Effect=Allow, Action=[asm.GetSecretValue],
        Resource=[Ref(P.RESTORE_CA_SECRET_ARN),
                  If(P.HAS_RESTORE_BUILDER_CA, Ref(P.RESTORE_BUILDER_CA_SECRET_ARN), NoValue)]), NoValue)


def _restore_key_statement() -> object:
    return If(P.HAS_RESTORE_KEY, Statement(
        Sid="DecryptWithTheRestoredKey", Effect=Allow, Action=[akms.Decrypt], Resource=[Ref(P.RESTORE_KEY_ARN)]),
        NoValue)


def _with_conditional(doc: PolicyDocument, extra: list) -> dict:
    """awacs takes no Fn::If in a statement list: append the conditional statements to its dict."""
    body = dict(doc.JSONrepr())
    body["Statement"] = list(body["Statement"]) + extra
    return body


def _builder_statements(cfg: Config) -> list[Statement]:
    return [
        _signal_and_payload(),
        allow_ship_logs(names.BUILDER_LOG_GROUP_NAME),
        Statement(Sid="ReadStackCaAndOwnCertificate", Effect=Allow, Action=[assm.GetParameter],
                  Resource=[ssm_arn("/ca.pem"), ssm_arn("/koji-version"), ssm_arn("/cert/*")]),
        Statement(Sid="HandInCsrAndFailureRecord", Effect=Allow, Action=[assm.PutParameter],
                  Resource=[ssm_arn("/csr/*"), ssm_arn("/bootstrap/*")]),
        Statement(Sid="TagOnlyItselfWithItsKeyHash", Effect=Allow, Action=[aec2.CreateTags],
                  Resource=[_arn("ec2", "instance/*")],
                  Condition=Condition([ArnLike(OWN_INSTANCE_KEY, Sub(OWN_INSTANCE_ARN)),
                                       ForAllValuesStringEquals("aws:TagKeys", [names.TAG_CSR_SHA256])])),
        allow_session_manager(),
    ]


def add_roles(t: Template, cfg: Config, secrets: Secrets, key, p: Params) -> Roles:
    hub_role = _role(t, ids.HUB_ROLE, "koji hub instance (bootstrap, kojira, controller)")
    hub_policy = t.add_resource(iam.PolicyType(
        ids.HUB_POLICY, PolicyName="kojistack-hub", Roles=[Ref(hub_role)],
        PolicyDocument=_with_conditional(PolicyDocument(Version="2012-10-17",
                                                        Statement=_hub_statements(cfg, secrets, key)),
                                         [_restore_statement(), _restore_key_statement()])))
    hub_profile = t.add_resource(iam.InstanceProfile(ids.HUB_PROFILE, Roles=[Ref(hub_role)]))
    b_role = _role(t, ids.BUILDER_ROLE, "koji builders (kojid; no access to secrets)")
    b_policy = t.add_resource(iam.PolicyType(
        ids.BUILDER_POLICY, PolicyName="kojistack-builder", Roles=[Ref(b_role)],
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=_builder_statements(cfg)),
        Metadata=_SESSION_MANAGER_SKIP))
    b_profile = t.add_resource(iam.InstanceProfile(ids.BUILDER_PROFILE, Roles=[Ref(b_role)]))
    return Roles(hub_role, hub_policy, hub_profile, b_role, b_policy, b_profile)
