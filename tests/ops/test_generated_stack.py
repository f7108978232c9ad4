"""The generated template, after the documented moto transform (moto_transform.py: six workarounds, each
naming its moto gap), deployed with `kojistack deploy` through an S3 bucket to a moto server, then
operated with status, client-config and user add. The real template is never sent unmodified."""

from __future__ import annotations

import json

import koji
import pytest

from support.paths import REPO

from .conftest import moto_image
from .moto_transform import for_moto
from .pki import credentials


@pytest.fixture()
def generated(aws, tmp_path):
    template = json.loads((REPO / "templates" / "kojistack.json").read_text())
    secrets = aws("secretsmanager")
    arns = {}
    for name, res in template["Resources"].items():
        if res["Type"] == "AWS::SecretsManager::Secret":
            value = credentials() if name == "AdminCredentialsSecret" else {"placeholder": True}
            arns[name] = secrets.create_secret(Name=f"koji-{name}", SecretString=json.dumps(value))["ARN"]
    ami = moto_image(aws)
    params = {"AccessCidr": "203.0.113.0/24", "ImageIdX8664": ami, "ImageIdAarch64": ami}
    path = tmp_path / "kojistack-for-moto.json"
    path.write_text(json.dumps(for_moto(template, params, arns), indent=1, sort_keys=True))
    aws("s3").create_bucket(Bucket="koji-deploy")
    return path, params


def test_generated_template_deploys_and_is_operable(run, aws, generated):
    path, params = generated
    assert path.stat().st_size > 51_200
    args = ["deploy", "--stack-name", "koji", "--template", str(path), "--bucket", "koji-deploy",
            "--poll-seconds", "0"] + [x for k, v in params.items() for x in ("--param", f"{k}={v}")]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "stack koji: CREATE_COMPLETE" in result.stdout
    resources = aws("cloudformation").list_stack_resources(StackName="koji")["StackResourceSummaries"]
    assert {"HubGroup", "Database", "FileSystem", "BuilderX8664Group", "BuilderAarch64Group"} <= {
        r["LogicalResourceId"] for r in resources}

    status = json.loads(run("status", "--stack-name", "koji", "--json").stdout)
    assert status["stack"]["status"] == "CREATE_COMPLETE"
    assert status["hub"]["group"] == "koji-hub" and len(status["hub"]["instances"]) == 1
    assert sorted(status["builders"]) == ["aarch64", "x86_64"]
    assert all(b["desired"] == 0 and b["max"] == 8 for b in status["builders"].values())

    added = run("user", "add", "alice", "--stack-name", "koji")
    assert added.exit_code == 0, added.output
    commands = aws("ssm").list_commands()["Commands"]
    assert commands[0]["InstanceIds"] == [status["hub"]["instances"][0]["id"]]

    assert status["outputs"] == {}  # moto gap: a change-set create leaves Outputs empty (next test)


def test_client_config_from_the_generated_outputs(run, aws, generated):
    # moto fills Outputs only on CreateStack, not on change sets: create the same template that way.
    path, params = generated
    aws("cloudformation").create_stack(
        StackName="koji", TemplateBody=path.read_text(), Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    outputs = {o["OutputKey"]: o["OutputValue"] for o in
               aws("cloudformation").describe_stacks(StackName="koji")["Stacks"][0]["Outputs"]}
    result = run("client-config", "--stack-name", "koji")
    assert result.exit_code == 0, result.output
    config = koji.read_config("koji")
    assert config["server"] == outputs["HubUrl"] and config["server"].endswith("/kojihub")
    assert config["weburl"] == outputs["WebUrl"] and config["topurl"] == outputs["FilesUrl"]
