"""`kojistack chaos` against moto (EC2, Auto Scaling with target groups, ELBv2) and the fake koji
hub (tasks): recovery is driven by state changes the test makes between polls, as Auto Scaling,
the hub's launch hook and the controller would. moto stands in for AWS (no account here); the
fake hub for a real koji hub, which cannot run here."""

from __future__ import annotations

import random

import boto3
import koji
import pytest
from click.testing import CliRunner
from moto import mock_aws

from fakes.kojihub import OPEN, FakeHub
from fakes.pki import TestPki
from kojistack import names
from kojistack.cli import main
from kojistack.controller.awsport import AutoScaling
from kojistack.errors import OperationError, UserError
from kojistack.ops import chaos

REGION, STACK, POLL = "us-east-1", "ks", 15.0


class Clock:
    """Manual time: each sleep advances it and then lets the test change the world."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps = 0
        self.on_sleep: list = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        for hook in self.on_sleep:
            hook(self.sleeps)


class Stack:
    """The hub group (behind two target groups) and one x86_64 builder group of stack `ks`, in moto."""

    def __init__(self, builders: int = 1) -> None:
        self.ec2 = boto3.client("ec2", REGION)
        self.asg = boto3.client("autoscaling", REGION)
        self.elbv2 = boto3.client("elbv2", REGION)
        vpc = self.ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.80.0.0/19", AvailabilityZone="us-east-1a")
        subnet_id = subnet["Subnet"]["SubnetId"]
        self.tgs = [self.elbv2.create_target_group(Name=f"ks-{n}", Protocol="TCP", Port=443, VpcId=vpc,
                                                   TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
                    for n in ("public", "internal")]
        lt = self.ec2.create_launch_template(LaunchTemplateName="ks", LaunchTemplateData={
            "ImageId": "ami-12c6146b", "InstanceType": "m7i.large"})["LaunchTemplate"]["LaunchTemplateId"]
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=f"{STACK}-hub", MinSize=1, MaxSize=1, DesiredCapacity=1,
            LaunchTemplate={"LaunchTemplateId": lt}, VPCZoneIdentifier=subnet_id, TargetGroupARNs=self.tgs)
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=f"{STACK}-builders-x86_64", MinSize=0, MaxSize=4, DesiredCapacity=builders,
            LaunchTemplate={"LaunchTemplateId": lt}, VPCZoneIdentifier=subnet_id)
        for n, iid in enumerate(self.instances("builders-x86_64"), 1):
            self.ec2.create_tags(Resources=[iid], Tags=[{"Key": names.TAG_SLOT, "Value": f"x86-64-{n:02d}"}])
        self.groups = AutoScaling(self.asg)

    def instances(self, suffix: str) -> list[str]:
        (g,) = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{STACK}-{suffix}"])["AutoScalingGroups"]
        return sorted(i["InstanceId"] for i in g["Instances"] if i["LifecycleState"] == "InService")

    def state(self, iid: str) -> str:
        return self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]

    def hub_ready(self) -> None:
        """What the new hub's smoke test + launch hook lead to: registered in both target groups."""
        for arn in self.tgs:
            self.elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in self.instances("hub")])


