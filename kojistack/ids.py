"""Logical IDs: every one the templates contain, and nothing else (tests/template/test_ids.py holds
this to the templates of every config). Names that are not logical IDs are in kojistack/names.py.

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

# security-group rules (one ingress rule each)
PUBLIC_NLB_FROM_ACCESS_CIDR = "PublicNlbFromAccessCidr"
INTERNAL_NLB_FROM_HUB = "InternalNlbFromHub"
INTERNAL_NLB_FROM_BUILDERS = "InternalNlbFromBuilders"
HUB_FROM_PUBLIC_NLB = "HubFromPublicNlb"
HUB_FROM_INTERNAL_NLB = "HubFromInternalNlb"
DATABASE_FROM_HUB = "DatabaseFromHub"
FILE_SYSTEM_FROM_HUB = "FileSystemFromHub"

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

# --- database and storage ---------------------------------------------------------------
DB_SUBNET_GROUP = "DatabaseSubnetGroup"
DB_PARAMETER_GROUP = "DatabaseParameterGroup"


def mount_target(i: int) -> str:
    return f"FileSystemMountTarget{i + 1}"



# --- AMIs -------------------------------------------------------------------------------
AMI_LOOKUP_FUNCTION = "AmiLookupFunction"
AMI_LOOKUP_LOG_GROUP = "AmiLookupLogGroup"


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


# --- light hosts (the light channel beyond the hub's kojid) ---------------------------------------
LIGHT_LAUNCH_TEMPLATE = "LightLaunchTemplate"
LIGHT_GROUP = "LightGroup"


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

def arch_title(arch: str) -> str:
    """x86_64 -> X8664, aarch64 -> Aarch64 (alphanumeric, for logical IDs)."""
    return {"x86_64": "X8664", "aarch64": "Aarch64"}[arch]
