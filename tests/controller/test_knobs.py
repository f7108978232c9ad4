"""Scaling knobs reach the controller at run time from the builder groups, never from the hub's
user data (issue 11, item 7: a knob in the hub's user data replaces the only hub when changed).

MinSize/MaxSize are the groups' own sizes; the idle time is the group tag `kojistack:idle-minutes`,
which CloudFormation updates in place (AWS::AutoScaling::AutoScalingGroup Tags: "Update requires:
No interruption", https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-autoscaling-autoscalinggroup.html).
"""


from fakes.kojihub import CLOSED
from kojistack import names
from kojistack.controller.loop import group_idle_seconds


def test_the_idle_tag_is_read_from_the_group_row():
    row = {"AutoScalingGroupName": "ks-builders-x86_64",
           "Tags": [{"Key": "Name", "Value": "ks-builder-x86_64"}, {"Key": names.TAG_IDLE_MINUTES, "Value": "30"}]}
    assert group_idle_seconds(row, names.TAG_IDLE_MINUTES) == 1800.0
    soon = {"Tags": [{"Key": names.TAG_IDLE_MINUTES, "Value": "soon"}]}
    assert group_idle_seconds(soon, names.TAG_IDLE_MINUTES) is None
    assert group_idle_seconds({}, names.TAG_IDLE_MINUTES) is None


def test_changing_the_idle_tag_and_the_max_size_takes_effect_without_a_new_hub(rig):
    group = rig.group()
    group.tags[names.TAG_IDLE_MINUTES] = "120"  # what the template sets from BuilderIdleMinutes
    tasks = [rig.hub.seed_task("buildArch", arch="x86_64", weight=1.0) for _ in range(6)]
    rig.run_until(lambda: len(rig.instances(state="InService")) >= 2)
    rig.run_until(lambda: all(rig.hub.task_state(t) == CLOSED for t in tasks), max_ticks=120)
    start = rig.clock.now
    for _ in range(60):  # 20 minutes idle: more than the stack.env default (10), less than the tag (120)
        rig.tick()
    assert rig.clock.now - start >= 1200
    assert len(rig.instances()) >= 2, "idle builders were retired before the group's idle-minutes tag allows"
    group.tags[names.TAG_IDLE_MINUTES] = "1"  # a stack update of BuilderIdleMinutes: only the group's tag changes
    rig.run_until(lambda: not rig.instances(), max_ticks=60)
    group.max_size = 1  # a stack update of the max size: the group's own MaxSize
    for _ in range(4):
        rig.hub.seed_task("buildArch", arch="x86_64", weight=1.0)
    rig.tick(), rig.tick(), rig.tick()
    assert group.desired == 1
