"""Adds the stack KMS key (rotation on, Retain/Retain): RDS, EFS, secrets and logs use it.

EBS volumes use the AWS managed key instead (calibration C4: a customer key for Auto Scaling
launches needs a key-policy principal that checkov rejects or that does not exist in new accounts).
Without this key the retained snapshot, file system and secrets cannot be read: it is never deleted.
"""

from __future__ import annotations

from awacs import kms as akms
from awacs.aws import Allow, ArnEquals, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Sub, Template
from troposphere import kms

from .. import ids


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
                       for name in ids.STACK_KEY_LOG_GROUP_NAMES]))),
        # CloudWatch publishes the stack's alarms to its encrypted SNS topic (SNS developer guide,
        # "Enable compatibility between event sources from AWS services and encrypted topics")
        Statement(Sid="CloudWatchAlarmsOfThisStackPublishToItsTopic", Effect=Allow,
                  Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                  Action=[akms.Decrypt, akms.Action("GenerateDataKey*")], Resource=["*"],
                  Condition=Condition([
                      StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}")),
                      ArnLike("aws:SourceArn", Sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:"
                                                   "${AWS::AccountId}:alarm:" + ids.ALARM_NAME_PREFIX + "*")),
                  ])),
    ])
    return t.add_resource(kms.Key(
        ids.STACK_KEY, Description=Sub("kojistack ${AWS::StackName}: RDS, EFS, secrets, logs"),
        EnableKeyRotation=True, KeyPolicy=policy, PendingWindowInDays=30,
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))
