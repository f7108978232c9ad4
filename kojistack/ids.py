"""Logical IDs and deterministic names: a public contract, declared once.

Renaming a stateful ID replaces the resource it names (database, file system, key, secrets,
subnets): tests/template/test_stateful.py pins them.
"""

# --- stateful: never rename -------------------------------------------------------------
STACK_KEY = "StackKey"
DATABASE = "Database"
FILE_SYSTEM = "FileSystem"
CA_SECRET = "CaSecret"
BUILDER_CA_SECRET = "BuilderCaSecret"
ADMIN_SECRET = "AdminCredentialsSecret"
DB_MASTER_SECRET = "DbMasterSecret"
KOJI_DB_SECRET = "KojiDbSecret"
WEB_SECRET = "WebSecret"

STATEFUL = (STACK_KEY, DATABASE, FILE_SYSTEM, CA_SECRET, BUILDER_CA_SECRET, ADMIN_SECRET,
            DB_MASTER_SECRET, KOJI_DB_SECRET, WEB_SECRET)

# --- network ----------------------------------------------------------------------------
VPC = "Vpc"
INTERNET_GATEWAY = "InternetGateway"
GATEWAY_ATTACHMENT = "InternetGatewayAttachment"
PUBLIC_ROUTE_TABLE = "PublicRouteTable"
PUBLIC_DEFAULT_ROUTE = "PublicDefaultRoute"
S3_ENDPOINT = "S3GatewayEndpoint"


def public_subnet(i: int) -> str:
    return f"PublicSubnet{i + 1}"


def private_subnet(i: int) -> str:
    return f"PrivateSubnet{i + 1}"


def public_subnet_assoc(i: int) -> str:
    return f"PublicSubnet{i + 1}RouteTableAssociation"


def private_route_table(i: int) -> str:
    return f"PrivateRouteTable{i + 1}"


def private_default_route(i: int) -> str:
    return f"PrivateRouteTable{i + 1}DefaultRoute"


def private_subnet_assoc(i: int) -> str:
    return f"PrivateSubnet{i + 1}RouteTableAssociation"


def nat_eip(i: int) -> str:
    return f"NatEip{i + 1}"


def nat_gateway(i: int) -> str:
    return f"NatGateway{i + 1}"


# --- security groups --------------------------------------------------------------------
PUBLIC_NLB_SG = "PublicNlbSecurityGroup"
INTERNAL_NLB_SG = "InternalNlbSecurityGroup"
HUB_SG = "HubSecurityGroup"
BUILDER_SG = "BuilderSecurityGroup"
DB_SG = "DatabaseSecurityGroup"
EFS_SG = "FileSystemSecurityGroup"
AMI_LOOKUP_SG = "AmiLookupSecurityGroup"

# --- load balancers ---------------------------------------------------------------------
PUBLIC_NLB = "PublicLoadBalancer"
INTERNAL_NLB = "InternalLoadBalancer"
PUBLIC_TARGET_GROUP = "PublicTargetGroup"
INTERNAL_TARGET_GROUP = "InternalTargetGroup"
PUBLIC_LISTENER = "PublicListener"
INTERNAL_LISTENER = "InternalListener"

# --- IAM --------------------------------------------------------------------------------
HUB_ROLE = "HubRole"
HUB_POLICY = "HubPolicy"
HUB_PROFILE = "HubInstanceProfile"
BUILDER_ROLE = "BuilderRole"
BUILDER_POLICY = "BuilderPolicy"
BUILDER_PROFILE = "BuilderInstanceProfile"
AMI_LOOKUP_ROLE = "AmiLookupRole"
DB_MONITORING_ROLE = "DatabaseMonitoringRole"
BACKUP_ROLE = "BackupRole"

# --- database and storage ---------------------------------------------------------------
DB_SUBNET_GROUP = "DatabaseSubnetGroup"
DB_PARAMETER_GROUP = "DatabaseParameterGroup"
DB_SECRET_ATTACHMENT = "DbMasterSecretAttachment"


def mount_target(i: int) -> str:
    return f"FileSystemMountTarget{i + 1}"


BACKUP_VAULT = "BackupVault"
BACKUP_PLAN = "BackupPlan"
BACKUP_SELECTION = "BackupSelection"

# --- AMIs -------------------------------------------------------------------------------
AMI_LOOKUP_FUNCTION = "AmiLookupFunction"
AMI_LOOKUP_LOG_GROUP = "AmiLookupLogGroup"
AMI_LOOKUP_DLQ = "AmiLookupDeadLetterQueue"


def ami(arch: str) -> str:
    return f"Ami{arch_title(arch)}"


