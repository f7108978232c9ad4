"""Fine-grained assertions on each part of the generated templates."""

from __future__ import annotations

import json
import re

import pytest

from kojistack import ids, names
from kojistack.template import database, parameters
from kojistack.template.secrets import PLACEHOLDER

from .conftest import resources

ALL = pytest.mark.parametrize("key", [(c, v) for c in ("default", "x86-only-3az-per-az-nat",
                                                        "aarch64-no-spot-fedora", "el10-domain")
                                      for v in ("new", "existing")], ids=lambda k: "-".join(k))


@ALL
def test_imdsv2_required_on_every_launch_template(templates, key):
    lts = resources(templates[key], "AWS::EC2::LaunchTemplate")
    assert len(lts) >= 2
    for name, lt in lts.items():
        md = lt["Properties"]["LaunchTemplateData"]["MetadataOptions"]
        assert md["HttpTokens"] == "required", name
        assert md["HttpPutResponseHopLimit"] == 1, name


@ALL
def test_every_store_is_encrypted(templates, key):
    t = templates[key]
    for name, lt in resources(t, "AWS::EC2::LaunchTemplate").items():
        for bdm in lt["Properties"]["LaunchTemplateData"]["BlockDeviceMappings"]:
            assert bdm["Ebs"]["Encrypted"] is True and bdm["Ebs"]["VolumeType"] == "gp3", name
    key_arn = {"Fn::GetAtt": [ids.STACK_KEY, "Arn"]}
    db = t["Resources"][ids.DATABASE]["Properties"]
    assert db["StorageEncrypted"] == {"Fn::If": [parameters.HAS_DB_SNAPSHOT, {"Ref": "AWS::NoValue"}, True]}
    assert db["KmsKeyId"]["Fn::If"][2] == key_arn
    fs = t["Resources"][ids.FILE_SYSTEM]["Properties"]
    assert fs["Encrypted"] is True and fs["KmsKeyId"] == key_arn
    for name, s in resources(t, "AWS::SecretsManager::Secret").items():
        assert s["Properties"]["KmsKeyId"] == key_arn, name
    for name, lg in resources(t, "AWS::Logs::LogGroup").items():
        assert lg["Properties"]["KmsKeyId"] == key_arn, name


STATEFUL_TYPES = {"AWS::KMS::Key", "AWS::RDS::DBInstance", "AWS::EFS::FileSystem",
                  "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"}


