"""What a stack update touches (issue 11, item 7): a scaling knob never reaches the hub's launch
template, whose every change replaces the only hub (rolling update, 10-20 minutes down)."""

from __future__ import annotations

import json

import pytest

from kojistack import ids, names

from .conftest import resources

KNOBS = ("BuilderIdleMinutes", "BuilderOnDemandBase", "BuilderOnDemandPercentage")


def _knob_params(t: dict) -> set[str]:
    sizes = {p for p in t["Parameters"] if p.startswith("Builder") and p.endswith(("MaxSize", "MinSize"))}
    return sizes | {k for k in KNOBS if k in t["Parameters"]}


@pytest.mark.parametrize("variant", ["new", "existing"])
def test_no_scaling_knob_reaches_the_hub_launch_template(templates, variant):
    t = templates[("default", variant)]
    knobs = _knob_params(t)
    assert {"BuilderIdleMinutes", "BuilderX8664MaxSize"} <= knobs
    hub_lt = json.dumps(t["Resources"][ids.HUB_LAUNCH_TEMPLATE])
    used = sorted(k for k in knobs if f'"Ref": "{k}"' in hub_lt or "${" + k + "}" in hub_lt)
    assert not used, f"changing {used} would replace the hub"


def test_builder_groups_carry_the_idle_minutes_the_controller_reads(default):
    for name, group in resources(default, "AWS::AutoScaling::AutoScalingGroup").items():
        if name in (ids.HUB_GROUP, ids.LIGHT_GROUP):  # the light hosts wait for no idle time
            continue
        tags = {tag["Key"]: tag for tag in group["Properties"]["Tags"]}
        assert tags[names.TAG_IDLE_MINUTES] == {"Key": names.TAG_IDLE_MINUTES, "Value": {"Ref": "BuilderIdleMinutes"},
                                                 "PropagateAtLaunch": False}, name
