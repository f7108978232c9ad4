"""Adds the hub and builder roles (awacs, least privilege, partition-aware).

Everything is scoped to this stack's own resources: secrets and the key by reference, groups and
SSM parameters by their deterministic names through Fn::Sub (never Ref: no cycle with the groups
that use these roles). The only `*` resources are actions AWS gives no resource-level permission
(named in each statement's Sid, and listed in tests/template/iam_ledger.txt). Session Manager
(AmazonSSMManagedInstanceCore) replaces SSH.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import autoscaling as aas
from awacs import cloudformation as acfn
from awacs import cloudwatch as acw
from awacs import ec2 as aec2
from awacs import elasticloadbalancing as aelb
from awacs import kms as akms
from awacs import logs as alogs
from awacs import secretsmanager as asm
from awacs import ssm as assm
from awacs.aws import (Allow, Condition, ForAllValuesStringEquals, PolicyDocument, Principal, Statement,
                       StringEquals, StringLike)
from awacs.sts import AssumeRole
from troposphere import GetAtt, If, NoValue, Ref, Sub, Template
from troposphere import iam

from .. import ids
from ..config import Config
from . import parameters as P
from .names import stack_sub
from .parameters import Params
from .secrets import Secrets

SSM_CORE = "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
CSR_TAG = "kojistack:csr-sha256"
SLOT_TAG = "kojistack:slot"  # controller.decide.TAG_SLOT
DRAIN_TAG = "kojistack:drain-started"  # controller.decide.TAG_DRAIN_STARTED


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
    return _arn("ssm", "parameter" + ids.SSM_PREFIX + suffix)


def _role(t: Template, title: str, what: str) -> iam.Role:
    return t.add_resource(iam.Role(
        title, Description=Sub("kojistack ${AWS::StackName}: " + what),
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "ec2.amazonaws.com"), Action=[AssumeRole])]),
        ManagedPolicyArns=[Sub(SSM_CORE)]))


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
    builder_groups = [group_arn(ids.builder_group_name(a)) for a in cfg.arches]
    return [
        _signal_and_payload(),
        allow_ship_logs(ids.HUB_LOG_GROUP_NAME),
        Statement(Sid="ReadStackSecrets", Effect=Allow, Action=[asm.GetSecretValue, asm.DescribeSecret],
                  Resource=[Ref(s) for s in secrets.all()]),
        Statement(Sid="WriteHubOwnedSecrets", Effect=Allow, Action=[asm.PutSecretValue],
                  Resource=[Ref(s) for s in secrets.hub_written()]),
        Statement(Sid="ManagePerUserSecrets", Effect=Allow,
                  Action=[asm.CreateSecret, asm.PutSecretValue, asm.GetSecretValue, asm.DescribeSecret,
                          asm.TagResource, asm.DeleteSecret, asm.RestoreSecret],
                  Resource=[_arn("secretsmanager", "secret:" + ids.USER_SECRET_PREFIX + "*")]),
        Statement(Sid="UseTheStackKey", Effect=Allow,
                  Action=[akms.Decrypt, akms.GenerateDataKey, akms.DescribeKey], Resource=[GetAtt(key, "Arn")]),
        Statement(Sid="StackParameters", Effect=Allow,
                  Action=[assm.GetParameter, assm.PutParameter, assm.DeleteParameter],
                  Resource=[ssm_arn("/*")]),
        Statement(Sid="CompleteTheHubLaunchHook", Effect=Allow, Action=[aas.CompleteLifecycleAction],
                  Resource=[group_arn(ids.HUB_GROUP_NAME)]),
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
                                 Sub(ids.builder_group_name("*"))),
                      ForAllValuesStringEquals("aws:TagKeys", [SLOT_TAG, DRAIN_TAG]),
                  ])),
        Statement(Sid="PutMetricDataOnlyInTheStackNamespace", Effect=Allow, Action=[acw.PutMetricData],
                  Resource=["*"],
                  Condition=Condition(StringEquals("cloudwatch:namespace", Sub(ids.METRICS_NAMESPACE)))),
    ]


def _restore_statement() -> object:
    """Read a retained stack's CA secrets (and decrypt them with its retained key) when restoring."""
    return If(P.HAS_RESTORE_CA, Statement(
        Sid="ReadRestoredCaSecrets", Effect=Allow, Action=[asm.GetSecretValue],
        Resource=[Ref("RestoreCaSecretArn"),
                  If(P.HAS_RESTORE_BUILDER_CA, Ref("RestoreBuilderCaSecretArn"), NoValue)]), NoValue)


def _restore_key_statement() -> object:
    return If(P.HAS_RESTORE_KEY, Statement(
        Sid="DecryptWithTheRestoredKey", Effect=Allow, Action=[akms.Decrypt], Resource=[Ref("RestoreKeyArn")]),
        NoValue)


def _with_conditional(doc: PolicyDocument, extra: list) -> dict:
    """awacs takes no Fn::If in a statement list: append the conditional statements to its dict."""
    body = dict(doc.JSONrepr())
    body["Statement"] = list(body["Statement"]) + extra
    return body


def _builder_statements(cfg: Config) -> list[Statement]:
    return [
        _signal_and_payload(),
        allow_ship_logs(ids.BUILDER_LOG_GROUP_NAME),
        Statement(Sid="ReadStackCaAndOwnCertificate", Effect=Allow, Action=[assm.GetParameter],
                  Resource=[ssm_arn("/ca.pem"), ssm_arn("/koji-version"), ssm_arn("/cert/*")]),
        Statement(Sid="HandInCsrAndFailureRecord", Effect=Allow, Action=[assm.PutParameter],
                  Resource=[ssm_arn("/csr/*"), ssm_arn("/bootstrap/*")]),
        Statement(Sid="TagOnlyItselfWithItsKeyHash", Effect=Allow, Action=[aec2.CreateTags],
                  Resource=[_arn("ec2", "instance/*")],
                  Condition=Condition([
                      StringEquals("aws:ARN", "${ec2:SourceInstanceARN}"),
                      ForAllValuesStringEquals("aws:TagKeys", [CSR_TAG]),
                  ])),
        Statement(Sid="AbandonItsOwnFailedLaunch", Effect=Allow,
                  Action=[aas.CompleteLifecycleAction, aas.SetInstanceHealth],
                  Resource=[group_arn(ids.builder_group_name(a)) for a in cfg.arches]),
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
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=_builder_statements(cfg))))
    b_profile = t.add_resource(iam.InstanceProfile(ids.BUILDER_PROFILE, Roles=[Ref(b_role)]))
    return Roles(hub_role, hub_policy, hub_profile, b_role, b_policy, b_profile)
