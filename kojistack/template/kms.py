"""Adds the stack KMS key (rotation on, Retain/Retain): RDS, EFS, secrets and logs use it.

EBS volumes follow the EbsKmsKey parameter (`ebs_kms_key_id`): by default the account's default EBS
key; "stack" puts them on this key, whose policy then grants Auto Scaling's service-linked role what
AWS documents for launching instances with encrypted volumes; a key ARN uses that key. The choice
exists because an organisation may make a customer key the account's default EBS key without that
grant, and then every launch fails (Auto Scaling user guide, "Required AWS KMS key policy for use
with encrypted volumes": https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html).
The role is named, not granted through principal "*" with kms:ViaService (checkov CKV_AWS_33), so it
must exist when the key policy is set (calibration C4).
Without this key the retained snapshot, file system and secrets cannot be read: it is never deleted.
"""

from __future__ import annotations

from awacs import kms as akms
from awacs.aws import Allow, ArnEquals, ArnLike, Bool, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, If, NoValue, Ref, Sub, Template, kms

from .. import ids, names
from . import parameters as P

AUTOSCALING_ROLE = ("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
                    "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")


def ebs_kms_key_id() -> object:
    """KmsKeyId of every launch template volume: the stack key, the given key, or none (account default)."""
    return If(P.EBS_STACK_KEY, GetAtt(ids.STACK_KEY, "Arn"), If(P.EBS_OWN_KEY, Ref(P.EBS_KMS_KEY), NoValue))


def _autoscaling_statements() -> list:
    """The two statements of the Auto Scaling user guide's Example 1, only when EbsKmsKey is "stack"."""
    role = Principal("AWS", Sub(AUTOSCALING_ROLE))
    use = Statement(Sid="AutoScalingLaunchesVolumesOnThisKey", Effect=Allow, Principal=role,
                    Action=[akms.Encrypt, akms.Decrypt, akms.Action("ReEncrypt*"), akms.Action("GenerateDataKey*"),
                            akms.DescribeKey], Resource=["*"])
    grant = Statement(Sid="AutoScalingAttachesPersistentResources", Effect=Allow, Principal=role,
                      Action=[akms.CreateGrant], Resource=["*"],
                      Condition=Condition(Bool("kms:GrantIsForAWSResource", True)))
    return [If(P.EBS_STACK_KEY, st, NoValue) for st in (use, grant)]


def add_stack_key(t: Template) -> kms.Key:
    root = Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root"))
    logs = Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com"))
    policy = PolicyDocument(Version="2012-10-17", Statement=[
        Statement(Sid="AccountAdministersTheKeyThroughIam", Effect=Allow, Principal=root,
                  Action=[akms.Action("*")], Resource=["*"]),
        Statement(Sid="CloudWatchLogsOfThisStack", Effect=Allow, Principal=logs,
                  Action=[akms.Encrypt, akms.Decrypt, akms.ReEncryptFrom, akms.ReEncryptTo,
                          akms.GenerateDataKey, akms.GenerateDataKeyWithoutPlaintext, akms.DescribeKey],
                  Resource=["*"],
                  # the encryption context of a log group is its ARN (CloudWatch Logs user guide,
                  # "Encrypt log data in CloudWatch Logs using AWS KMS", step 2: the key policy)
                  Condition=Condition(ArnEquals(
                      "kms:EncryptionContext:aws:logs:arn",
                      [Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:" + name)
                       for name in names.STACK_KEY_LOG_GROUP_NAMES]))),
        # CloudWatch publishes the stack's alarms to its encrypted SNS topic (SNS developer guide,
        # "Enable compatibility between event sources from AWS services and encrypted topics")
        Statement(Sid="CloudWatchAlarmsOfThisStackPublishToItsTopic", Effect=Allow,
                  Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                  Action=[akms.Decrypt, akms.Action("GenerateDataKey*")], Resource=["*"],
                  Condition=Condition([
                      StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}")),
                      ArnLike("aws:SourceArn", Sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:"
                                                   "${AWS::AccountId}:alarm:" + names.ALARM_NAME_PREFIX + "*")),
                  ])),
    ])
    body = dict(policy.JSONrepr())
    body["Statement"] = list(body["Statement"]) + _autoscaling_statements()  # awacs takes no Fn::If
    return t.add_resource(kms.Key(
        ids.STACK_KEY, Description=Sub("kojistack ${AWS::StackName}: RDS, EFS, secrets, logs"),
        EnableKeyRotation=True, KeyPolicy=body, PendingWindowInDays=30,
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))
