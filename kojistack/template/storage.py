"""Adds EFS for /mnt/koji: encrypted at rest on the stack key, elastic throughput (parameter),
lifecycle to Infrequent Access, AWS Backup on, Retain/Retain; a mount target per private subnet.

A retained file system can be adopted instead (ExistingFileSystemId). NFS 4.1 inside the VPC
without TLS: efs-utils is not packaged for Fedora/EL (the documented exception, design "Storage").
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, If, Ref, Sub, Tags, Template, efs

from .. import ids
from . import parameters as P
from .network import Network
from .parameters import Params
from .security import SecurityGroups


@dataclass(frozen=True)
class Storage:
    file_system_id: object
    mount_targets: tuple[efs.MountTarget, ...]


def add_storage(t: Template, net: Network, sgs: SecurityGroups, key, p: Params) -> Storage:
    fs = t.add_resource(efs.FileSystem(
        ids.FILE_SYSTEM, Condition=P.CREATE_FS, Encrypted=True, KmsKeyId=GetAtt(key, "Arn"),
        PerformanceMode="generalPurpose", ThroughputMode=p.ref(P.FILE_SYSTEM_THROUGHPUT_MODE),
        LifecyclePolicies=[efs.LifecyclePolicy(TransitionToIA="AFTER_30_DAYS"),
                           efs.LifecyclePolicy(TransitionToPrimaryStorageClass="AFTER_1_ACCESS")],
        BackupPolicy=efs.BackupPolicy(Status="ENABLED"),
        FileSystemTags=Tags(Name=Sub("${AWS::StackName}-mnt-koji")),
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))
    fs_id = If(P.HAS_EXISTING_FS, p.ref(P.EXISTING_FILE_SYSTEM_ID), Ref(fs))
    targets = tuple(
        t.add_resource(efs.MountTarget(ids.mount_target(i), FileSystemId=fs_id, SubnetId=subnet,
                                       SecurityGroups=[GetAtt(sgs.file_system, "GroupId")]))
        for i, subnet in enumerate(net.private_subnets))
    return Storage(fs_id, targets)
