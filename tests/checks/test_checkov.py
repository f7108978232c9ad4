"""checkov (its own venv, --skip-download) passes both templates with only the reasoned skips."""

from __future__ import annotations

import json

import pytest

from kojistack.checks import all_checks, checkov

# Every skip the templates may carry: (check, resource) -> the decision recorded in its Metadata.
EXPECTED_SKIPS = {
    ("CKV_AWS_91", "AWS::ElasticLoadBalancingV2::LoadBalancer.PublicLoadBalancer"),   # TLS-only NLB logs
    ("CKV_AWS_91", "AWS::ElasticLoadBalancingV2::LoadBalancer.InternalLoadBalancer"),
    ("CKV_AWS_115", "AWS::Lambda::Function.AmiLookupFunction"),  # reserved concurrency breaks new accounts
    ("CKV_AWS_116", "AWS::Lambda::Function.AmiLookupFunction"),  # DLQ: cfnresponse reports every failure
    ("CKV_AWS_117", "AWS::Lambda::Function.AmiLookupFunction"),  # VPC: extra SG + ENIs slow deletion
    ("CKV_AWS_16", "AWS::RDS::DBInstance.Database"),             # encryption inherited on restore
    ("CKV_AWS_157", "AWS::RDS::DBInstance.Database"),            # Multi-AZ is a parameter (cost)
    ("CKV_AWS_111", "AWS::IAM::Policy.BuilderPolicy"),  # Session Manager's documented Resource "*" actions
}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, rendered):
    """checkov's counts for both freshly generated templates (one run)."""
    d = tmp_path_factory.mktemp("fresh")
    for name, text in rendered.items():
        (d / name).write_text(text)
    return d, checkov.run_checkov(checkov.find_checkov(), sorted(d.glob("*.json")))


def test_checkov_is_found():
    path = checkov.find_checkov()
    assert path is not None and path.exists(), "make .venv-checkov/bin/checkov"


def test_both_templates_pass_with_only_the_reasoned_skips(fresh):
    _, per_template = fresh
    assert [c.template for c in per_template] == ["kojistack-existing-vpc.json", "kojistack.json"]
    for counts in per_template:
        assert counts.failed == [], counts.failed
        assert counts.passed >= 100, counts.line()
        seen = {tuple(s.split(": ", 1)[0].split(" ", 1)) for s in counts.skipped}
        assert seen == EXPECTED_SKIPS, f"{counts.template}: skips changed: {sorted(seen ^ EXPECTED_SKIPS)}"
        assert all(len(s.split(": ", 1)[1]) > 30 for s in counts.skipped), counts.skipped


def test_the_check_reports_counts_per_template(fresh):
    result = checkov.check(fresh[0])
    assert result.ok, result.details
    assert result.summary.count("0 failed, 8 skipped") == 2, result.summary


def test_a_removed_skip_fails_the_check(tmp_path, templates):
    broken = json.loads(json.dumps(templates[("default", "new")]))
    del broken["Resources"]["PublicLoadBalancer"]["Metadata"]["checkov"]
    (tmp_path / "kojistack.json").write_text(json.dumps(broken))
    result = checkov.check(tmp_path)
    assert not result.ok
    assert any("FAILED CKV_AWS_91 AWS::ElasticLoadBalancingV2::LoadBalancer.PublicLoadBalancer" in d
               for d in result.details), result.details


def test_a_skip_without_a_reason_is_a_finding(templates):
    broken = json.loads(json.dumps(templates[("default", "existing")]))
    assert checkov.uncommented_skips(broken) == []
    for skip in broken["Resources"]["Database"]["Metadata"]["checkov"]["skip"]:
        skip["comment"] = " "
    assert checkov.uncommented_skips(broken) == [
        "Database: checkov skip CKV_AWS_16 has no comment saying why",
        "Database: checkov skip CKV_AWS_157 has no comment saying why"]


def test_no_templates_is_a_failure(tmp_path):
    assert not checkov.check(tmp_path).ok


def test_kojistack_check_runs_checkov():
    assert checkov.check in all_checks()
