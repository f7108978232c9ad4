"""The CloudFormation double keeps to the rules it cites (tests/fakes/cloudformation.py), on small
templates: each test is one documented rule, so a change to the double that breaks a rule fails here."""

from __future__ import annotations

import pytest

from fakes.cloudformation import Handler, Resource, Stack, ValidationError


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class Slow(Handler):
    """Deletion takes `seconds` of the clock."""

    def __init__(self, seconds: float):
        self.seconds, self.until = seconds, {}

    def delete(self, stack, r: Resource) -> None:
        self.until[r.lid] = stack.clock() + self.seconds

    def busy(self, stack, r: Resource):
        if r.status == "DELETE_IN_PROGRESS" and stack.clock() < self.until[r.lid]:
            return ""
        return None


def res(type_: str = "AWS::SNS::Topic", **extra) -> dict:
    return {"Type": type_, "Properties": {}, **extra}


def run(stack: Stack, clock: Clock, until=("CREATE_COMPLETE", "ROLLBACK_COMPLETE")) -> str:
    def tick():
        clock.now += 10
    return stack.run(tick, until)


def order(stack: Stack, status: str) -> list:
    return [e.lid for e in stack.events if e.status == status and e.lid != stack.name]


def test_implicit_and_explicit_dependencies_order_creation():
    t = {"Resources": {"A": res(Properties={"X": {"Ref": "B"}}),
                       "B": res(Properties={"Y": {"Fn::GetAtt": ["C", "Arn"]}}),
                       "C": res(Properties={"Z": {"Fn::Sub": "${D}-x"}}), "D": res(DependsOn="E"), "E": res()}}
    clock = Clock()
    s = Stack("s", t, {}, clock)
    s.create()
    assert run(s, clock) == "CREATE_COMPLETE"
    assert order(s, "CREATE_COMPLETE") == ["E", "D", "C", "B", "A"]
    assert s.before("E", "A") and not s.before("A", "E")


def test_deletion_is_in_reverse_order_and_in_parallel():
    """Unordered resources are deleted at the same time: the slow group does not hold the rule back."""
    t = {"Resources": {"Group": res("Slow", DependsOn="Vpc"), "Rule": res(DependsOn="Vpc"), "Vpc": res()}}
    clock = Clock()
    s = Stack("s", t, {}, clock, {"Slow": Slow(600)})
    s.create()
    run(s, clock)
    s.delete()
    assert run(s, clock, ("DELETE_COMPLETE", "DELETE_FAILED")) == "DELETE_COMPLETE"
    done = {e.lid: e.time for e in s.events if e.status == "DELETE_COMPLETE"}
    assert done["Rule"] < done["Group"]  # the rule went while the group was still deleting
    at = {(e.lid, e.status): i for i, e in enumerate(s.events)}
    assert at[("Group", "DELETE_COMPLETE")] < at[("Vpc", "DELETE_IN_PROGRESS")]  # the Vpc only after both


def test_signals_are_accepted_only_while_the_resource_waits():
    t = {"Resources": {"Group": res(CreationPolicy={"ResourceSignal": {"Count": 1, "Timeout": "PT10M"}})}}
    clock = Clock()
    s = Stack("s", t, {}, clock)
    with pytest.raises(ValidationError):
        s.signal("Group", "i-1", "SUCCESS")  # no stack yet in progress
    s.create()
    s.advance()
    s.signal("Group", "i-1", "SUCCESS")
    assert run(s, clock) == "CREATE_COMPLETE"
    with pytest.raises(ValidationError, match=r"^Stack arn:aws:cloudformation:us-east-1:\d{12}:stack/s/\S+ is in "
                                               r"CREATE_COMPLETE state and cannot be signaled$"):
        s.signal("Group", "i-2", "SUCCESS")


def test_a_failure_signal_or_a_timeout_fails_creation_and_rolls_back():
    t = {"Resources": {"Group": res(CreationPolicy={"ResourceSignal": {"Count": 2, "Timeout": "PT5M"}}),
                       "Other": res()}}
    clock = Clock()
    s = Stack("s", t, {}, clock)
    s.create()
    s.advance()
    s.signal("Group", "i-1", "SUCCESS")
    s.signal("Group", "i-1", "SUCCESS")  # the same unique id counts once
    assert run(s, clock, ("CREATE_COMPLETE", "ROLLBACK_COMPLETE")) == "ROLLBACK_COMPLETE"
    assert "Failed to receive 1 resource signal(s)" in next(e.reason for e in s.events if e.status == "CREATE_FAILED")
    s2 = Stack("s2", t, {}, clock)
    s2.create()
    s2.advance()
    s2.signal("Group", "i-1", "FAILURE")
    assert run(s2, clock, ("CREATE_COMPLETE", "ROLLBACK_COMPLETE")) == "ROLLBACK_COMPLETE"


def test_retain_and_snapshot_deletion_policies():
    t = {"Resources": {"Key": res(DeletionPolicy="Retain"), "Db": res(DeletionPolicy="Snapshot"), "Topic": res()}}
    clock = Clock()
    s = Stack("s", t, {}, clock)
    s.create()
    run(s, clock)
    s.delete()
    assert run(s, clock, ("DELETE_COMPLETE",)) == "DELETE_COMPLETE"
    assert set(s.retained) == {"Key"} and s.snapshots == ["Db"]
    assert order(s, "DELETE_SKIPPED") == ["Key"]


def test_conditions_leave_resources_out_and_parameters_resolve():
    t = {"Parameters": {"Name": {"Type": "String", "Default": ""}},
         "Conditions": {"HasName": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Name"}, ""]}]}},
         "Resources": {"Named": res(Condition="HasName"),
                       "Topic": res(Properties={"TopicName": {"Fn::If": ["HasName", {"Ref": "Name"},
                                                                         {"Ref": "AWS::NoValue"}]}})}}
    clock = Clock()
    s = Stack("s", t, {}, clock)
    assert set(s.defs) == {"Topic"}
    s.create()
    run(s, clock)
    assert s.resources["Topic"].props == {}
    with pytest.raises(ValidationError, match="must satisfy regular expression pattern"):
        Stack("1-bad", t, {}, clock)


def test_an_update_changes_only_what_resolves_differently():
    t = {"Parameters": {"Size": {"Type": "String", "Default": "1"}, "Other": {"Type": "String", "Default": "a"}},
         "Resources": {"A": res(Properties={"Size": {"Ref": "Size"}}), "B": res(Properties={"O": {"Ref": "Other"}})}}
    clock = Clock()
    s = Stack("s", t, {}, clock)
    s.create()
    run(s, clock)
    s.update(t, {"Size": "2"})
    assert run(s, clock, ("UPDATE_COMPLETE",)) == "UPDATE_COMPLETE"
    assert s.changed() == ["A"]
