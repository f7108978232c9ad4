"""The dependency graph: builders after the hub; the hub after its IAM policy, the mount targets
and the database; group names reach IAM by Fn::Sub, never Ref; no cycle."""

from __future__ import annotations

from fakes.cloudformation import dependencies
from kojistack import ids

from .conftest import resources


def edges(t: dict) -> dict[str, set[str]]:
    """resource -> resources it depends on (Ref, GetAtt, Sub names, DependsOn): the double's rule."""
    return dependencies(t)


def reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_no_cycle(templates):
    for key, t in templates.items():
        graph = edges(t)
        for name in graph:
            assert name not in reaches(graph, name), f"{key}: cycle through {name}"


def test_order(templates):
    for key, t in templates.items():
        graph = edges(t)
        hub = reaches(graph, ids.HUB_GROUP)
        assert {ids.HUB_POLICY, ids.DATABASE} <= hub, key
        assert {m for m in resources(t, "AWS::EFS::MountTarget")} <= hub, key
        for name in resources(t, "AWS::AutoScaling::AutoScalingGroup"):
            if name != ids.HUB_GROUP:
                assert ids.HUB_GROUP in reaches(graph, name), (key, name)
        # every machine writes its logs until it is gone: the log groups are deleted after every
        # group (a console delete drains builders for minutes; their last lines must land)
        for name in resources(t, "AWS::AutoScaling::AutoScalingGroup"):
            assert set(resources(t, "AWS::Logs::LogGroup")) - {ids.AMI_LOOKUP_LOG_GROUP} <= reaches(graph, name), \
                (key, name)
        # IAM names the groups by deterministic name; it never depends on a group
        for pol in (ids.HUB_POLICY, ids.BUILDER_POLICY):
            assert not {n for n in reaches(graph, pol) if n.endswith("Group") and "Security" not in n
                        and "Target" not in n and "Subnet" not in n}, (key, pol)
