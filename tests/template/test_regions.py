"""Instance types and DB classes against cfn-lint's regional tables, for every linted region.

cfn-lint checks only literal launch-template types; it skips ASG overrides and parameter values
(calibration §2.2), so this test reads its bundled tables itself. Test only: generation never
reads package data (conventions R8).
"""

from __future__ import annotations

import json
from pathlib import Path

import cfnlint
import pytest

from kojistack.checks.lint import REGIONS
from kojistack.config import DEFAULT_INSTANCE_TYPES
from kojistack.template.parameters import DB_CLASSES, HUB_INSTANCE_TYPES

from .conftest import resources

EXT = Path(cfnlint.__file__).parent / "data" / "schemas" / "extensions"
EC2_TYPES = json.loads((EXT / "aws_ec2_instance" / "instancetype_enum.json").read_text())


def postgres_classes(region: str) -> set[str]:
    table = json.loads((EXT / "aws_rds_dbinstance" / "dbinstanceclass_enum.json").read_text())[region]
    for rule in table["allOf"]:
        props = rule["if"]["properties"]
        if props.get("Engine", {}).get("const") == "postgres" and props.get("LicenseModel") is False:
            return set(rule["then"]["properties"]["DBInstanceClass"]["enum"])
    raise AssertionError(f"no postgres table for {region}")


@pytest.mark.parametrize("region", REGIONS)
def test_every_instance_type_exists_in_every_region(templates, region):
    known = set(EC2_TYPES[region]["enum"])
    wanted = set(HUB_INSTANCE_TYPES) | {t for ts in DEFAULT_INSTANCE_TYPES.values() for t in ts}
    for t in templates.values():
        for g in resources(t, "AWS::AutoScaling::AutoScalingGroup").values():
            mip = g["Properties"].get("MixedInstancesPolicy")
            if mip:
                wanted |= {o["InstanceType"] for o in mip["LaunchTemplate"]["Overrides"]}
        wanted |= set(t["Parameters"]["HubInstanceType"]["AllowedValues"])
    assert not wanted - known, f"missing in {region}: {sorted(wanted - known)}"


@pytest.mark.parametrize("region", REGIONS)
def test_every_db_class_exists_for_postgres_in_every_region(region):
    missing = set(DB_CLASSES) - postgres_classes(region)
    assert not missing, f"missing in {region}: {sorted(missing)}"
