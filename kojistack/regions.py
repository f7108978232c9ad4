"""The regions a default kojistack stack can be created in.

A region is supported when everything the defaults launch is offered there: the default hub type
(`HubInstanceType` m7i.large), the default database class (`DbInstanceClass` db.t4g.small, for
PostgreSQL) and every default builder type of both arches (an Auto Scaling group refuses an override
type its region does not offer). The list is checked against cfn-lint's own regional tables by
tests/template/test_regions.py (generation never reads them: conventions R8) and stated in README.md.
A config with other instance types may work in more regions (kojistack.checks.lint.regional_findings
over that region tells).
ap-east-1 (Hong Kong) is an opt-in region: enable it in the account first.
"""

SUPPORTED_REGIONS = (
    "ap-east-1", "ap-northeast-1", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "sa-east-1",
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)
