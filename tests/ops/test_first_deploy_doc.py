"""docs/first-deploy.md stays true: the log lines it tells an operator to look for are the ones the
scripts print, and the names it quotes (logical ids, policy statement, parameter, health check)
are the generated template's."""

import re

from kojistack import ids, names
from support.paths import REPO

DOC = (REPO / "docs" / "first-deploy.md").read_text()
SCRIPTS = "\n".join(p.read_text() for p in [*(REPO / "cloud-init").rglob("*.sh"),
                                             *(REPO / "cloud-init").glob("payload/*/bin/*")])


def test_the_log_lines_it_names_are_printed_by_the_scripts():
    assert "kojistack-report: no signal: BuilderX8664Group is CREATE_COMPLETE" in DOC
    assert 'log "no signal: $KOJISTACK_SIGNAL_RESOURCE is $s"' in SCRIPTS
    for phrase in ("signal refused", "IMDS does not answer", "restorecon -R"):
        assert phrase in DOC and phrase in SCRIPTS, phrase


def test_the_names_it_quotes_are_the_templates(default):
    resources = default["Resources"]
    for lid in re.findall(r"LogicalResourceId=='(\w+)'", DOC) + ["BuilderX8664Group"]:
        assert lid in resources, lid
    assert ids.builder_group("x86_64") == "BuilderX8664Group" and "BuilderX8664MinSize" in default["Parameters"]
    policy = resources[ids.BUILDER_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    assert "TagOnlyItselfWithItsKeyHash" in {s.get("Sid") for s in policy if isinstance(s, dict)}
    assert resources[ids.HUB_GROUP]["Properties"]["HealthCheckType"] == "EC2" and "prints `EC2`" in DOC
    assert names.TAG_CSR_SHA256 in DOC and "$KOJISTACK_TAG_CSR_SHA256" in (
        REPO / "cloud-init" / "payload" / "builder" / "bin" / "kojistack-bootstrap").read_text()
