"""`kojistack diagram` on the generated template: the files render and name the key parts."""

from __future__ import annotations

import json
import re

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
    svg = (tmp_path / "arch-full.svg").read_text()
    resources = json.loads(template.read_text())["Resources"]
    builder_groups = [k for k, r in resources.items()
                      if r["Type"] == "AWS::AutoScaling::AutoScalingGroup"
                      and k not in (ids.HUB_GROUP, ids.LIGHT_GROUP)]
    assert len(builder_groups) == 2
    for name in [ids.HUB_GROUP, ids.DATABASE, ids.FILE_SYSTEM, ids.PUBLIC_NLB, ids.INTERNAL_NLB, ids.LIGHT_GROUP,
                 *builder_groups]:
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
            "UserData": {"Fn::Base64": {"Fn::Sub": [
                "db=${Db}", {"Db": {"Fn::GetAtt": ["Database", "Endpoint.Address"]}}]}}}},
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
    svg = (REPO / "docs" / "architecture-full.svg").read_text()
    drawn = (set(re.findall(r">([A-Za-z0-9]+)(?:  \[[^\]]*\])?\n?<", svg))
             | set(re.findall(r">([A-Za-z0-9]+)[ \n<]", svg)))
    resources = json.loads((REPO / "templates" / "kojistack.json").read_text())["Resources"]
    missing = sorted(set(resources) - drawn)
    assert not missing, f"docs/architecture-full.svg is stale (regenerate: make templates): {missing}"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_overview_draws_what_a_person_needs(run, tmp_path, template):
    result = run("diagram", "--template", str(template), "-o", str(tmp_path / "arch.png"))
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["wrote", str(tmp_path / "arch.png"), "wrote", str(tmp_path / "arch.svg"),
                                     "wrote", str(tmp_path / "arch-full.png"), "wrote", str(tmp_path / "arch-full.svg")]
    svg = (tmp_path / "arch.svg").read_text()
    for part in ("people", "the internet", "public load balancer", "internal load balancer", "hub (exactly 1",
                 "kojira", "kojistack-controller", "x86_64 builders", "aarch64 builders", "database",
                 "file system", "stack KMS key", "Secrets Manager", "CloudWatch", "SNS alarm topic",
                 "HTTPS 443", "5432 TLS", "NFS 2049", "arrows point from the side that connects"):
        assert part in svg, part
    resources = json.loads(template.read_text())["Resources"]
    kept = [r["DeletionPolicy"] for r in resources.values() if r.get("DeletionPolicy") in ("Retain", "Snapshot")]
    assert svg.count("kept on delete (") == 4  # key, secrets, database, file system
    assert "kept on delete (Snapshot)" in svg and "Snapshot" in kept


def test_overview_follows_the_template():
    from kojistack.ops.overview import facts

    template = json.loads((REPO / "templates" / "kojistack.json").read_text())
    found = facts(template)
    assert found["arches"] == ["x86_64", "aarch64"] and found["new_vpc"]
    assert found["kept"][ids.DATABASE] == "Snapshot" and found["kept"][ids.STACK_KEY] == "Retain"
    del template["Resources"][ids.builder_group("aarch64")]
    template["Resources"][ids.FILE_SYSTEM]["DeletionPolicy"] = "Delete"
    found = facts(template)
    assert found["arches"] == ["x86_64"] and ids.FILE_SYSTEM not in found["kept"]


def test_committed_overview_is_fresh(run, tmp_path):
    run("diagram", "--template", str(REPO / "templates" / "kojistack.json"), "-o", str(tmp_path / "architecture.png"))
    assert (tmp_path / "architecture.svg").read_text() == (REPO / "docs" / "architecture.svg").read_text(), \
        "docs/architecture.svg is stale: run `make templates`"
