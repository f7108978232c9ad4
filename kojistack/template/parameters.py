"""Adds the CloudFormation parameters, their console groups and labels, conditions and Rules.

Every parameter has a description, a label, a group, and a constraint (AWS type, AllowedValues,
or AllowedPattern with a ConstraintDescription). Optional overrides are Strings with an
`^(...)?$` pattern and a condition. Rules enumerate small AllowedValues sets because Rules
have no `<=` (calibration C1).
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import And, Condition, Equals, Not, Or, Parameter, Ref, Template

from .. import names
from ..config import Config
from ..ids import arch_title

BUILDER_MIN_VALUES = ("0", "1", "2", "4")
DB_STORAGE_VALUES = ("20", "50", "100", "200", "500", "1000")
DB_MAX_STORAGE_VALUES = ("40", "100", "200", "500", "1000", "2000", "4000")
#: up to 1,000 builders per arch: slot names x86-64-01 .. x86-64-1000 (controller.decide.SLOT_PATTERN,
#: controller.settings.MAX_SLOTS; the hub's ssl.conf.in and the builders' bootstrap spell the pattern)
BUILDER_MAX_VALUES = ("0", "1", "2", "4", "8", "12", "16", "20", "30", "40", "50", "100", "200", "500", "1000")
DB_CLASSES = ("db.t4g.small", "db.t4g.medium", "db.t4g.large", "db.m7g.large", "db.m7g.xlarge",
              "db.m7g.2xlarge", "db.r7g.large", "db.r7g.xlarge")
HUB_INSTANCE_TYPES = ("m7i.large", "m7i.xlarge", "m7i.2xlarge", "m6i.large", "m6i.xlarge",
                      "m6i.2xlarge", "c7i.xlarge", "c7i.2xlarge", "r7i.large", "r7i.xlarge")
DEFAULT_KOJI_VERSION = ""  # the distro repos keep only their newest build: an old pin stops installing
OS_RELEASE_DEFAULTS = {"el9": "9", "el10": "10", "fedora": "43"}



def reserved_users() -> tuple[str, ...]:
    """The koji users and host the stack creates itself (kojistack/names.py USERS): AdminUserName
    may not be one of them."""
    return tuple(names.users().values())


_ARN_OPT = r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512})?$"


@dataclass(frozen=True)
class Params:
    """Parameters as troposphere objects, keyed by their CloudFormation names."""

    by_name: dict[str, Parameter]

    def __getitem__(self, name: str) -> Parameter:
        return self.by_name[name]

    def ref(self, name: str) -> Ref:
        return Ref(self.by_name[name])


# parameter names (declared once: every template module refers to these, never to the string)
VPC_CIDR = "VpcCidr"
VPC_ID = "VpcId"
PUBLIC_SUBNET_IDS = "PublicSubnetIds"
PRIVATE_SUBNET_IDS = "PrivateSubnetIds"
ACCESS_CIDR = "AccessCidr"
ADMIN_USER_NAME = "AdminUserName"
KOJI_VERSION = "KojiVersion"
CUSTOM_DOMAIN = "CustomDomain"
ALLOWED_SCMS = "AllowedScms"
SEED_BUILD_ENVIRONMENT = "SeedBuildEnvironment"
HUB_INSTANCE_TYPE = "HubInstanceType"
HUB_ROOT_VOLUME_GIB = "HubRootVolumeGiB"
EBS_KMS_KEY = "EbsKmsKey"
OS_RELEASE = "OsRelease"
BUILDER_ON_DEMAND_BASE = "BuilderOnDemandBase"
BUILDER_ON_DEMAND_PERCENTAGE = "BuilderOnDemandPercentage"
BUILDER_VOLUME_GIB = "BuilderVolumeGiB"
BUILDER_IDLE_MINUTES = "BuilderIdleMinutes"
BUILDER_SPARE_TASKS = "BuilderSpareTasks"
#: BuilderSpareTasks' default and values: the controller's own default is controller.decide.SPARE_TASKS
#: (the template may not import the controller, tests/test_wings.py; tests/template/test_updates.py
#: holds the two equal), and its share of the arch's tasks at scale controller.decide.SPARE_FRACTION
BUILDER_SPARE_TASKS_DEFAULT = 2
BUILDER_SPARE_FRACTION_PERCENT = 5
BUILDER_SPARE_TASKS_VALUES = ("0", "1", "2", "3", "4", "6", "8")
LIGHT_HOSTS_MAX = "LightHostsMax"
#: LightHostsMax's default: 100 light hosts of 274 waiting build parents each (kojistack/sim/light.py)
LIGHT_HOSTS_MAX_DEFAULT = 100
DB_INSTANCE_CLASS = "DbInstanceClass"
DB_ALLOCATED_STORAGE_GIB = "DbAllocatedStorageGiB"
DB_MAX_ALLOCATED_STORAGE_GIB = "DbMaxAllocatedStorageGiB"
DB_BACKUP_RETENTION_DAYS = "DbBackupRetentionDays"
DB_MULTI_AZ = "DbMultiAZ"
DB_DELETION_PROTECTION = "DbDeletionProtection"
DB_EXTENDED_SUPPORT_PARAM = "DbExtendedSupport"  # (DB_EXTENDED_SUPPORT is its condition)
FILE_SYSTEM_THROUGHPUT_MODE = "FileSystemThroughputMode"
NOTIFICATION_EMAIL = "NotificationEmail"
LOG_RETENTION_DAYS = "LogRetentionDays"
DB_SNAPSHOT_IDENTIFIER = "DbSnapshotIdentifier"
EXISTING_FILE_SYSTEM_ID = "ExistingFileSystemId"
RESTORE_CA_SECRET_ARN = "RestoreCaSecretArn"
RESTORE_BUILDER_CA_SECRET_ARN = "RestoreBuilderCaSecretArn"
RESTORE_KEY_ARN = "RestoreKeyArn"

# condition names (declared once; compose adds them)
HAS_DOMAIN = "HasCustomDomain"
HAS_DB_SNAPSHOT = "HasDbSnapshot"
HAS_EXISTING_FS = "HasExistingFileSystem"
CREATE_FS = "CreateFileSystem"
HAS_RESTORE_CA = "HasRestoreCaSecret"
HAS_RESTORE_BUILDER_CA = "HasRestoreBuilderCaSecret"
HAS_RESTORE_KEY = "HasRestoreKey"
DB_EXTENDED_SUPPORT = "DbExtendedSupportOn"
HAS_NOTIFICATION_EMAIL = "HasNotificationEmail"
LOOKUP_ANY_IMAGE = "LookupAnyImage"  # some arch has no ImageId override: the AMI lookup function exists
EBS_STACK_KEY = "EbsOnStackKey"  # EbsKmsKey = "stack"
EBS_OWN_KEY = "EbsOnGivenKey"  # EbsKmsKey = a key ARN
# CloudWatch Logs' retention values (AWS::Logs::LogGroup RetentionInDays), the short end
LOG_RETENTION_VALUES = ("7", "14", "30", "60", "90", "180", "365")


def has_image(arch: str) -> str:
    return f"HasImageId{arch_title(arch)}"


def lookup_image(arch: str) -> str:
    return f"LookUpImage{arch_title(arch)}"


def image_param(arch: str) -> str:
    return f"ImageId{arch_title(arch)}"


def min_param(arch: str) -> str:
    return f"Builder{arch_title(arch)}MinSize"


def max_param(arch: str) -> str:
    return f"Builder{arch_title(arch)}MaxSize"


def _add(t: Template, groups: dict[str, list[str]], group: str, label: str, name: str, **kw) -> Parameter:
    p = t.add_parameter(Parameter(name, **kw))
    t.set_parameter_label(p, label)
    groups.setdefault(group, []).append(name)
    return p


def image_arches(cfg: Config) -> tuple[str, ...]:
    """Arches that need an AMI: the hub is x86_64, builders are their own arch."""
    return tuple(a for a in ("x86_64", "aarch64") if a == "x86_64" or a in cfg.arches)


def add_parameters(t: Template, cfg: Config, variant: str) -> Params:
    """Add every parameter, its console group and label, the conditions and the Rules."""
    g: dict[str, list[str]] = {}
    P: dict[str, Parameter] = {}

    def add(group: str, label: str, name: str, **kw) -> None:
        P[name] = _add(t, g, group, label, name, **kw)

    net = "Network"
    if variant == "new":
        add(net, "VPC CIDR block", VPC_CIDR, Type="String", Default="10.80.0.0/16",
            AllowedPattern=r"^(10\.[0-9]{1,3}|172\.(1[6-9]|2[0-9]|3[01])|192\.168)\.0\.0/16$",
            ConstraintDescription="a private IPv4 /16 block, like 10.80.0.0/16",
            Description="Address range of the new VPC; six /19 subnets are cut from it "
                        "(the first three private, the next three public).")
    else:
        add(net, "VPC", VPC_ID, Type="AWS::EC2::VPC::Id",
            Description="Existing VPC. It must have DNS support and DNS hostnames on, and NAT egress "
                        "from its private subnets.")
        add(net, "Public subnets", PUBLIC_SUBNET_IDS, Type="List<AWS::EC2::Subnet::Id>",
            Description=f"Exactly {cfg.availability_zones} public subnets of that VPC, one per AZ "
                        "(the internet-facing load balancer lives here).")
        add(net, "Private subnets", PRIVATE_SUBNET_IDS, Type="List<AWS::EC2::Subnet::Id>",
            Description=f"Exactly {cfg.availability_zones} private subnets of that VPC, one per AZ, in the "
                        "same AZ order (hub, builders, database, file system).")
    add(net, "Allowed client CIDR", ACCESS_CIDR, Type="String",
        AllowedPattern=r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
                       r"/([0-9]|[12][0-9]|3[0-2])$",
        ConstraintDescription="an IPv4 CIDR block like 203.0.113.0/24",
        Description="Who may reach the hub and web UI on port 443 through the public load balancer.")

    koji = "Koji"
    add(koji, "Admin user name", ADMIN_USER_NAME, Type="String", Default="kojiadmin",
        AllowedPattern=r"^[a-z][a-z0-9_-]{2,31}$",
        ConstraintDescription="3-32 characters: lower-case letters, digits, '_' or '-', starting with a letter",
        Description="Koji user that gets the admin permission; its certificate lands in the "
                    "admin-credentials secret.")
    add(koji, "Koji version", KOJI_VERSION, Type="String", Default=DEFAULT_KOJI_VERSION,
        AllowedPattern=r"^([0-9]+\.[0-9]+\.[0-9]+)?$", ConstraintDescription="empty, or a version like 1.35.3",
        Description="Koji release to install; empty takes the newest in the distro's repos (EPEL on EL) at "
                    "the first launch, then the build the hub keeps. Builders install the hub's build from "
                    "the hub; a replacement hub reinstalls it unless this names another version.")
    add(koji, "Custom domain (optional)", CUSTOM_DOMAIN, Type="String", Default=cfg.domain,
        AllowedPattern=r"^(([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})?$",
        ConstraintDescription="empty, or a lower-case DNS name like koji.example.com",
        Description="A name you will point (CNAME) at the public load balancer; it is added to the "
                    "hub certificate and used in the output URLs.")
    add(koji, "Allowed SCMs (optional)", ALLOWED_SCMS, Type="String", Default="",
        AllowedPattern=r"^([A-Za-z0-9.:/*_,~ -]{1,512})?$",
        ConstraintDescription="empty, or kojid allowed_scms entries like "
                              "'src.fedoraproject.org:/rpms/*:no:fedpkg,sources'",
        Description="kojid allowed_scms; when set, builds from these SCMs are allowed for every user "
                    "(build_from_scm policy). Empty keeps SCM builds admin-only.")
    add(koji, "Seed a build environment", SEED_BUILD_ENVIRONMENT, Type="String", Default="true",
        AllowedValues=["true", "false"], ConstraintDescription="true or false",
        Description="Create a build tag, target and build groups over the distro's repos, so a "
                    "scratch build works right after launch.")

    hub = "Hub"
    add(hub, "Hub instance type", HUB_INSTANCE_TYPE, Type="String", Default="m7i.large",
        AllowedValues=list(HUB_INSTANCE_TYPES), ConstraintDescription="one of the listed x86_64 types",
        Description="Instance type of the hub (httpd, kojira, createrepo, controller).")
    add(hub, "Hub root volume (GiB)", HUB_ROOT_VOLUME_GIB, Type="Number", Default="50",
        MinValue=40, MaxValue=1000, ConstraintDescription="40 to 1000 GiB",
        Description="Root volume of the hub; it must leave kojid's minspace (8 GiB) plus 10 GiB free.")
    add(hub, "EBS encryption key", EBS_KMS_KEY, Type="String", Default="",
        AllowedPattern=r"^(stack|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36}))?$",
        ConstraintDescription="empty, 'stack', or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)",
        Description="Key of the hub's and builders' volumes. Empty: the account's default EBS key. 'stack': the "
                    "stack key, whose policy then grants AWSServiceRoleForAutoScaling (that role must exist: "
                    "any Auto Scaling group made it, or `aws iam create-service-linked-role --aws-service-name "
                    "autoscaling.amazonaws.com`). A key ARN: its key policy must grant that role "
                    "(docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html). "
                    "Use 'stack' or an ARN when the account's default EBS key is a customer key without that grant.")
    for arch in image_arches(cfg):
        add(hub if arch == "x86_64" else "Builders", f"AMI override, {arch} (optional)", image_param(arch),
            Type="String", Default="", AllowedPattern=r"^(ami-[0-9a-f]{8,17})?$",
            ConstraintDescription="empty, or an AMI id like ami-0123456789abcdef0",
            Description=f"Use this {arch} AMI instead of the newest {cfg.distro} image found by the lookup "
                        "(its root device must be /dev/sda1).")
    add(hub, "OS release", OS_RELEASE, Type="String", Default=OS_RELEASE_DEFAULTS[cfg.distro],
        AllowedPattern=r"^[0-9]{1,2}$", ConstraintDescription="a major release number like 9",
        Description=f"Major release of the {cfg.distro} images the lookup picks.")

    b = "Builders"
    for arch in cfg.arches:
        add(b, f"{arch} builders, minimum", min_param(arch), Type="Number", Default="0",
            AllowedValues=list(BUILDER_MIN_VALUES), ConstraintDescription="one of 0, 1, 2, 4",
            Description=f"Builders of {arch} kept running when the queue is empty.")
        add(b, f"{arch} builders, maximum", max_param(arch), Type="Number", Default="8",
            AllowedValues=list(BUILDER_MAX_VALUES),
            ConstraintDescription="one of the listed sizes, at least the minimum",
            Description=f"Most {arch} builders the controller may run (0 switches the arch off).")
    add(b, "On-demand base", BUILDER_ON_DEMAND_BASE, Type="Number", Default="1",
        AllowedValues=["0", "1", "2", "4"], ConstraintDescription="one of 0, 1, 2, 4",
        Description="Builders per group that are always on-demand, before any spot (at least 1 keeps "
                    "builds running when spot capacity is short).")
    if cfg.spot:
        add(b, "On-demand percentage above base", BUILDER_ON_DEMAND_PERCENTAGE, Type="Number", Default="0",
            AllowedValues=["0", "25", "50", "75", "100"], ConstraintDescription="one of 0, 25, 50, 75, 100",
            Description="Share of builders above the base that are on-demand; the rest are spot "
                        "(price-capacity-optimized).")
    add(b, "Builder volume (GiB)", BUILDER_VOLUME_GIB, Type="Number", Default="100", MinValue=50,
        MaxValue=2000, ConstraintDescription="50 to 2000 GiB",
        Description="Root volume of each builder (mock roots and caches).")
    add(b, "Idle minutes before scale-in", BUILDER_IDLE_MINUTES, Type="Number", Default="10",
        AllowedValues=["5", "10", "15", "20", "30", "60"], ConstraintDescription="one of 5, 10, 15, 20, 30, 60",
        Description="A builder with no task for this long is drained and terminated.")
    add(b, "Room kept for arriving builds (tasks)", BUILDER_SPARE_TASKS, Type="Number",
        Default=str(BUILDER_SPARE_TASKS_DEFAULT), AllowedValues=list(BUILDER_SPARE_TASKS_VALUES),
        ConstraintDescription="one of " + ", ".join(BUILDER_SPARE_TASKS_VALUES),
        Description="While an arch has builder work, its builders keep room for this many more build tasks "
                    f"(and for {BUILDER_SPARE_FRACTION_PERCENT} % of the arch's tasks at scale), so a build "
                    "arriving while a new builder boots (3 minutes and more) starts at once. Lower: fewer "
                    "builder-hours, longer waits. 0 keeps no room at all, not even at scale.")
    add(b, "Light hosts, maximum", LIGHT_HOSTS_MAX, Type="Number", Default=str(LIGHT_HOSTS_MAX_DEFAULT),
        MinValue=0, MaxValue=1000, ConstraintDescription="0 to 1000",
        Description="Most light hosts the controller may run. A build parent waits for its children in a "
                    "kojid job slot of the light channel; beyond the hub's own slots (about 189 on m7i.large) "
                    "the controller adds light hosts (8 GiB, about 274 waiting parents each; none while "
                    "the hub has room). 0: builds in flight stop at the hub's slots.")

    d = "Database"
    add(d, "Database instance class", DB_INSTANCE_CLASS, Type="String", Default="db.t4g.small",
        AllowedValues=list(DB_CLASSES), ConstraintDescription="one of the listed classes",
        Description="RDS PostgreSQL class; the hub sizes httpd's threads from its max_connections.")
    add(d, "Storage (GiB)", DB_ALLOCATED_STORAGE_GIB, Type="Number", Default="20",
        AllowedValues=list(DB_STORAGE_VALUES), ConstraintDescription="one of the listed sizes",
        Description="Initial database storage.")
    add(d, "Storage autoscaling limit (GiB)", DB_MAX_ALLOCATED_STORAGE_GIB, Type="Number", Default="200",
        AllowedValues=list(DB_MAX_STORAGE_VALUES), ConstraintDescription="one of the listed sizes, above the storage",
        Description="Storage autoscaling grows the database up to this size.")
    add(d, "Backup retention (days)", DB_BACKUP_RETENTION_DAYS, Type="Number", Default="7",
        AllowedValues=["7", "14", "21", "35"], ConstraintDescription="one of 7, 14, 21, 35",
        Description="Days of automated backups (point-in-time restore).")
    add(d, "Multi-AZ", DB_MULTI_AZ, Type="String", Default="false", AllowedValues=["true", "false"],
        ConstraintDescription="true or false",
        Description="A standby in a second AZ (failover in 1-2 minutes) at twice the database cost.")
    add(d, "Deletion protection", DB_DELETION_PROTECTION, Type="String", Default="true",
        AllowedValues=["true", "false"], ConstraintDescription="true or false",
        Description="Refuse to delete the database; turn off only right before deleting the stack.")
    add(d, "RDS Extended Support", DB_EXTENDED_SUPPORT_PARAM, Type="String", Default="false",
        AllowedValues=["true", "false"], ConstraintDescription="true or false",
        Description="Enrol in paid RDS Extended Support when the major version leaves standard support.")

    s = "Storage"
    add(s, "File system throughput", FILE_SYSTEM_THROUGHPUT_MODE, Type="String", Default="elastic",
        AllowedValues=["elastic", "bursting"], ConstraintDescription="elastic or bursting",
        Description="EFS throughput mode of /mnt/koji (elastic: pay per use, no credit exhaustion).")

    o = "Operations"
    add(o, "Alarm e-mail (optional)", NOTIFICATION_EMAIL, Type="String", Default="",
        AllowedPattern=r"^([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63})?$",
        ConstraintDescription="empty, or an e-mail address like koji-admins@example.com",
        Description="Subscribe this address to the stack's alarms (hub unhealthy, builders failing to "
                    "launch, queue stuck, database storage); confirm the e-mail AWS sends. Empty: the "
                    "alarms still show in the console and `kojistack status`.")
    add(o, "Log retention (days)", LOG_RETENTION_DAYS, Type="Number", Default="30",
        AllowedValues=list(LOG_RETENTION_VALUES), ConstraintDescription="one of 7, 14, 30, 60, 90, 180, 365",
        Description="Days CloudWatch Logs keeps the hub's and builders' logs (journal, kojid, kojira, httpd).")

    r = "Restore (optional)"
    add(r, "Database snapshot", DB_SNAPSHOT_IDENTIFIER, Type="String", Default="",
        AllowedPattern=r"^([A-Za-z][A-Za-z0-9:_-]{0,254})?$",
        ConstraintDescription="empty, or a DB snapshot identifier or ARN",
        Description="Restore the database from this (retained) snapshot. Keep it set in later updates: "
                    "removing it replaces the database with an empty one.")
    add(r, "File system", EXISTING_FILE_SYSTEM_ID, Type="String", Default="",
        AllowedPattern=r"^(fs-[0-9a-f]{8,40})?$", ConstraintDescription="empty, or an EFS id like fs-0123abcd",
        Description="Use this retained file system for /mnt/koji instead of creating one.")
    add(r, "CA secret", RESTORE_CA_SECRET_ARN, Type="String", Default="", AllowedPattern=_ARN_OPT,
        ConstraintDescription="empty, or a Secrets Manager secret ARN",
        Description="The retained stack CA secret of the stack being restored (its CaSecretArn output).")
    add(r, "Builder CA secret", RESTORE_BUILDER_CA_SECRET_ARN, Type="String", Default="",
        AllowedPattern=_ARN_OPT, ConstraintDescription="empty, or a Secrets Manager secret ARN",
        Description="The retained builder CA secret of the stack being restored (its BuilderCaSecretArn output).")
    add(r, "Key of the restored stack", RESTORE_KEY_ARN, Type="String", Default="",
        AllowedPattern=r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36})?$",
        ConstraintDescription="empty, or a KMS key ARN",
        Description="The retained stack key (StackKeyArn output) that encrypts the restored secrets.")

    for group, members in g.items():
        for name in members:
            t.add_parameter_to_group(P[name], group)

    _add_conditions(t, cfg, P)
    _add_rules(t, cfg, variant, P)
    return Params(P)


def _add_conditions(t: Template, cfg: Config, P: dict[str, Parameter]) -> None:
    def not_empty(name: str):
        return Not(Equals(Ref(P[name]), ""))

    t.add_condition(HAS_DOMAIN, not_empty(CUSTOM_DOMAIN))
    t.add_condition(HAS_DB_SNAPSHOT, not_empty(DB_SNAPSHOT_IDENTIFIER))
    t.add_condition(HAS_EXISTING_FS, not_empty(EXISTING_FILE_SYSTEM_ID))
    t.add_condition(CREATE_FS, Equals(Ref(P[EXISTING_FILE_SYSTEM_ID]), ""))
    t.add_condition(HAS_RESTORE_CA, not_empty(RESTORE_CA_SECRET_ARN))
    t.add_condition(HAS_RESTORE_BUILDER_CA, not_empty(RESTORE_BUILDER_CA_SECRET_ARN))
    t.add_condition(HAS_RESTORE_KEY, not_empty(RESTORE_KEY_ARN))
    t.add_condition(DB_EXTENDED_SUPPORT, Equals(Ref(P[DB_EXTENDED_SUPPORT_PARAM]), "true"))
    t.add_condition(HAS_NOTIFICATION_EMAIL, not_empty(NOTIFICATION_EMAIL))
    for arch in image_arches(cfg):
        t.add_condition(has_image(arch), not_empty(image_param(arch)))
        t.add_condition(lookup_image(arch), Equals(Ref(P[image_param(arch)]), ""))
    lookups = [Condition(lookup_image(a)) for a in image_arches(cfg)]
    t.add_condition(LOOKUP_ANY_IMAGE, Or(*lookups) if len(lookups) > 1 else
                    Equals(Ref(P[image_param(image_arches(cfg)[0])]), ""))
    t.add_condition(EBS_STACK_KEY, Equals(Ref(P[EBS_KMS_KEY]), "stack"))
    t.add_condition(EBS_OWN_KEY, And(not_empty(EBS_KMS_KEY), Not(Equals(Ref(P[EBS_KMS_KEY]), "stack"))))


def _add_rules(t: Template, cfg: Config, variant: str, P: dict[str, Parameter]) -> None:
    rules: dict[str, dict] = {}
    for arch in cfg.arches:
        asserts = []
        for k in BUILDER_MIN_VALUES[1:]:
            smaller = [v for v in BUILDER_MAX_VALUES if int(v) < int(k)]
            asserts.append({
                "Assert": {"Fn::Or": [
                    {"Fn::Not": [{"Fn::Equals": [{"Ref": min_param(arch)}, k]}]},
                    {"Fn::Not": [{"Fn::Contains": [smaller, {"Ref": max_param(arch)}]}]},
                ]},
                "AssertDescription": f"{arch} builders: the minimum must not exceed the maximum",
            })
        rules[f"Builder{arch_title(arch)}MinNotAboveMax"] = {"Assertions": asserts}
    reserved = reserved_users()
    rules["AdminUserNameNotReserved"] = {"Assertions": [{
        "Assert": {"Fn::Not": [{"Fn::Contains": [list(reserved), {"Ref": ADMIN_USER_NAME}]}]},
        "AssertDescription": "AdminUserName must not be one of the service users: " + ", ".join(reserved),
    }]}
    rules["RestoreSecretsNeedTheirKey"] = {"Assertions": [{
        "Assert": {"Fn::Or": [
            {"Fn::Equals": [{"Ref": RESTORE_CA_SECRET_ARN}, ""]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": RESTORE_KEY_ARN}, ""]}]},
        ]},
        "AssertDescription": "RestoreCaSecretArn needs RestoreKeyArn (the retained key that encrypts it)",
    }]}
    rules["RestoreBuilderCaNeedsCaAndKey"] = {"Assertions": [{
        "Assert": {"Fn::Or": [
            {"Fn::Equals": [{"Ref": RESTORE_BUILDER_CA_SECRET_ARN}, ""]},
            {"Fn::And": [{"Fn::Not": [{"Fn::Equals": [{"Ref": RESTORE_CA_SECRET_ARN}, ""]}]},
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": RESTORE_KEY_ARN}, ""]}]}]},
        ]},
        "AssertDescription": "RestoreBuilderCaSecretArn needs RestoreCaSecretArn and RestoreKeyArn of the same stack",
    }]}
    rules["DbStorageLimitAboveSize"] = {"Assertions": [{
        "Assert": {"Fn::Or": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": DB_ALLOCATED_STORAGE_GIB}, size]}]},
            {"Fn::Not": [{"Fn::Contains": [[m for m in DB_MAX_STORAGE_VALUES if int(m) <= int(size)],
                                           {"Ref": DB_MAX_ALLOCATED_STORAGE_GIB}]}]},
        ]},
        "AssertDescription": "DbMaxAllocatedStorageGiB must be larger than DbAllocatedStorageGiB",
    } for size in DB_STORAGE_VALUES if any(int(m) <= int(size) for m in DB_MAX_STORAGE_VALUES)]}
    if variant == "existing":
        rules["SubnetsInVpc"] = {"Assertions": [
            {"Assert": {"Fn::EachMemberEquals": [{"Fn::ValueOfAll": ["AWS::EC2::Subnet::Id", "VpcId"]},
                                                 {"Ref": VPC_ID}]},
             "AssertDescription": "All subnets must belong to the selected VPC"},
        ]}
    for name, body in rules.items():
        t.add_rule(name, body)
