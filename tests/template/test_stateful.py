"""Stateful resources are never lost by accident: explicit Deletion/UpdateReplace policies, and no
build-time option changes a logical ID or a replacement-causing property of the database, the file
system, the secrets, the key, the private subnets or the mount targets in them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from kojistack import ids
from kojistack.config import load_config
from kojistack.template.compose import render_all
from kojistack.template.secrets import PLACEHOLDER

# resource type -> the (DeletionPolicy, UpdateReplacePolicy) it must carry
POLICY_BY_TYPE = {
    "AWS::KMS::Key": ("Retain", "Retain"),
    "AWS::RDS::DBInstance": ("Snapshot", "Snapshot"),
    "AWS::EFS::FileSystem": ("Retain", "Retain"),
    "AWS::SecretsManager::Secret": ("Retain", "Retain"),
    "AWS::Logs::LogGroup": ("Delete", "Delete"),  # explicit: logs of a deleted stack are not kept
}
STATEFUL_TYPES = set(POLICY_BY_TYPE) | {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::Backup::BackupVault",
                                        "AWS::RDS::DBCluster", "AWS::EC2::Volume", "AWS::SQS::Queue"}
HUB_WRITTEN = (ids.CA_SECRET, ids.BUILDER_CA_SECRET, ids.ADMIN_SECRET)

# Every build-time option, each away from the default, and all at once.
OPTION_CHANGES = [
    {"arches": ["x86_64"]}, {"arches": ["aarch64"]}, {"availability_zones": 3}, {"spot": False},
    {"distro": "el10"}, {"distro": "fedora"}, {"domain": "koji.example.com"}, {"nat": "per-az"},
    {"availability_zones": 3, "nat": "per-az", "spot": False, "arches": ["aarch64"], "distro": "fedora",
     "domain": "koji.example.org"},
]
# Replacement-causing properties (CloudFormation resource reference, "Update requires: Replacement").
REPLACING = {
    "AWS::RDS::DBInstance": ("DBInstanceIdentifier", "DBName", "DBSnapshotIdentifier", "KmsKeyId",
                             "StorageEncrypted", "MasterUsername", "Engine", "DBClusterIdentifier",
                             "AvailabilityZone", "CharacterSetName", "DBSubnetGroupName"),
    "AWS::EFS::FileSystem": ("Encrypted", "KmsKeyId", "PerformanceMode", "AvailabilityZoneName"),
    "AWS::SecretsManager::Secret": ("Name",),
    "AWS::KMS::Key": ("KeySpec", "MultiRegion", "Origin"),
    "AWS::EC2::Subnet": ("AvailabilityZone", "AvailabilityZoneId", "CidrBlock", "VpcId", "Ipv6Native"),
    "AWS::EFS::MountTarget": ("FileSystemId", "SubnetId", "IpAddress"),
}


def _kept(template: dict) -> dict[str, dict]:
    """The resources whose replacement loses data or cuts the hub off it, by logical ID."""
    res = template["Resources"]
    keep = set(ids.STATEFUL) | {ids.private_subnet(i) for i in range(2)} | {ids.mount_target(i) for i in range(2)}
    return {k: res[k] for k in sorted(keep) if k in res}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "Ref" in node:
            yield node["Ref"]
        for key in ("Fn::If", "Condition"):
            if key in node and isinstance(node[key], (list, str)):
                yield from ([node[key][0]] if isinstance(node[key], list) else [node[key]])
        for v in node.values():
            yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _render(changes: dict) -> dict[str, dict]:
    return {n: json.loads(x) for n, x in render_all(load_config(None, changes)).items()}


@pytest.fixture(scope="module")
def baseline() -> dict[str, dict]:
    return _render({})


def test_every_stateful_resource_has_explicit_policies(templates):
    for name, t in templates.items():
        for logical, r in t["Resources"].items():
            if r["Type"] not in STATEFUL_TYPES:
                continue
            assert r["Type"] in POLICY_BY_TYPE, f"{name}: new stateful type {r['Type']} ({logical}): decide its policy"
            got = (r.get("DeletionPolicy"), r.get("UpdateReplacePolicy"))
            assert got == POLICY_BY_TYPE[r["Type"]], f"{name}: {logical} has {got}"


def test_the_stateful_ids_are_all_there(templates):
    for name, t in templates.items():
        kept = _kept(t)
        assert set(ids.STATEFUL) <= kept.keys(), name
        if name == "kojistack.json":
            assert {"PrivateSubnet1", "PrivateSubnet2", "FileSystemMountTarget1"} <= kept.keys()


def test_database_deletion_protection_is_on_by_default(templates):
    for t in templates.values():
        db = t["Resources"][ids.DATABASE]["Properties"]
        assert db["DeletionProtection"] == {"Ref": "DbDeletionProtection"}
        assert t["Parameters"]["DbDeletionProtection"]["Default"] == "true"
        assert db["BackupRetentionPeriod"] == {"Ref": "DbBackupRetentionDays"}


def test_hub_written_secrets_hold_a_constant_placeholder(templates):
    for t in templates.values():
        for logical in HUB_WRITTEN:
            props = t["Resources"][logical]["Properties"]
            assert props["SecretString"] == PLACEHOLDER and "GenerateSecretString" not in props, logical
    assert json.loads(PLACEHOLDER)["placeholder"] is True


def _shape(node: dict) -> dict:
    """A parameter or condition without its console Description (which may name the AZ count)."""
    return {k: v for k, v in node.items() if k != "Description"} if isinstance(node, dict) else node


def replacing_changes(base: dict, changed: dict) -> list[str]:
    """What in `changed` would replace or remove a kept resource of `base` on a stack update."""
    found = []
    before, after = _kept(base), _kept(changed)
    found += [f"{k} disappears" for k in sorted(before.keys() - after.keys())]
    for logical, old in before.items():
        new = after.get(logical)
        if new is None:
            continue
        if new["Type"] != old["Type"]:
            found.append(f"{logical} changes type")
        found += [f"{logical}.{p}" for p in REPLACING.get(old["Type"], ())
                  if new["Properties"].get(p) != old["Properties"].get(p)]
        found += [f"{logical}.{p}" for p in ("DeletionPolicy", "UpdateReplacePolicy", "Condition")
                  if new.get(p) != old.get(p)]
        for ref in sorted(set(_refs(old))):  # whatever it reads (parameters, conditions) must not change
            for section in ("Parameters", "Conditions"):
                if ref in base.get(section, {}) and \
                        _shape(changed.get(section, {}).get(ref)) != _shape(base[section][ref]):
                    found.append(f"{logical} reads {section}.{ref}, which changes")
    return found


@pytest.mark.parametrize("changes", OPTION_CHANGES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_no_build_time_option_replaces_stateful_resources(baseline, changes):
    changed = _render(changes)
    for name in baseline:
        assert replacing_changes(baseline[name], changed[name]) == [], name


def test_the_comparison_notices_replacing_changes(baseline):
    t = json.loads(json.dumps(baseline["kojistack.json"]))
    t["Resources"]["PrivateSubnet1"]["Properties"]["CidrBlock"] = "10.80.224.0/19"
    t["Resources"][ids.DATABASE]["DeletionPolicy"] = "Delete"
    t["Parameters"]["DbSnapshotIdentifier"]["Default"] = "snap-1"
    del t["Resources"][ids.WEB_SECRET]
    assert replacing_changes(baseline["kojistack.json"], t) == [
        "WebSecret disappears", "Database.DeletionPolicy",
        "Database reads Parameters.DbSnapshotIdentifier, which changes", "PrivateSubnet1.CidrBlock"]
