"""The dependency graph: builders after the hub; the hub after its IAM policy, the mount targets
and the database; group names reach IAM by Fn::Sub, never Ref; no cycle."""

from __future__ import annotations

from kojistack import ids

from .conftest import resources


def edges(t: dict) -> dict[str, set[str]]:
    """resource -> resources it depends on (Ref, GetAtt, Sub names, DependsOn)."""
    names = set(t["Resources"])

    def walk(node, out: set[str]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "Ref" and v in names:
                    out.add(v)
                elif k == "Fn::GetAtt":
                    out.add(v[0] if isinstance(v, list) else v.split(".")[0])
                elif k == "Fn::Sub":
                    text = v[0] if isinstance(v, list) else v
                    out.update(n for n in names if "${" + n + "}" in text or "${" + n + "." in text)
                    walk(v, out)
                else:
                    walk(v, out)
        elif isinstance(node, list):
            for v in node:
                walk(v, out)

    graph = {}
    for name, r in t["Resources"].items():
        deps: set[str] = set()
        walk(r.get("Properties", {}), deps)
        d = r.get("DependsOn", [])
        deps.update([d] if isinstance(d, str) else d)
        graph[name] = deps & names
    return graph


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
        for name, g in resources(t, "AWS::AutoScaling::AutoScalingGroup").items():
            if name != ids.HUB_GROUP:
                assert ids.HUB_GROUP in reaches(graph, name), (key, name)
        # IAM names the groups by deterministic name; it never depends on a group
        for pol in (ids.HUB_POLICY, ids.BUILDER_POLICY):
            assert not {n for n in reaches(graph, pol) if n.endswith("Group") and "Security" not in n
                        and "Target" not in n and "Subnet" not in n}, (key, pol)