@pytest.fixture
def stack(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                 "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield Stack()


def test_victims_are_the_stacks_inservice_instances(stack):
    victims = chaos.find_victims(stack.groups, stack.ec2, STACK)
    assert [(v.role, v.group, v.slot) for v in victims] == [
        ("hub", "ks-hub", ""), ("builder", "ks-builders-x86_64", "x86-64-01")]
    assert chaos.pick(victims, "hub", random.Random(1)).role == "hub"
    assert chaos.pick(victims, "builder", random.Random(1)).slot == "x86-64-01"


def test_hub_loss_recovers_when_the_new_hub_is_healthy_in_both_target_groups(stack):
    clock = Clock()
    clock.on_sleep.append(lambda n: n == 3 and stack.hub_ready())  # ready after the 3rd poll
    (old,) = stack.instances("hub")
    victim = chaos.pick(chaos.find_victims(stack.groups, stack.ec2, STACK), "hub", random.Random())
    lines: list[str] = []
    report = chaos.run(stack.groups, stack.ec2, stack.elbv2, victim, None, clock=clock, sleep=clock.sleep,
                       timeout=600, poll=POLL, echo=lines.append)
    assert stack.state(old) == "terminated"
    assert report.recovered and report.steps[0].done_after == 3 * POLL
    (new,) = stack.instances("hub")
    assert new != old and f"{new} healthy in 2/2 target groups" in report.steps[0].last
    assert report.lines()[-1] == "recovered in 0m45s"


def test_hub_that_never_gets_healthy_is_reported_after_the_timeout(stack):
    clock = Clock()
    victim = chaos.pick(chaos.find_victims(stack.groups, stack.ec2, STACK), "hub", random.Random())
    report = chaos.run(stack.groups, stack.ec2, stack.elbv2, victim, None, clock=clock, sleep=clock.sleep,
                       timeout=120, poll=POLL, echo=lambda _: None)
    assert not report.recovered and report.seconds >= 120
    assert "healthy in 0/2 target groups" in report.steps[0].last
    assert report.lines()[1].startswith("  hub healthy in its target groups: NOT recovered")


def test_a_long_wait_says_what_it_waits_for_at_least_every_minute(stack):
    """Issue 12 item 6: chaos printed nothing for up to 45 minutes while it waited."""
    clock, said = Clock(), []
    t0 = clock.now
    victim = chaos.pick(chaos.find_victims(stack.groups, stack.ec2, STACK), "hub", random.Random())
    chaos.run(stack.groups, stack.ec2, stack.elbv2, victim, None, clock=clock, sleep=clock.sleep,
              timeout=600, poll=POLL, echo=lambda line: said.append((clock.now - t0, line)))
    waits = [t for t, line in said if "still waiting" in line]
    assert waits and waits[0] <= POLL
    gaps = [b - a for a, b in zip(waits, waits[1:], strict=False)]
    assert len(waits) >= 9 and max(gaps) <= chaos.PROGRESS_EVERY
    assert all("hub healthy in its target groups: " in line for _, line in said if "still waiting (" in line)


@pytest.fixture
def koji_hub(tmp_path):
    pki = TestPki.create(str(tmp_path))
    hub = FakeHub.start(pki)
    hub.seed_user("kojiadmin", ("admin",))
    hub.seed_host("x86-64-01", "x86_64", ("default",))
    session = koji.ClientSession(hub.url, opts={"serverca": pki.ca_pem})
    session.ssl_login(pki.client("kojiadmin"), None, pki.ca_pem)
    yield hub, session
    hub.stop()


def test_builder_loss_recovers_when_replaced_and_its_tasks_are_freed(stack, koji_hub):
    hub, session = koji_hub
    task = hub.seed_task("buildArch", arch="x86_64", channel="default", state=OPEN, host="x86-64-01")
    clock = Clock()
    clock.on_sleep.append(lambda n: n == 2 and session.freeTask(task))  # the controller's freeTask
    (old,) = stack.instances("builders-x86_64")
    victim = chaos.pick(chaos.find_victims(stack.groups, stack.ec2, STACK), "builder", random.Random())
    report = chaos.run(stack.groups, stack.ec2, stack.elbv2, victim, chaos.KojiSessionTasks(session),
                       clock=clock, sleep=clock.sleep, timeout=600, poll=POLL, echo=lambda _: None)
    assert stack.state(old) == "terminated"
    replaced, tasks = report.steps
    assert replaced.name == "builder replaced" and replaced.done_after == 0  # moto replaces at once
    assert tasks.name == "tasks rescheduled" and tasks.done_after == 2 * POLL
    assert hub.task_state(task) != OPEN and report.recovered


def test_no_builder_running_is_an_error_naming_the_reason(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s = Stack(builders=0)
        victims = chaos.find_victims(s.groups, s.ec2, STACK)
        with pytest.raises(OperationError, match="no builder is running"):
            chaos.pick(victims, "builder", random.Random())


def _cli(args: list[str], input: str | None = None):
    result = CliRunner().invoke(main, ["chaos", "--stack-name", STACK, *args], input=input)
    return result.exit_code, result.output + (getattr(result, "stderr", "") or "")


def test_cli_dry_run_terminates_nothing(stack):
    code, text = _cli(["--target", "hub", "--dry-run"])
    assert code == 0, text
    assert "dry run: nothing terminated" in text and "chosen: hub" in text
    assert stack.state(stack.instances("hub")[0]) == "running"


def test_cli_asks_first_and_a_no_terminates_nothing(stack):
    (hub,) = stack.instances("hub")
    code, text = _cli(["--target", "hub"], input="n\n")
    # a declined prompt exits 2 with a sentence, as `kojistack --help` and docs/operations-tools.md say
    assert code == 2 and f"Terminate {hub} (hub) now?" in text
    assert "chaos cancelled; nothing was terminated" in text
    assert stack.state(hub) == "running"


def test_cli_unknown_stack_is_a_user_error(stack):
    result = CliRunner().invoke(main, ["chaos", "--stack-name", "nope", "--dry-run"])
    assert result.exit_code == 2
    assert "--stack-name nope: there is no hub group nope-hub" in result.output + (getattr(result, "stderr", "") or "")


def test_cli_bad_target_is_rejected(stack):
    code, text = _cli(["--target", "sparc"])
    assert code == 2 and "--target" in text and "hub" in text


def test_unknown_target_in_the_api_is_a_user_error():
    with pytest.raises(UserError, match="--target 'db'"):
        chaos.pick([], "db", random.Random())


def test_cli_builder_drill_reports_recovery(stack):
    (old,) = stack.instances("builders-x86_64")
    code, text = _cli(["--target", "builder", "--yes"])
    assert code == 0, text
    assert stack.state(old) == "terminated"
    assert f"terminated builder {old} in ks-builders-x86_64" in text
    assert "builder replaced: after 0m00s (1/1 InService, new i-" in text and "recovered in 0m00s" in text


class OneGroup:
    """A Groups port answering one scripted group row (the controller may change desired meanwhile)."""

    def __init__(self, desired: int, in_service: list[str]) -> None:
        self.row = {"AutoScalingGroupName": "ks-builders-x86_64", "DesiredCapacity": desired,
                    "Instances": [{"InstanceId": i, "LifecycleState": "InService"} for i in in_service]}

    def describe_groups(self, names):
        return [self.row]


@pytest.mark.parametrize("desired,in_service,ok", [
    (1, ["i-old"], False),           # Auto Scaling has not noticed the loss yet
    (1, [], False),                  # noticed, no replacement yet
    (1, ["i-new"], True),            # replaced
    (0, [], True),                   # the controller scaled in meanwhile: nothing to replace
])
def test_builder_recovery_follows_the_groups_desired_capacity(desired, in_service, ok):
    victim = chaos.Victim("i-old", "builder", "ks-builders-x86_64", "us-east-1a")
    step = chaos.builder_step(OneGroup(desired, in_service), victim, {"i-old"})
    assert step.check()[0] is ok


def test_koji_profile_reaches_the_hub_with_its_certificate(koji_hub, tmp_path, monkeypatch):
    """--koji-profile reads a profile as `kojistack client-config` writes it (koji's own read_config)."""
    hub, session = koji_hub
    pki_dir = tmp_path  # TestPki.create wrote the CA and client certs here
    conf = tmp_path / "home" / ".koji" / "config.d"
    conf.mkdir(parents=True)
    (conf / "ks.conf").write_text(f"[ks]\nserver = {hub.url}\nauthtype = ssl\n"
                                  f"cert = {pki_dir / 'kojiadmin.pem'}\nserverca = {pki_dir / 'ca.pem'}\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    task = hub.seed_task("buildArch", arch="x86_64", channel="default", state=OPEN, host="x86-64-01")
    tasks = chaos.koji_from_profile("ks")
    assert tasks.open_tasks("x86-64-01") == [task]
    assert tasks.open_tasks("x86-64-99") is None


def test_unknown_koji_profile_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(UserError, match="--koji-profile nope"):
        chaos.koji_from_profile("nope")
