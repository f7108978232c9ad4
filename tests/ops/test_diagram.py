"""`kojistack diagram` on the generated template: the files render and name the key parts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib.image
import pytest

from kojistack import ids
from kojistack.ops.diagram import graph, key_flows, tier_of
from support.paths import REPO

TEMPLATES = sorted((REPO / "templates").glob("*.json"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_diagram_renders_and_names_the_key_parts(run, tmp_path, template):
    result = run("diagram", "--template", str(template), "-o", str(tmp_path / "arch.png"))
    assert result.exit_code == 0, result.output
    png = matplotlib.image.imread(tmp_path / "arch.png")
    assert png.shape[0] > 600 and png.shape[1] > 1200
    svg = (tmp_path / "arch.svg").read_text()
    resources = json.loads(template.read_text())["Resources"]
    builder_groups = [k for k, r in resources.items()
                      if r["Type"] == "AWS::AutoScaling::AutoScalingGroup" and k != ids.HUB_GROUP]
    assert len(builder_groups) == 2
    for name in [ids.HUB_GROUP, ids.DATABASE, ids.FILE_SYSTEM, ids.PUBLIC_NLB, ids.INTERNAL_NLB, *builder_groups]:
        assert f">{name}" in svg, name
    for tier in ("public subnets", "private subnets", "data (private)", "regional / account services"):
        assert tier in svg


def test_diagram_is_deterministic(run, tmp_path):
    template = REPO / "templates" / "kojistack.json"
    run("diagram", "--template", str(template), "-o", str(tmp_path / "a.png"))
    run("diagram", "--template", str(template), "-o", str(tmp_path / "b.png"))
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_edges_and_flows_from_references():
    template = {"Resources": {
        "PublicLoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"},
        "PublicTargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup"},
        "PublicListener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "PublicLoadBalancer"},
            "DefaultActions": [{"TargetGroupArn": {"Ref": "PublicTargetGroup"}}]}},
        "Database": {"Type": "AWS::RDS::DBInstance"},
        "HubLaunchTemplate": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
            "UserData": {"Fn::Base64": {"Fn::Sub": ["db=${Db}", {"Db": {"Fn::GetAtt": ["Database", "Endpoint.Address"]}}]}}}},
        "HubGroup": {"Type": "AWS::AutoScaling::AutoScalingGroup", "DependsOn": "Database", "Properties": {
            "LaunchTemplate": {"LaunchTemplateId": {"Ref": "HubLaunchTemplate"}},
            "TargetGroupARNs": [{"Ref": "PublicTargetGroup"}]}},
        "HubRole": {"Type": "AWS::IAM::Role", "Properties": {"Path": {"Fn::Sub": "/${AWS::StackName}/${HubGroup}"}}},
    }}
    nodes, edges = graph(template)
    assert ("HubRole", "HubGroup") in edges and ("HubGroup", "Database") in edges
    assert ("HubLaunchTemplate", "Database") in edges
    assert key_flows(nodes, edges) == [("Database", "HubGroup"), ("HubGroup", "PublicLoadBalancer")]
    assert {n.logical_id: n.tier for n in nodes} == {
        "PublicLoadBalancer": "public", "PublicTargetGroup": "public", "PublicListener": "public",
        "Database": "data", "HubLaunchTemplate": "private", "HubGroup": "private", "HubRole": "global"}
    assert tier_of("NatGateway1", "AWS::EC2::NatGateway") == "public"


def test_committed_diagram_shows_every_resource_of_the_committed_template():
    svg = (REPO / "docs" / "architecture.svg").read_text()
    drawn = set(re.findall(r">([A-Za-z0-9]+)(?:  \[[^\]]*\])?\n?<", svg)) | set(re.findall(r">([A-Za-z0-9]+)[ \n<]", svg))
    resources = json.loads((REPO / "templates" / "kojistack.json").read_text())["Resources"]
    missing = sorted(set(resources) - drawn)
    assert not missing, f"docs/architecture.svg is stale (regenerate: kojistack diagram): {missing}"
