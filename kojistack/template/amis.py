"""Adds the AMI lookup: a small Lambda (inline code from lambda/ami_lookup.py) and one custom
resource per arch that returns the newest available image of the distro release, its name, date
and root device name. An `ImageId<Arch>` parameter overrides it (and switches it off).

No AMI id is written by hand, and generation never calls AWS (conventions R8).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from awacs import ec2 as aec2
from awacs import logs as alogs
from awacs.aws import Allow, PolicyDocument, Principal, Statement
from awacs.sts import AssumeRole
from troposphere import AWSObject, GetAtt, If, Ref, Sub, Template, awslambda, iam, logs
from troposphere.cloudformation import CustomResource

from .. import ids, names
from ..config import Config
from . import parameters as P
from .parameters import Params, image_arches

# (owner account, name pattern with {release}); AlmaLinux 764336703387, Fedora 125523088429
DISTRO_IMAGES = {
    "el9": ("764336703387", "AlmaLinux OS {release}.*"),
    "el10": ("764336703387", "AlmaLinux OS {release}.*"),
    "fedora": ("125523088429", "Fedora-Cloud-Base-AmazonEC2*-{release}-*"),
}
EC2_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}
DEFAULT_ROOT_DEVICE = "/dev/sda1"  # AlmaLinux and Fedora AMIs; used with an ImageId override
CODE = (Path(__file__).parent / "lambda" / "ami_lookup.py").read_text()

class AmiLookup(CustomResource):
    resource_type = "Custom::AmiLookup"
    props = {**CustomResource.props, "Owner": (str, True), "NamePattern": (str, True),
             "Release": (object, True), "Architecture": (str, True)}


_LAMBDA_SKIPS = {"checkov": {"skip": [
    {"id": "CKV_AWS_115", "comment": "reserved concurrency can only be taken from the account's unreserved "
                                     "pool minus 100: on new accounts it makes the launch fail"},
    {"id": "CKV_AWS_116", "comment": "no DLQ: the function reports every failure to CloudFormation from a "
                                     "finally block; a queue would cost a KMS-encrypted SQS queue for nothing"},
    {"id": "CKV_AWS_117", "comment": "outside the VPC: it only calls ec2:DescribeImages; VPC attachment would "
                                     "add a security group and ENIs that slow stack deletion"},
]}}


@dataclass(frozen=True)
class Images:
    by_arch: dict[str, object]  # arch -> ImageId expression
    root_device: dict[str, object]  # arch -> root device name expression
    resources: tuple[AWSObject, ...]


def add_amis(t: Template, cfg: Config, key, p: Params) -> Images:
    owner, pattern = DISTRO_IMAGES[cfg.distro]
    when = P.LOOKUP_ANY_IMAGE  # with every ImageId override set, there is nothing to look up
    log_group = t.add_resource(logs.LogGroup(
        ids.AMI_LOOKUP_LOG_GROUP, LogGroupName=Sub(names.AMI_LOOKUP_LOG_GROUP_NAME), RetentionInDays=30,
        KmsKeyId=GetAtt(key, "Arn"), Condition=when,
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete"))
    role = t.add_resource(iam.Role(
        ids.AMI_LOOKUP_ROLE, Condition=when,
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "lambda.amazonaws.com"), Action=[AssumeRole])]),
        Policies=[iam.Policy(PolicyName="ami-lookup", PolicyDocument=PolicyDocument(
            Version="2012-10-17", Statement=[
                Statement(Sid="DescribeImagesHasNoResourceLevelPermission", Effect=Allow,
                          Action=[aec2.DescribeImages], Resource=["*"]),
                Statement(Sid="WriteItsOwnLogs", Effect=Allow,
                          Action=[alogs.CreateLogStream, alogs.PutLogEvents],
                          Resource=[Sub("${Arn}:*", Arn=GetAtt(log_group, "Arn"))]),
            ]))]))
    fn = t.add_resource(awslambda.Function(
        ids.AMI_LOOKUP_FUNCTION, Condition=when, Runtime="python3.13", Architectures=["arm64"], Handler="index.handler",
        Code=awslambda.Code(ZipFile=CODE), Role=GetAtt(role, "Arn"), Timeout=120, MemorySize=128,
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        Metadata=_LAMBDA_SKIPS))
    image, root, res = {}, {}, [log_group, role, fn]
    for arch in image_arches(cfg):
        cr = t.add_resource(AmiLookup(
            ids.ami(arch), Condition=P.lookup_image(arch), ServiceToken=GetAtt(fn, "Arn"), ServiceTimeout=300,
            Owner=owner, NamePattern=pattern, Release=p.ref(P.OS_RELEASE), Architecture=EC2_ARCH[arch]))
        res.append(cr)
        image[arch] = If(P.has_image(arch), p.ref(P.image_param(arch)), GetAtt(cr, "ImageId"))
        root[arch] = If(P.has_image(arch), DEFAULT_ROOT_DEVICE, GetAtt(cr, "RootDeviceName"))
    return Images(image, root, tuple(res))
