"""Instance types and DB classes against cfn-lint's regional tables, for every linted region.

cfn-lint checks only literal launch-template types; it skips ASG overrides and parameter values
(calibration §2.2), so `kojistack lint`/`check` read its bundled tables themselves
(kojistack.checks.lint.regional_findings). Generation never reads package data (conventions R8).
"""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from kojistack.checks.lint import REGIONS, instance_types, regional_findings
from kojistack.cli import main
from kojistack.config import DEFAULT_INSTANCE_TYPES
from kojistack.template.parameters import DB_CLASSES, HUB_INSTANCE_TYPES


def test_every_type_and_class_exists_in_every_linted_region(templates):
    for key, t in templates.items():
        assert not regional_findings(t, REGIONS), key


def test_the_check_sees_overrides_and_parameter_values(default):
    found = instance_types(default)
    assert set(HUB_INSTANCE_TYPES) <= found
    assert {t for ts in DEFAULT_INSTANCE_TYPES.values() for t in ts} <= found
    assert set(DB_CLASSES) == set(default["Parameters"]["DbInstanceClass"]["AllowedValues"])


def test_a_type_missing_in_one_region_is_reported_for_that_region(tmp_path):
    # c7gn is not offered in ap-southeast-2 in cfn-lint 1.58's table (calibration §2.2)
    cfg = tmp_path / "kojistack.yaml"
    cfg.write_text("builders:\n  aarch64:\n    instance_types: [c7gn.2xlarge, c7g.2xlarge]\n")
    out = tmp_path / "t"
    assert CliRunner().invoke(main, ["generate", "--config", str(cfg), "--out", str(out)]).exit_code == 0
    t = json.loads((out / "kojistack.json").read_text())
    assert regional_findings(t) == ["region ap-southeast-2: instance type c7gn.2xlarge is not offered there"]
    res = CliRunner().invoke(main, ["lint", str(out / "kojistack.json")])
    assert res.exit_code == 1 and "c7gn.2xlarge is not offered there" in res.output


def _offered_everything_by_default(region: str) -> bool:
    from kojistack.checks.lint import _postgres_classes, _tables
    ec2, rds = _tables()
    if region not in ec2 or region not in rds:
        return False
    types = {"m7i.large"} | {t for ts in DEFAULT_INSTANCE_TYPES.values() for t in ts}
    return types <= set(ec2[region]["enum"]) and "db.t4g.small" in _postgres_classes(rds, region)


def test_supported_regions_are_where_cfn_lint_offers_the_defaults(default):
    """issue 11 item 10: the supported regions are stated, and true by cfn-lint's own tables."""
    from kojistack.checks.lint import _tables
    from kojistack.regions import SUPPORTED_REGIONS
    assert default["Parameters"]["HubInstanceType"]["Default"] == "m7i.large"
    assert default["Parameters"]["DbInstanceClass"]["Default"] == "db.t4g.small"
    ec2, _ = _tables()
    offered = sorted(r for r in ec2 if _offered_everything_by_default(r))
    assert sorted(SUPPORTED_REGIONS) == offered
    assert set(REGIONS) <= set(SUPPORTED_REGIONS), "kojistack lint lints supported regions only"


def test_the_readme_states_the_supported_regions():
    from kojistack.regions import SUPPORTED_REGIONS
    from support.paths import REPO

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("**Supported regions**"):]
    section = section[:section.index("\n\n")]
    stated = re.findall(r"\b[a-z]{2}-[a-z]+-\d\b", section)
    assert sorted(stated) == sorted(SUPPORTED_REGIONS)
