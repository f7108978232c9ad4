"""An end-to-end rig: moto (EC2, SSM, CloudWatch) + the fake Auto Scaling + the fake koji hub over
HTTPS + fake builders, driven by one manual clock, with the real controller in the middle."""

import time

import boto3

from fakes.autoscaling import FakeAutoScaling
from fakes.builder import FakeBuilder
from fakes.kojihub import FakeHub
from fakes.pki import TestPki
from kojistack import names
from kojistack.controller.awsport import Cloud
from kojistack.controller.kojiport import KojiPort
from kojistack.controller.loop import Controller
from kojistack.controller.settings import Settings, names_from_env
from support.channels import HUB_CHANNELS, policy

REGION = "us-east-1"
STACK = "ks"
PREFIX = f"/{STACK}/kojistack"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Rig:
    """Everything of one stack; call inside `moto.mock_aws()`."""

    def __init__(self, workdir: str, arches=("x86_64",), max_size: int = 5, idle_minutes: float = 10,
                 light_max: int = 0):
        self.clock = Clock()
        self.workdir = workdir
        self.pki = TestPki.create(workdir)
        self.hub = FakeHub.start(self.pki, clock=self.clock)
        self.hub.seed_user(names.USER_CONTROLLER, ("host", "admin"))
        self.hub.seed_user("kojiadmin", ("admin",))
        self.hub.seed_host(names.HUB_HOST, "x86_64 aarch64", HUB_CHANNELS, capacity=2.0)
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.cw = boto3.client("cloudwatch", region_name=REGION)
        self.asg = FakeAutoScaling(self.ec2, self.clock)
        self.lt: dict[str, str] = {}
        for arch in arches:
            itype = "c6i.xlarge" if arch == "x86_64" else "c7g.xlarge"
            lt = self.ec2.create_launch_template(LaunchTemplateName=f"{STACK}-{arch}",
                                                 LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": itype})
            self.lt[arch] = lt["LaunchTemplate"]["LaunchTemplateId"]
            self.asg.add_group(f"{STACK}-builders-{arch}", self.lt[arch], itype, 0, max_size)
        if light_max:  # the light hosts' group, as kojistack/template/light.py makes it
            lt = self.ec2.create_launch_template(LaunchTemplateName=f"{STACK}-light",
                                                 LaunchTemplateData={"ImageId": "ami-12c6146b",
                                                                     "InstanceType": "m7g.large"})
            self.asg.add_group(f"{STACK}-light", lt["LaunchTemplate"]["LaunchTemplateId"], "m7g.large", 0, light_max)
        self.settings = Settings(
            stack_name=STACK, region=REGION, hub_url=self.hub.url, arches=tuple(arches),
            metrics_namespace=f"kojistack/{STACK}", ssm_prefix=PREFIX,
            # the shell's tests size with the fake kojid's weights as seeded (it opens a task at the
            # weight it was given) and no spare room: the shipped sizing is decide's, tested there
            policy=policy(idle_seconds=idle_minutes * 60, drain_limit_seconds=6 * 3600, spare_tasks=0,
                          spare_fraction=0.0, queued_task_weight=1.0),
            names=names_from_env(names.env()),
            ca_pem=self.pki.ca_pem, client_pem=self.pki.client(names.USER_CONTROLLER),
            builder_ca_crt=self.pki.builder_ca_crt, builder_ca_key=self.pki.builder_ca_key)
        self.builders: dict[str, FakeBuilder] = {}
        self.ctl = self.new_controller()
        self.desired_calls: list[tuple] = []  # (monotonic time, group, n)
        real_set = self.asg.set_desired

        def recording_set(name: str, n: int) -> None:
            self.desired_calls.append((time.monotonic(), name, n))
            real_set(name, n)
        self.asg.set_desired = recording_set  # type: ignore[method-assign]

    def new_controller(self) -> Controller:
        """A fresh controller process (new koji session, no memory), as after a restart."""
        return Controller(self.settings, KojiPort(self.hub.url, self.settings.client_pem, self.pki.ca_pem,
                                                   self.settings.policy.builder_channels),
                          self.asg, Cloud(self.ec2, self.ssm, self.cw), clock=self.clock)

    def group(self, arch: str = "x86_64"):
        """A builder group, or (arch "light") the light hosts' group."""
        return self.asg.groups[f"{STACK}-light" if arch == "light" else f"{STACK}-builders-{arch}"]

    def instances(self, arch: str = "x86_64", state: str | None = None) -> list[str]:
        return sorted(i.id for i in self.group(arch).instances.values() if state is None or i.lifecycle == state)

    def boot_new_instances(self) -> None:
        """New Pending:Wait instances run their bootstrap up to the CSR hand-over."""
        for g in self.asg.groups.values():
            for inst in g.instances.values():
                if inst.lifecycle == "Pending:Wait" and inst.id not in self.builders:
                    b = FakeBuilder(inst.id, self.ec2, self.ssm, PREFIX, self.hub.url, self.pki.ca_pem,
                                    self.workdir, self.clock)
                    b.hand_over()
                    self.builders[inst.id] = b

    def tick(self, seconds: float = 20.0, controller: bool = True):
        """Time passes: Auto Scaling reconciles, builders boot and poll, the controller loops once."""
        self.clock.now += seconds
        self.asg.reconcile()
        self.boot_new_instances()
        live = {i for g in self.asg.groups.values() for i in g.instances}
        for iid, b in sorted(self.builders.items()):
            if iid in live and b.try_start():
                b.step()
        result = self.ctl.once() if controller else None
        for iid, b in sorted(self.builders.items()):  # builders whose hook just completed start at once
            if iid in live and b.session is None and b.try_start():
                b.step()
        return result

    def run_until(self, cond, max_ticks: int = 60, seconds: float = 20.0) -> int:
        for n in range(max_ticks):
            if cond():
                return n
            self.tick(seconds)
        raise AssertionError("condition not reached")

    def stop(self) -> None:
        self.hub.stop()
