"""Scaling knobs reach the controller at run time from the builder groups, never from the hub's
user data (issue 11, item 7: a knob in the hub's user data replaces the only hub when changed).

MinSize/MaxSize are the groups' own sizes; the idle time is the group tag `kojistack:idle-minutes`
and the room kept for arriving builds the tag `kojistack:spare-tasks` (issue 14, item 7), which
CloudFormation updates in place (AWS::AutoScaling::AutoScalingGroup Tags: "Update requires:
No interruption", https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-autoscaling-autoscalinggroup.html).
"""


from fakes.kojihub import CLOSED
from kojistack import names
from kojistack.controller.loop import MAX_SPARE_TASKS, group_idle_seconds, group_spare_tasks


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


def test_the_spare_tasks_tag_is_read_from_the_group_row(caplog):
    """A whole number of tasks, 0 included; anything else (not a number, negative, a fraction, a
    non-ASCII digit int() refuses, a size no parameter allows) is the policy's, with a warning."""
    def row(value):
        return {"AutoScalingGroupName": "ks-builders-x86_64",
                "Tags": [{"Key": names.TAG_IDLE_MINUTES, "Value": "10"},
                         {"Key": names.TAG_SPARE_TASKS, "Value": value}]}
    assert group_spare_tasks(row("2"), names.TAG_SPARE_TASKS) == 2
    assert group_spare_tasks(row("0"), names.TAG_SPARE_TASKS) == 0
    assert group_spare_tasks(row("8"), names.TAG_SPARE_TASKS) == 8
    assert group_spare_tasks({}, names.TAG_SPARE_TASKS) is None
    idle_only = {"Tags": [{"Key": names.TAG_IDLE_MINUTES, "Value": "10"}]}
    assert group_spare_tasks(idle_only, names.TAG_SPARE_TASKS) is None
    caplog.clear()
    for bad in ("two", "-1", "1.5", "", "\u00b2", str(MAX_SPARE_TASKS + 1)):
        assert group_spare_tasks(row(bad), names.TAG_SPARE_TASKS) is None, bad
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 6 and all("ks-builders-x86_64" in w and names.TAG_SPARE_TASKS in w for w in warned)


def test_changing_the_spare_tasks_tag_takes_effect_without_a_new_hub(rig):
    """The rig's stack.env policy keeps no room (spare_tasks 0, tasks at 1.0 on builders of 4): one
    task wants one builder; the group's tag asking room for four more (a stack update of
    BuilderSpareTasks) wants a second at the next loop."""
    group = rig.group()
    group.tags[names.TAG_SPARE_TASKS] = "0"
    rig.hub.seed_task("buildArch", arch="x86_64", weight=1.0)
    rig.tick()
    assert group.desired == 1
    group.tags[names.TAG_SPARE_TASKS] = "4"
    rig.tick()
    assert group.desired == 2
