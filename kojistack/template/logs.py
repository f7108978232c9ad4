"""Adds the CloudWatch Logs groups of the hub and of the builders (encrypted with the stack key,
retention from LogRetentionDays). kojistack-logship on each machine writes <instance-id>/<source>
streams into its role's group; `kojistack logs` reads them. Deleted with the stack: logs are not
needed to restore it (the retained database, file system, secrets and key are)."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Sub, Template, logs

from .. import ids, names
from . import parameters as P
from .parameters import Params


@dataclass(frozen=True)
class LogGroups:
    hub: logs.LogGroup
    builders: logs.LogGroup


_SKIP_ONE_YEAR = {"checkov": {"skip": [{
    "id": "CKV_AWS_338",
    "comment": "retention is the LogRetentionDays parameter (7-365 days, default 30): these are operating "
               "logs, billed per GB-month; a year is offered, not imposed"}]}}


def _group(t: Template, title: str, name: str, key, p: Params) -> logs.LogGroup:
    return t.add_resource(logs.LogGroup(
        title, LogGroupName=Sub(name), RetentionInDays=p.ref(P.LOG_RETENTION_DAYS), KmsKeyId=GetAtt(key, "Arn"),
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete", Metadata=_SKIP_ONE_YEAR))


def add_log_groups(t: Template, key, p: Params) -> LogGroups:
    return LogGroups(_group(t, ids.HUB_LOG_GROUP, names.HUB_LOG_GROUP_NAME, key, p),
                     _group(t, ids.BUILDER_LOG_GROUP, names.BUILDER_LOG_GROUP_NAME, key, p))
