"""Issue 12 item 6: every wait longer than a few seconds says what it waits for, also without a
terminal (a CI log): stack operations between events, `user add|revoke` while SSM reaches the hub,
`delete` while RDS applies the deletion-protection change. (`chaos`: tests/ops/test_chaos.py.)

The AWS answers are AWS-shaped records of documented states: SSM GetCommandInvocation Status
Pending/InProgress/Success (SSM API reference), RDS DBInstanceStatus modifying/available (RDS User Guide,
"Viewing Amazon RDS DB instance status"), CloudFormation DescribeStacks CREATE_IN_PROGRESS."""

from __future__ import annotations

from kojistack.ops import delete, events, users


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_quiet_stack_operation_prints_what_is_still_running(monkeypatch):
    clock, said = Clock(), []
    follower = events.EventFollower(None, "stack-id", said.append, clock=clock, started=0.0)  # type: ignore[arg-type]
    follower.running = {"HubGroup": "CREATE_IN_PROGRESS"}
    monkeypatch.setattr(follower, "_newest", lambda: [])
    states = iter(["CREATE_IN_PROGRESS"] * 30 + ["CREATE_COMPLETE"])
    monkeypatch.setattr(events, "stack_status", lambda aws, sid: {"StackStatus": next(states)})
    events.follow(None, follower, 5.0, clock.sleep)  # type: ignore[arg-type]
    waiting = [line for line in said if "waiting for HubGroup" in line]
    assert len(waiting) == 2 and waiting[0].startswith("  01:00 waiting for HubGroup")


class Ssm:
    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses

    def send_command(self, **kwargs):
        return {"Command": {"CommandId": "c-1"}}

    def get_command_invocation(self, **kwargs):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"Status": status, "StandardOutputContent": "added alice\n"}


class OneClient:
    region = "us-east-1"

    def __init__(self, client) -> None:
        self._client = client

    def client(self, service):
        return self._client


def test_user_commands_say_they_wait_for_the_hub(monkeypatch):
    monkeypatch.setattr(users.stackinfo, "hub_instance", lambda aws, stack: "i-0123456789abcdef0")
    clock, said = Clock(), []
    out = users.run_on_hub(OneClient(Ssm(["Pending"] * 10 + ["InProgress"] * 10 + ["Success"])), "koji",
                           ["add", "alice"], poll_seconds=2.0, sleep=clock.sleep, progress=said.append, clock=clock)
    assert out == "added alice\n"
    assert len(said) == 2 and all("waiting for the hub i-0123456789abcdef0 to run kojistack-user add" in s
                                  for s in said)
    assert "Pending" in said[0] and "InProgress" in said[1]


class Rds:
    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses

    def describe_db_instances(self, **kwargs):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"DBInstances": [{"AllocatedStorage": 20, "DeletionProtection": True, "DBInstanceStatus": status}]}

    def modify_db_instance(self, **kwargs):
        assert kwargs["DeletionProtection"] is False and kwargs["ApplyImmediately"] is True
        return {}


def test_delete_says_it_waits_for_the_database(monkeypatch):
    clock, said = Clock(), []
    rds = Rds(["available", "modifying", "modifying", "available"])  # the first answer is _db_gib's read
    delete._allow_database_deletion(OneClient(rds), {delete.ids.DATABASE: {"id": "koji-db"}}, said.append,
                                    clock.sleep)
    assert said[:2] == ["database koji-db: modifying, waiting for it to be available (00:00)",
                        "database koji-db: modifying, waiting for it to be available (00:15)"]
    assert said[-1].startswith("database koji-db: deletion protection off")