# --- hub --------------------------------------------------------------------------------
HUB_LAUNCH_TEMPLATE = "HubLaunchTemplate"
HUB_GROUP = "HubGroup"
HUB_LOG_GROUP = "HubLogGroup"

# --- builders ---------------------------------------------------------------------------


def builder_launch_template(arch: str) -> str:
    return f"Builder{arch_title(arch)}LaunchTemplate"


def builder_group(arch: str) -> str:
    return f"Builder{arch_title(arch)}Group"


DASHBOARD = "Dashboard"

# --- logs and alarms --------------------------------------------------------------------
BUILDER_LOG_GROUP = "BuilderLogGroup"
ALARM_TOPIC = "AlarmTopic"
ALARM_EMAIL_SUBSCRIPTION = "AlarmEmailSubscription"
ALARM_HUB_UNHEALTHY = "HubUnhealthyAlarm"
ALARM_HUB_NOT_IN_SERVICE = "HubNotInServiceAlarm"
ALARM_DB_STORAGE = "DatabaseStorageAlarm"


def alarm_launch_failures(arch: str) -> str:
    return f"Builder{arch_title(arch)}LaunchFailuresAlarm"


def alarm_queue_stuck(arch: str) -> str:
    return f"Builder{arch_title(arch)}QueueStuckAlarm"

# --- outputs ----------------------------------------------------------------------------
OUT_HUB_URL = "HubUrl"
OUT_WEB_URL = "WebUrl"
OUT_FILES_URL = "FilesUrl"
OUT_INTERNAL_HUB_URL = "InternalHubUrl"
OUT_ADMIN_SECRET = "AdminCredentialsSecretArn"
OUT_STACK_KEY = "StackKeyArn"
OUT_CLIENT_COMMAND = "ClientSetupCommand"
OUT_CA_PARAMETER = "CaCertificateParameter"
OUT_FILE_SYSTEM = "FileSystemId"
OUT_DB_SECRET = "DbMasterSecretArn"
OUT_CA_SECRET = "CaSecretArn"
OUT_BUILDER_CA_SECRET = "BuilderCaSecretArn"
OUT_DASHBOARD = "DashboardUrl"
OUT_HUB_LOG_GROUP = "HubLogGroupName"
OUT_BUILDER_LOG_GROUP = "BuilderLogGroupName"
OUT_ALARM_TOPIC = "AlarmTopicArn"
OUT_CNAME_TARGET = "CnameTarget"

# --- deterministic names (Fn::Sub strings; never Ref, so IAM and the controller cause no cycle)
HUB_GROUP_NAME = "${AWS::StackName}-hub"
METRICS_NAMESPACE = "kojistack/${AWS::StackName}"
# CloudWatch Logs groups of the hub and of all builders (kojistack-logship writes, `kojistack logs` reads)
HUB_LOG_GROUP_NAME = "/kojistack/${AWS::StackName}/hub"
BUILDER_LOG_GROUP_NAME = "/kojistack/${AWS::StackName}/builders"
AMI_LOOKUP_LOG_GROUP_NAME = "/kojistack/${AWS::StackName}/ami-lookup"
# Every log group encrypted with the stack key: the key policy lets CloudWatch Logs use the key for
# these log groups only (kms:EncryptionContext:aws:logs:arn), never for every log group of the account
STACK_KEY_LOG_GROUP_NAMES = (HUB_LOG_GROUP_NAME, BUILDER_LOG_GROUP_NAME, AMI_LOOKUP_LOG_GROUP_NAME)
ALARM_NAME_PREFIX = "${AWS::StackName}-kojistack-"
# Names of things the machines create at run time (SSM parameters, per-user secrets) outlive the
# stack, so they carry ${StackUuid} (the last part of AWS::StackId, new with every creation): a
# stack re-created under the same name starts from fresh names and never meets the old stack's
# parameters or its secrets (encrypted with the old, retained key). Both start with "kojistack",
# never with the stack name: an SSM parameter name may not begin with "aws" or "ssm", in any case
# (PutParameter, "Naming Constraints": https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html),
# and a stack may well be called aws-koji.
STACK_UUID = "StackUuid"  # the Fn::Sub variable; kojistack.template.names.stack_sub maps it
SSM_PREFIX = "/kojistack/${AWS::StackName}/${StackUuid}"
USER_SECRET_PREFIX = "kojistack/${AWS::StackName}/${StackUuid}/users/"


def builder_group_name(arch: str) -> str:
    return "${AWS::StackName}-builders-" + arch


def arch_title(arch: str) -> str:
    """x86_64 -> X8664, aarch64 -> Aarch64 (alphanumeric, for logical IDs)."""
    return {"x86_64": "X8664", "aarch64": "Aarch64"}[arch]