@ALL
def test_every_stateful_resource_has_both_policies(templates, key):
    for name, r in templates[key]["Resources"].items():
        if r["Type"] in STATEFUL_TYPES:
            assert r.get("DeletionPolicy") and r.get("UpdateReplacePolicy"), name
            if r["Type"] == "AWS::RDS::DBInstance":
                assert (r["DeletionPolicy"], r["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
            elif r["Type"] == "AWS::Logs::LogGroup":
                assert r["DeletionPolicy"] == "Delete"  # disposable, said explicitly
            else:
                assert (r["DeletionPolicy"], r["UpdateReplacePolicy"]) == ("Retain", "Retain"), name


def test_stateful_logical_ids_are_stable(default):
    assert set(ids.STATEFUL) <= default["Resources"].keys()
    assert default["Resources"][ids.STACK_KEY]["Properties"]["EnableKeyRotation"] is True


def test_hub_written_secrets_hold_the_constant_placeholder(default):
    for name in (ids.CA_SECRET, ids.BUILDER_CA_SECRET, ids.ADMIN_SECRET):
        assert default["Resources"][name]["Properties"]["SecretString"] == PLACEHOLDER
    for name in (ids.DB_MASTER_SECRET, ids.KOJI_DB_SECRET, ids.WEB_SECRET):
        props = default["Resources"][name]["Properties"]
        assert "GenerateSecretString" in props and "Name" not in props


def test_hub_group_hook_health_check_and_update_policy(default):
    g = default["Resources"][ids.HUB_GROUP]
    p = g["Properties"]
    assert (p["MinSize"], p["MaxSize"], p["DesiredCapacity"]) == ("1", "1", "1")
    assert p["HealthCheckType"] == "EC2" and p["HealthCheckGracePeriod"] == 300
    (hook,) = p["LifecycleHookSpecificationList"]
    assert hook["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING"
    assert hook["DefaultResult"] == "ABANDON" and hook["LifecycleHookName"] == names.HUB_LAUNCH_HOOK
    timeout = g["CreationPolicy"]["ResourceSignal"]["Timeout"]
    minutes = int(re.fullmatch(r"PT(\d+)M", timeout).group(1))
    assert hook["HeartbeatTimeout"] >= minutes * 60
    ru = g["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert ru["MinInstancesInService"] == 0 and ru["MaxBatchSize"] == 1 and ru["WaitOnResourceSignals"]
    assert ru["PauseTime"] == timeout
    assert set(ru["SuspendProcesses"]) == {"HealthCheck", "ReplaceUnhealthy", "AZRebalance",
                                           "AlarmNotification", "ScheduledActions"}
    assert "AutoScalingReplacingUpdate" not in g["UpdatePolicy"]
    assert len(p["TargetGroupARNs"]) == 2
    assert p["AutoScalingGroupName"] == {"Fn::Sub": names.HUB_GROUP_NAME}


@ALL
def test_builder_groups_belong_to_the_controller(templates, key):
    t = templates[key]
    groups = {k: r for k, r in resources(t, "AWS::AutoScaling::AutoScalingGroup").items()
              if k not in (ids.HUB_GROUP, ids.LIGHT_GROUP)}
    assert groups
    for name, g in groups.items():
        p = g["Properties"]
        assert "DesiredCapacity" not in p and "UpdatePolicy" not in g, name
        assert p["NewInstancesProtectedFromScaleIn"] is True
        assert p["MetricsCollection"] == [{"Granularity": "1Minute"}]
        hooks = {h["LifecycleTransition"]: h for h in p["LifecycleHookSpecificationList"]}
        assert set(hooks) == {"autoscaling:EC2_INSTANCE_LAUNCHING", "autoscaling:EC2_INSTANCE_TERMINATING"}
        dist = p["MixedInstancesPolicy"]["InstancesDistribution"]
        assert dist["SpotAllocationStrategy"] == "price-capacity-optimized"
        assert g["CreationPolicy"]["ResourceSignal"]["Count"] == p["MinSize"]
        assert ids.HUB_GROUP in g["DependsOn"]


@ALL
def test_the_light_hosts_group_belongs_to_the_controller_and_boots_the_builder_machine(templates, key):
    """Light hosts (issue 14 item 1): min 0, max LightHostsMax, no desired (the controller's), the
    builders' hooks, on-demand only, IMDSv2, encrypted root, the builder role and security group;
    Graviton when the stack has an aarch64 image, and the light role in its stack.env."""
    from kojistack.template.light import LIGHT_HOST_TYPE
    t = templates[key]
    g = t["Resources"][ids.LIGHT_GROUP]
    p = g["Properties"]
    assert (p["MinSize"], p["MaxSize"]) == ("0", {"Ref": "LightHostsMax"})
    assert "DesiredCapacity" not in p and "UpdatePolicy" not in g and "MixedInstancesPolicy" not in p
    assert p["AutoScalingGroupName"] == {"Fn::Sub": names.LIGHT_GROUP_NAME}
    assert p["NewInstancesProtectedFromScaleIn"] is True and ids.HUB_GROUP in g["DependsOn"]
    hooks = {h["LifecycleHookName"]: h for h in p["LifecycleHookSpecificationList"]}
    assert set(hooks) == {names.BUILDER_LAUNCH_HOOK, names.BUILDER_TERMINATE_HOOK}
    lt = t["Resources"][ids.LIGHT_LAUNCH_TEMPLATE]
    assert p["LaunchTemplate"]["LaunchTemplateId"] == {"Ref": ids.LIGHT_LAUNCH_TEMPLATE}
    data = lt["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (vol,) = data["BlockDeviceMappings"]
    assert vol["Ebs"]["Encrypted"] is True and vol["Ebs"]["VolumeSize"] == 20
    arch = "aarch64" if "Aarch64" in json.dumps(data["ImageId"]) else "x86_64"
    assert data["InstanceType"] == LIGHT_HOST_TYPE[arch]
    assert arch == ("aarch64" if any(k.startswith("BuilderAarch64") for k in t["Resources"]) else "x86_64")
    builder_lt = next(r for k, r in t["Resources"].items() if k.startswith("Builder") and k.endswith("LaunchTemplate"))
    bdata = builder_lt["Properties"]["LaunchTemplateData"]
    assert data["IamInstanceProfile"] == bdata["IamInstanceProfile"]
    assert data["SecurityGroupIds"] == bdata["SecurityGroupIds"]
    text = json.dumps(data["UserData"])
    assert "KOJISTACK_ROLE=light" in text.replace("'", "") or "ROLE='light'" in text, text[:2000]


def test_spot_off_means_all_on_demand(templates):
    t = templates[("aarch64-no-spot-fedora", "new")]
    (g,) = [r for k, r in resources(t, "AWS::AutoScaling::AutoScalingGroup").items()
            if k not in (ids.HUB_GROUP, ids.LIGHT_GROUP)]
    assert g["Properties"]["MixedInstancesPolicy"]["InstancesDistribution"][
        "OnDemandPercentageAboveBaseCapacity"] == 100
    assert "BuilderOnDemandPercentage" not in t["Parameters"]


def test_database_pin_ties_version_and_family(default):
    major, family = database.POSTGRES
    assert re.fullmatch(r"[0-9]+", major), "the major only: RDS picks (and upgrades) the minor"
    assert family == "postgres" + major
    props = default["Resources"][ids.DATABASE]["Properties"]
    # restoring, the instance keeps the snapshot's version (no EngineVersion to conflict with it)
    assert props["EngineVersion"] == {"Fn::If": [parameters.HAS_DB_SNAPSHOT, {"Ref": "AWS::NoValue"}, major]}
    assert default["Resources"][ids.DB_PARAMETER_GROUP]["Properties"]["Family"] == family
    assert default["Resources"][ids.DB_PARAMETER_GROUP]["Properties"]["Parameters"] == {"rds.force_ssl": "1"}
    assert props["AutoMinorVersionUpgrade"] is True and props["PubliclyAccessible"] is False
    assert props["EngineLifecycleSupport"]["Fn::If"][2] == "open-source-rds-extended-support-disabled"
    assert props["MaxAllocatedStorage"] == {"Ref": "DbMaxAllocatedStorageGiB"}
    assert "db.t4g.micro" not in parameters.DB_CLASSES and default["Parameters"]["DbInstanceClass"][
        "Default"] == "db.t4g.small"
    assert "ManageMasterUserPassword" not in props
    assert "resolve:secretsmanager" in props["MasterUserPassword"]["Fn::Sub"]


def test_file_system_and_mount_targets(templates):
    for cfg_name, n in (("default", 2), ("x86-only-3az-per-az-nat", 3)):
        t = templates[(cfg_name, "new")]
        fs = t["Resources"][ids.FILE_SYSTEM]["Properties"]
        assert fs["ThroughputMode"] == {"Ref": "FileSystemThroughputMode"}
        assert fs["BackupPolicy"] == {"Status": "ENABLED"}
        assert {"TransitionToIA": "AFTER_30_DAYS"} in fs["LifecyclePolicies"]
        assert len(resources(t, "AWS::EFS::MountTarget")) == n


def test_load_balancers_pass_tls_through_without_client_ip(default):
    lbs = resources(default, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert {lb["Properties"]["Scheme"] for lb in lbs.values()} == {"internet-facing", "internal"}
    for lb in lbs.values():
        assert lb["Properties"]["Type"] == "network" and lb["Properties"]["SecurityGroups"]
    for tg in resources(default, "AWS::ElasticLoadBalancingV2::TargetGroup").values():
        attrs = {a["Key"]: a["Value"] for a in tg["Properties"]["TargetGroupAttributes"]}
        assert tg["Properties"]["Protocol"] == "TCP" and attrs["preserve_client_ip.enabled"] == "false"
    for ln in resources(default, "AWS::ElasticLoadBalancingV2::Listener").values():
        assert ln["Properties"]["Protocol"] == "TCP" and ln["Properties"]["Port"] == 443


def test_security_groups_least_access(default):
    ingress = resources(default, "AWS::EC2::SecurityGroupIngress")
    pairs = {(r["Properties"]["GroupId"]["Fn::GetAtt"][0],
              (r["Properties"].get("SourceSecurityGroupId") or {"Fn::GetAtt": ["cidr"]})["Fn::GetAtt"][0],
              r["Properties"]["FromPort"]) for r in ingress.values()}
    assert pairs == {
        (ids.PUBLIC_NLB_SG, "cidr", 443), (ids.INTERNAL_NLB_SG, ids.HUB_SG, 443),
        (ids.INTERNAL_NLB_SG, ids.BUILDER_SG, 443), (ids.HUB_SG, ids.PUBLIC_NLB_SG, 443),
        (ids.HUB_SG, ids.INTERNAL_NLB_SG, 443), (ids.DB_SG, ids.HUB_SG, 5432), (ids.EFS_SG, ids.HUB_SG, 2049),
    }
    for name, sg in resources(default, "AWS::EC2::SecurityGroup").items():
        assert "SecurityGroupIngress" not in sg["Properties"], name  # nothing inline, builders none at all
        assert sg["Properties"]["SecurityGroupEgress"], name  # explicit egress replaces allow-all
        for rule in sg["Properties"]["SecurityGroupEgress"]:
            assert rule["Description"], name
            assert rule.get("IpProtocol") != "-1", name
    for r in ingress.values():
        assert r["Properties"]["Description"]


def test_new_vpc_has_dns_and_s3_endpoint_and_nat_modes(templates):
    t = templates[("default", "new")]
    vpc = t["Resources"][ids.VPC]["Properties"]
    assert vpc["EnableDnsSupport"] is True and vpc["EnableDnsHostnames"] is True
    assert len(resources(t, "AWS::EC2::NatGateway")) == 1
    assert resources(t, "AWS::EC2::VPCEndpoint")[ids.S3_ENDPOINT]["Properties"]["VpcEndpointType"] == "Gateway"
    assert len(resources(templates[("x86-only-3az-per-az-nat", "new")], "AWS::EC2::NatGateway")) == 3


def test_existing_vpc_takes_exactly_the_configured_subnets(templates):
    for cfg_name, n in (("default", 2), ("x86-only-3az-per-az-nat", 3)):
        t = templates[(cfg_name, "existing")]
        assert "AWS::EC2::VPC" not in {r["Type"] for r in t["Resources"].values()}
        assert t["Parameters"]["PrivateSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
        assert f"Exactly {n} private subnets" in t["Parameters"]["PrivateSubnetIds"]["Description"]
        subnets = t["Resources"][ids.HUB_GROUP]["Properties"]["VPCZoneIdentifier"]
        assert subnets == [{"Fn::Select": [i, {"Ref": "PrivateSubnetIds"}]} for i in range(n)]
        assert "SubnetsInVpc" in t["Rules"]


@ALL
def test_every_parameter_is_grouped_labelled_and_constrained(templates, key):
    t = templates[key]
    iface = t["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [p for g in iface["ParameterGroups"] for p in g["Parameters"]["Parameters"]] \
        if isinstance(iface["ParameterGroups"][0]["Parameters"], dict) else \
        [p for g in iface["ParameterGroups"] for p in g["Parameters"]]
    assert sorted(grouped) == sorted(t["Parameters"])
    for name, p in t["Parameters"].items():
        assert p.get("Description"), name
        assert name in iface["ParameterLabels"], name
        aws_type = p["Type"].startswith(("AWS::", "List<AWS::"))
        constrained = aws_type or "AllowedValues" in p or "AllowedPattern" in p or (
            p["Type"] == "Number" and "MinValue" in p)
        assert constrained, name
        if not aws_type:
            assert p.get("ConstraintDescription"), name
        if p["Type"] == "String" and p.get("Default") == "" and "AllowedPattern" in p:
            assert p["AllowedPattern"].endswith(")?$"), name  # optional overrides admit empty


def test_rules_enumerate_min_not_above_max(default):
    rule = default["Rules"]["BuilderX8664MinNotAboveMax"]
    assert len(rule["Assertions"]) == len(parameters.BUILDER_MIN_VALUES) - 1
    for a in rule["Assertions"]:
        k = a["Assert"]["Fn::Or"][0]["Fn::Not"][0]["Fn::Equals"][1]
        smaller = a["Assert"]["Fn::Or"][1]["Fn::Not"][0]["Fn::Contains"][0]
        assert smaller == [v for v in parameters.BUILDER_MAX_VALUES if int(v) < int(k)]


def test_outputs_tell_where_everything_is(templates):
    t = templates[("el10-domain", "new")]
    outs = t["Outputs"]
    for name in (ids.OUT_HUB_URL, ids.OUT_WEB_URL, ids.OUT_FILES_URL, ids.OUT_ADMIN_SECRET, ids.OUT_STACK_KEY,
                 ids.OUT_CLIENT_COMMAND):
        assert outs[name]["Description"]
    assert outs[ids.OUT_HUB_URL]["Value"]["Fn::If"][0] == parameters.HAS_DOMAIN
    assert t["Parameters"]["CustomDomain"]["Default"] == "koji.example.com"
    assert "kojistack client-config" in outs[ids.OUT_CLIENT_COMMAND]["Value"]["Fn::Sub"]


def test_ami_lookup_is_a_custom_resource_switched_off_by_override(default):
    for arch in ("x86_64", "aarch64"):
        cr = default["Resources"][ids.ami(arch)]
        assert cr["Type"] == "Custom::AmiLookup" and cr["Condition"] == parameters.lookup_image(arch)
        assert cr["Properties"]["ServiceTimeout"] == 300
    image = default["Resources"][ids.HUB_LAUNCH_TEMPLATE]["Properties"]["LaunchTemplateData"]["ImageId"]
    assert image == {"Fn::If": [parameters.has_image("x86_64"), {"Ref": "ImageIdX8664"},
                                {"Fn::GetAtt": [ids.ami("x86_64"), "ImageId"]}]}
    device = default["Resources"][ids.HUB_LAUNCH_TEMPLATE]["Properties"]["LaunchTemplateData"][
        "BlockDeviceMappings"][0]["DeviceName"]
    assert device["Fn::If"][2] == {"Fn::GetAtt": [ids.ami("x86_64"), "RootDeviceName"]}
    assert not any(re.search(r"\bami-[0-9a-f]{8,17}\b", str(r)) for r in default["Resources"].values())


def _cfn_lint_postgres_versions(table: str) -> set[str]:
    import json
    from importlib import resources as pkg

    data = json.loads(pkg.files("cfnlint.data.schemas.extensions.aws_rds_dbinstance").joinpath(table).read_text())
    for rule in data["allOf"]:
        engine = rule["if"]["properties"].get("Engine")
        if isinstance(engine, dict) and engine.get("const") == "postgres":
            then = rule["then"].get("properties", {}) if isinstance(rule.get("then"), dict) else {}
            where = then if isinstance(then.get("EngineVersion"), dict) else rule["if"]["properties"]
            return set(where["EngineVersion"]["enum"])
    raise AssertionError(f"no postgres versions in cfn-lint's {table}")


def test_the_pinned_major_still_has_minors_rds_offers():
    """What W3691 would say for a pinned minor, for the major: RDS must still create some minor of it
    (cfn-lint's tables, from describe-db-engine-versions). Bump the major when this fails."""
    major, _ = database.POSTGRES
    valid = _cfn_lint_postgres_versions("engine_version.json")
    deprecated = _cfn_lint_postgres_versions("engine_version_deprecated.json")
    assert major in valid, f"CloudFormation does not accept EngineVersion {major!r}"
    current = sorted(v for v in valid - deprecated if v.startswith(major + "."))
    assert current, f"RDS offers no minor of PostgreSQL {major} for new instances any more"
