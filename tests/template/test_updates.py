"""What a stack update touches (issue 11, item 7): a scaling knob never reaches the hub's launch
template, whose every change replaces the only hub (rolling update, 10-20 minutes down)."""

from __future__ import annotations

import json

import pytest

from kojistack import ids, names
from kojistack.template import parameters as P

from .conftest import resources

KNOBS = ("BuilderIdleMinutes", "BuilderSpareTasks", "BuilderOnDemandBase", "BuilderOnDemandPercentage")
#: knobs the controller reads from a builder group's tag: {parameter: tag key}
TAG_KNOBS = {"BuilderIdleMinutes": names.TAG_IDLE_MINUTES, "BuilderSpareTasks": names.TAG_SPARE_TASKS}


def _knob_params(t: dict) -> set[str]:
    sizes = {p for p in t["Parameters"] if p.startswith("Builder") and p.endswith(("MaxSize", "MinSize"))}
    return sizes | {k for k in KNOBS if k in t["Parameters"]}


@pytest.mark.parametrize("variant", ["new", "existing"])
def test_no_scaling_knob_reaches_the_hub_launch_template(templates, variant):
    t = templates[("default", variant)]
    knobs = _knob_params(t)
    assert {"BuilderIdleMinutes", "BuilderSpareTasks", "BuilderX8664MaxSize"} <= knobs
    hub_lt = json.dumps(t["Resources"][ids.HUB_LAUNCH_TEMPLATE])
    used = sorted(k for k in knobs if f'"Ref": "{k}"' in hub_lt or "${" + k + "}" in hub_lt)
    assert not used, f"changing {used} would replace the hub"


@pytest.mark.parametrize("param", sorted(TAG_KNOBS))
def test_builder_groups_carry_the_tag_knobs_the_controller_reads(default, param):
    """The idle time and the room kept for arriving builds (issue 14, item 7) reach the controller
    as each builder group's tag, set from their parameters (not propagated to the instances)."""
    key = TAG_KNOBS[param]
    groups = resources(default, "AWS::AutoScaling::AutoScalingGroup")
    builders = {n: g for n, g in groups.items() if n not in (ids.HUB_GROUP, ids.LIGHT_GROUP)}
    assert set(builders) == {ids.builder_group(a) for a in ("x86_64", "aarch64")}
    for name, group in builders.items():  # the light hosts wait for no idle time and keep no room
        tags = {tag["Key"]: tag for tag in group["Properties"]["Tags"]}
        assert tags[key] == {"Key": key, "Value": {"Ref": param}, "PropagateAtLaunch": False}, name


@pytest.mark.parametrize("variant", ["new", "existing"])
@pytest.mark.parametrize("param", sorted(TAG_KNOBS))
def test_a_tag_knob_is_only_a_group_tag(templates, variant, param):
    """A stack update of a tag knob changes the builder groups' tags and nothing else: no launch
    template (a new builder version, or a new hub), no user data, no other property. Auto Scaling
    group Tags update with "No interruption" (AWS::AutoScaling::AutoScalingGroup, Tags:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-autoscaling-autoscalinggroup.html)."""
    t = templates[("default", variant)]
    ref = {"Ref": param}

    def uses(node, path: tuple) -> list[tuple]:
        if node == ref:
            return [path]
        if isinstance(node, dict):
            if set(node) == {"Fn::Sub"} and "${" + param + "}" in json.dumps(node):
                return [path]
            return [u for k, v in node.items() for u in uses(v, path + (k,))]
        if isinstance(node, list):
            return [u for i, v in enumerate(node) for u in uses(v, path + (i,))]
        return []
    found = uses({k: v for k, v in t.items() if k != "Parameters"}, ())
    groups = {ids.builder_group(a) for a in ("x86_64", "aarch64")}
    assert found and all(p[0] == "Resources" and p[1] in groups and p[2:4] == ("Properties", "Tags")
                         for p in found), found


def test_the_room_parameter_defaults_to_the_controllers_own(default):
    """BuilderSpareTasks' default is the controller's SPARE_TASKS, and its description's share of the
    arch's tasks is the controller's SPARE_FRACTION (the template may not import the controller:
    tests/test_wings.py), so a stack that never set the parameter keeps the room the simulator measured."""
    from kojistack.controller import decide

    param = default["Parameters"]["BuilderSpareTasks"]
    assert param["Default"] == str(decide.SPARE_TASKS) == str(P.BUILDER_SPARE_TASKS_DEFAULT)
    assert str(decide.SPARE_TASKS) in param["AllowedValues"] and "0" in param["AllowedValues"]
    assert f"{round(decide.SPARE_FRACTION * 100)} % of the arch's tasks" in param["Description"]
