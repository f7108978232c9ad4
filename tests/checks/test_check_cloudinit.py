"""kojistack/checks/cloudinit.py: cloud-init schema and shellcheck, both run for real."""

from __future__ import annotations

import json
from pathlib import Path

from kojistack.checks import all_checks, cloudinit
from kojistack.config import Config
from kojistack.template.hub import hub_user_data_text
from kojistack.template.payload import hub_payload


def template_with(user_data: str) -> dict:
    return {"Resources": {"HubLaunchTemplate": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
        "LaunchTemplateData": {"UserData": {"Fn::Base64": {"Fn::Sub": [user_data, {"X": "y"}]}}}}}}}


def write(tmp_path: Path, user_data: str) -> Path:
    (tmp_path / "kojistack.json").write_text(json.dumps(template_with(user_data)))
    return tmp_path


def test_hub_user_data_and_every_script_pass(tmp_path: Path):
    result = cloudinit.check(write(tmp_path, hub_user_data_text(Config(), hub_payload())))
    assert result.ok, "\n".join(result.details)
    assert result.summary.startswith("1 user data (cloud-init schema), ")


def test_an_unknown_cloud_config_key_fails(tmp_path: Path):
    result = cloudinit.check(write(tmp_path, "#cloud-config\nwrite_file:\n- path: /x\n"))
    assert not result.ok
    assert any("write_file" in line for line in result.details)


def test_no_user_data_is_a_failure(tmp_path: Path):
    (tmp_path / "kojistack.json").write_text(json.dumps({"Resources": {}}))
    assert not cloudinit.check(tmp_path).ok


def test_scripts_are_found_by_suffix_and_shebang():
    names = {p.name for p in cloudinit.shell_scripts()}
    assert {"fetch-payload.sh", "report.sh", "common.sh", "kojistack-bootstrap", "kojistack-ready",
            "kojistack-db", "kojistack-pki", "kojistack-smoke", "kojistack-prune"} <= names


def test_shellcheck_findings_are_reported(tmp_path: Path):
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/bash\necho $1\n")
    findings = cloudinit.shellcheck_findings([bad])
    assert findings and "SC2086" in findings[0]


def test_kojistack_check_runs_it():
    assert cloudinit.check in all_checks()


def test_a_bad_nested_key_fails_in_cloud_init_schema(tmp_path: Path):
    result = cloudinit.check(write(tmp_path, "#cloud-config\nwrite_files:\n- path: /x\n  bogus: 1\n"))
    assert not result.ok
    assert any("'bogus' was unexpected" in line for line in result.details)


def test_cloud_init_schema_runs_once_per_distinct_user_data(tmp_path: Path, monkeypatch):
    """Two templates with the same user data, one with another: two `cloud-init schema` runs (issue
    14 item 8); a finding is still reported at every place the text occurs."""
    good = hub_user_data_text(Config(), hub_payload())
    bad = "#cloud-config\nwrite_file:\n- path: /x\n"
    for name, text in (("a.json", good), ("b.json", good), ("c.json", bad), ("d.json", bad)):
        (tmp_path / name).write_text(json.dumps(template_with(text)))
    runs = []
    real = cloudinit.subprocess.run

    def counting(args, *a, **kw):  # the real cloud-init, counted
        if args[:2] == ["cloud-init", "schema"]:
            runs.append(args)
        return real(args, *a, **kw)
    monkeypatch.setattr(cloudinit.subprocess, "run", counting)
    count, findings = cloudinit.schema_findings(tmp_path)
    assert count == 4 and len(runs) == 2
    assert [f.split()[0] for f in findings if "write_file" in f] == ["c.json", "d.json"]
