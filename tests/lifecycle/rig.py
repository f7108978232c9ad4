"""The stack's whole life in one process: the generated template run by the CloudFormation double,
its Auto Scaling groups in the fake Auto Scaling service over moto EC2/SSM/CloudWatch, the fake
koji hub (the database's state, which outlives hubs), fake builders, and the real controller.

What runs for real: the template (kojistack.template.compose), the stack.env each machine gets
(read out of the launch template's user data as the double resolves it), the controller's
settings parser and its loop, and the `kojistack-report` script from that same user data, run
with bash against a fake `aws` CLI that forwards to the double (so a refused signal is refused by
the double's rule) and a stand-in for the link-local metadata service.

What is modelled (each with its source): the CloudFormation engine (tests/fakes/cloudformation.py),
the network paths (tests/fakes/vpc.py), Auto Scaling (tests/fakes/autoscaling.py), and here:
  - CloudFormation's handling of an AWS::AutoScaling::AutoScalingGroup: DesiredCapacity defaults to
    MinSize ([ASG] "If you don't specify a desired capacity, the default is the minimum size");
    delete sets min = max = desired = 0 and waits for the instances to go, so a group whose
    scale-in-protected instances never drain fails to delete (aws/aws-cdk #18179; the Auto
    Scaling API refuses DeleteAutoScalingGroup while instances remain: "You cannot delete an
    AutoScalingGroup while there are instances or pending Spot instance request(s) still in the
    group."); a rolling update replaces MaxBatchSize instances at a time and waits PauseTime for
    their signals when WaitOnResourceSignals ([Update] in tests/fakes/cloudformation.py); its Tags
    are the group's (DescribeAutoScalingGroups, where the controller reads its knobs), changed in
    place by an update ([ASG] Tags: "Update requires: No interruption").
  - AWS::EC2::LaunchTemplate: a change of LaunchTemplateData makes a new version, which
    GetAtt LatestVersionNumber returns ([LT] "LatestVersionNumber: The latest version number");
    a name is 3-128 characters of [a-zA-Z0-9().-/_] (EC2 API CreateLaunchTemplate).
  - health: tests/fakes/health.py's rules (grace period, EC2 and ELB checks, a reboot keeps the
    instance running) applied to a reboot's outage as it goes; a suspended HealthCheck or
    ReplaceUnhealthy process stops them ([Suspend]).
  - the hub's koji and the database schema: a hub boots only if the hub's own schema planner
    (cloud-init/payload/hub/python/kojistack_hub/schema_plan.py, run as is) accepts the database's
    schema for its koji; a newer koji's schema upgrades are applied at boot, before the smoke test
    (docs/upgrading.md: "A newer koji runs the schema upgrades shipped with it before httpd
    starts"); `broken_koji` names versions whose smoke test fails, `broken_koji_once` versions whose
    smoke test fails once (a transient failure). Every hub keeps the koji it installed on the file
    system (`kept_koji`), and a hub whose koji is older than the database's schema runs the newest
    kept koji of that schema instead (kojistack-bootstrap's koji_for_schema: the schema never goes
    back, a rolled-back upgrade rolls forward; docs/upgrading.md).
  - systemd: the controller starts only if the units it Requires= succeeded (systemd.unit(5):
    "If one of the other units fails to activate ... this unit will not be started"); read from
    the hub payload's drop-in.
[Suspend] https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-suspend-resume-processes.html
[ASG] https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-autoscaling-autoscalinggroup.html
[LT]  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-launchtemplate.html
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from fakes import health, vpc
from fakes.autoscaling import FakeAutoScaling
from fakes.builder import FakeBuilder
from fakes.cloudformation import Handler, Resource, Stack, ValidationError
from fakes.kojihub import FakeHub
from fakes.pki import TestPki
from kojistack import ids, names
from kojistack.controller.awsport import Cloud
from kojistack.controller.kojiport import KojiPort
from kojistack.controller.loop import Controller
from kojistack.controller.settings import from_env, parse_env
from support.cloudinit_files import written_files

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "cloud-init/payload/hub/python"))
from kojistack_hub import schema_plan  # noqa: E402  (the hub's own module, shipped in its payload)

CONTROLLER_DROPIN = ROOT / f"cloud-init/payload/hub/systemd/{names.UNIT_CONTROLLER}.d/kojistack.conf"
REGION = "us-east-1"
HUB_BOOT_SECONDS = 900  # a hub's first boot: packages, schema, smoke test (order of magnitude)
DELETE_WAIT_SECONDS = 4 * 3600  # how long the double's group delete waits (not a documented figure)
ASG = "AWS::AutoScaling::AutoScalingGroup"
LT = "AWS::EC2::LaunchTemplate"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def user_data_files(stack: Stack, lt_lid: str) -> dict[str, str]:
    """{path: content} of the write_files in a launch template's user data, as EC2 gets it."""
    return written_files(stack.resources[lt_lid].props["LaunchTemplateData"]["UserData"])


def payload_file(stack: Stack, lt_lid: str, member: str) -> str:
    """A file of the payload a launch template carries in its Metadata (what fetch-payload unpacks
    to /opt/kojistack/), e.g. names.env."""
    payload = stack.template["Resources"][lt_lid]["Metadata"]["kojistack"]["payload"]
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(payload["tgz_b64"]))) as tar:
        f = tar.extractfile(member)
        assert f is not None, member
        return f.read().decode()


class LaunchTemplates(Handler):
    """AWS::EC2::LaunchTemplate as moto launch templates (the controller reads their versions)."""

    def __init__(self, world: World):
        self.world = world

    def _data(self, r: Resource) -> dict:
        d = r.props["LaunchTemplateData"]
        return {"ImageId": "ami-12c6146b", **({"InstanceType": d["InstanceType"]} if "InstanceType" in d else {})}

    def create(self, stack: Stack, r: Resource) -> None:
        name = r.props.get("LaunchTemplateName", "")
        if name and not re.fullmatch(r"[a-zA-Z0-9().\-/_]{3,128}", name):
            raise ValidationError(f"1 validation error detected: Value '{name}' at 'launchTemplateName' failed to "
                                  "satisfy constraint: Member must have length less than or equal to 128")
        lt = self.world.ec2.create_launch_template(LaunchTemplateName=name or f"{stack.name}-{r.lid}",
                                                   LaunchTemplateData=self._data(r))["LaunchTemplate"]
        r.physical_id = lt["LaunchTemplateId"]
        r.attrs = {"LatestVersionNumber": "1", "DefaultVersionNumber": "1"}

    def update(self, stack: Stack, r: Resource, old_props: Any) -> None:
        v = self.world.ec2.create_launch_template_version(LaunchTemplateId=r.physical_id,
                                                          LaunchTemplateData=self._data(r))
        r.attrs["LatestVersionNumber"] = str(v["LaunchTemplateVersion"]["VersionNumber"])

    def delete(self, stack: Stack, r: Resource) -> None:
        if r.physical_id:
            self.world.ec2.delete_launch_template(LaunchTemplateId=r.physical_id)


class Groups(Handler):
    """AWS::AutoScaling::AutoScalingGroup over the fake Auto Scaling service."""

    def __init__(self, world: World):
        self.world = world
        self.delete_deadline: dict[str, float] = {}

    def create(self, stack: Stack, r: Resource) -> None:
        p = r.props
        name = p["AutoScalingGroupName"]
        if len(name) > 255:
            raise ValidationError("1 validation error detected: Value at 'autoScalingGroupName' failed to satisfy "
                                  "constraint: Member must have length less than or equal to 255")
        spec, itype = _launch(stack, p)
        by_transition = {h["LifecycleTransition"]: h["LifecycleHookName"]
                         for h in p.get("LifecycleHookSpecificationList", [])}
        launch_hook = by_transition.get("autoscaling:EC2_INSTANCE_LAUNCHING", "")
        # the hub's own launch hook is completed by kojistack-ready, not by the controller
        hooks = bool(launch_hook) and launch_hook != names.HUB_LAUNCH_HOOK
        lo, hi = int(p["MinSize"]), int(p["MaxSize"])
        g = self.world.asg.add_group(name, spec["LaunchTemplateId"], itype, lo, hi, str(spec["Version"]), hooks)
        g.launch_hook = launch_hook
        g.terminate_hook = by_transition.get("autoscaling:EC2_INSTANCE_TERMINATING", "")
        g.desired = int(p.get("DesiredCapacity", lo))  # [ASG]: defaults to the minimum size
        g.protect = bool(p.get("NewInstancesProtectedFromScaleIn", False))
        g.heartbeat_timeout = float(max((h.get("HeartbeatTimeout", 3600) for h in
                                         p.get("LifecycleHookSpecificationList", [])), default=3600))
        g.tags = _group_tags(p)
        r.physical_id = name
        self.world.group_lid[name] = r.lid

    def update(self, stack: Stack, r: Resource, old_props: Any) -> None:
        g = self.world.asg.groups[r.physical_id]
        p = r.props
        g.min_size, g.max_size = int(p["MinSize"]), int(p["MaxSize"])
        g.tags = _group_tags(p)
        g.desired = int(p["DesiredCapacity"]) if "DesiredCapacity" in p else min(max(g.desired, g.min_size), g.max_size)
        spec, _ = _launch(stack, p)
        old_spec, _ = _launch(stack, old_props)
        g.lt_version = str(spec["Version"])
        rolling = (stack.policy(r.lid, "UpdatePolicy") or {}).get("AutoScalingRollingUpdate")
        if rolling and spec != old_spec:
            # [Update] AutoScalingRollingUpdate: replace MaxBatchSize old instances at a time, keeping
            # MinInstancesInService; with WaitOnResourceSignals wait PauseTime for their signals
            old = [i for i in g.instances.values() if i.lt_version != g.lt_version]
            batch = old[:int(rolling.get("MaxBatchSize", 1))]
            assert len(batch) == len(old), "one batch only in this double"
            assert int(rolling.get("MinInstancesInService", 0)) == 0, "MinInstancesInService 0 only in this double"
            g.suspended = list(rolling.get("SuspendProcesses", []))
            for inst in batch:
                self.world.asg._finish(g, inst)
            if rolling.get("WaitOnResourceSignals"):
                stack.wait_for_signals(r, len(batch), rolling.get("PauseTime", "PT5M"))

    def busy(self, stack: Stack, r: Resource) -> str | None:
        g = self.world.asg.groups.get(r.physical_id)
        if r.status == "UPDATE_IN_PROGRESS" and g is not None and not r.wanted:
            g.suspended = []
        if r.status != "DELETE_IN_PROGRESS":
            return None
        if g is None:
            return None
        if g.instances:
            if stack.clock() >= self.delete_deadline[r.lid]:
                return ("You cannot delete an AutoScalingGroup while there are instances or pending Spot "
                        "instance request(s) still in the group.")
            return ""
        del self.world.asg.groups[r.physical_id]
        return None

    def delete(self, stack: Stack, r: Resource) -> None:
        self.world.asg.set_sizes(r.physical_id, 0, 0, 0)
        self.delete_deadline[r.lid] = stack.clock() + DELETE_WAIT_SECONDS


def _group_tags(p: dict) -> dict[str, str]:
    """A group's tags from its properties ([ASG] Tags: Key, Value, PropagateAtLaunch)."""
    return {t["Key"]: str(t["Value"]) for t in p.get("Tags", [])}


def _launch(stack: Stack, p: dict) -> tuple:
    if "LaunchTemplate" in p:
        spec = p["LaunchTemplate"]
        lt = _lt_by_id(stack, spec["LaunchTemplateId"])
        return spec, stack.resources[lt].props["LaunchTemplateData"]["InstanceType"]
    mixed = p["MixedInstancesPolicy"]["LaunchTemplate"]
    return mixed["LaunchTemplateSpecification"], mixed["Overrides"][0]["InstanceType"]


def _lt_by_id(stack: Stack, physical: str) -> str:
    return next(r.lid for r in stack.resources.values() if r.type == LT and r.physical_id == physical)


@dataclass
class Machine:
    """One instance's boot, as far as the lifecycle needs it."""
    id: str
    group: str  # logical id of its group
    launched: float
    ready: bool | None = None  # None: booting; True/False: its readiness step's outcome
    reports: list[subprocess.CompletedProcess] = field(default_factory=list)
    builder: FakeBuilder | None = None
    down_since: float | None = None  # httpd not answering (a reboot) since
    down_until: float = 0.0


class Bridge:
    """The fake `aws` CLI's other end: forwards the calls the boot scripts make to the doubles."""

    def __init__(self, world: World):
        bridge = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                argv = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                code, out = bridge.call(argv)
                body = json.dumps({"code": code, "out": out}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.world = world
        self.calls: list[list[str]] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def call(self, argv: list[str]) -> tuple:
        self.calls.append(argv)
        opts, rest, i = {}, [], 0
        while i < len(argv):
            if argv[i].startswith("--"):
                has_value = i + 1 < len(argv) and not argv[i + 1].startswith("--")
                opts[argv[i][2:]] = argv[i + 1] if has_value else True
                i += 2 if has_value else 1
            else:
                rest.append(argv[i])
                i += 1
        service, op = rest[0], rest[1]
        w = self.world
        try:
            if (service, op) == ("cloudformation", "signal-resource"):
                if opts["stack-name"] not in (w.stack.name, w.stack.id):
                    raise ValidationError(f"Stack with id {opts['stack-name']} does not exist")
                w.stack.signal(opts["logical-resource-id"], opts["unique-id"], opts["status"])
                return 0, ""
            if (service, op) == ("cloudformation", "describe-stack-resource"):
                r = w.stack.resources[opts["logical-resource-id"]]
                detail = {"StackName": w.stack.name, "StackId": w.stack.id, "LogicalResourceId": r.lid,
                          "PhysicalResourceId": r.physical_id, "ResourceType": r.type, "ResourceStatus": r.status}
                if str(opts.get("query", "")).startswith("StackResourceDetail."):  # --output text
                    return 0, str(detail[opts["query"].split(".", 1)[1]])
                return 0, json.dumps({"StackResourceDetail": detail})
            if (service, op) == ("cloudformation", "describe-stacks"):
                return 0, json.dumps({"Stacks": [{"StackName": w.stack.name, "StackId": w.stack.id,
                                                  "StackStatus": w.stack.status}]})
            if (service, op) == ("ssm", "put-parameter"):
                w.ssm.put_parameter(Name=opts["name"], Value=opts["value"], Type=opts.get("type", "String"),
                                    Overwrite=bool(opts.get("overwrite")))
                return 0, ""
            if (service, op) == ("autoscaling", "set-instance-health"):
                g = w.asg._group_of(opts["instance-id"])
                inst = g.instances[opts["instance-id"]]
                inst.health = opts["health-status"]
                return 0, ""
        except ValidationError as err:
            return 254, f"An error occurred (ValidationError) when calling the {_camel(op)} operation: {err}"
        except Exception as err:  # a moto ClientError: print it as the CLI does
            return 254, str(err)
        return 254, f"fake aws: {service} {op} is not modelled here"


def _camel(op: str) -> str:
    return "".join(p.capitalize() for p in op.split("-"))


FAKE_AWS = r'''#!PYTHON
import json, os, sys, urllib.request
req = urllib.request.Request(os.environ["FAKE_AWS_BRIDGE"], data=json.dumps(sys.argv[1:]).encode(), method="POST")
ans = json.load(urllib.request.urlopen(req))
if ans["out"]:
    print(ans["out"], file=sys.stdout if ans["code"] == 0 else sys.stderr)
sys.exit(ans["code"])
'''

# Stand-in for the link-local instance metadata service (IMDSv2: a PUT for a token, then GETs
# with it; https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html):
# answers what the scripts ask for; anything else goes to the real curl.
FAKE_CURL = r'''#!/bin/bash
for a in "$@"; do
  case "$a" in
    http://169.254.169.254/latest/api/token) echo TOKEN; exit 0 ;;
    http://169.254.169.254/latest/meta-data/instance-id) echo -n "$FAKE_IID"; exit 0 ;;
    http://169.254.169.254/*) echo "curl: (22) The requested URL returned error: 404" >&2; exit 22 ;;
  esac
done
exec REALCURL "$@"
'''


class World:
    """Everything of one stack, inside `moto.mock_aws()`."""

    def __init__(self, workdir: Path, template: dict, parameters: dict[str, str], name: str = "ks"):
        self.workdir, self.clock = Path(workdir), Clock()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.cw = boto3.client("cloudwatch", region_name=REGION)
        self.asg = FakeAutoScaling(self.ec2, self.clock)
        self.pki = TestPki.create(str(self.workdir))
        self.hub = FakeHub.start(self.pki, clock=self.clock)
        self.hub.seed_user(names.USER_CONTROLLER, ("host", "admin"))
        self.hub.seed_host(names.HUB_HOST, "x86_64 aarch64", ("createrepo", "light"), capacity=20.0)
        self.group_lid: dict[str, str] = {}
        self.machines: dict[str, Machine] = {}
        self.bridge = Bridge(self)
        self.bin = self.workdir / "bin"
        self.bin.mkdir(exist_ok=True)
        (self.bin / "aws").write_text(FAKE_AWS.replace("PYTHON", sys.executable, 1))
        real_curl = subprocess.run(["bash", "-c", "command -v curl"], capture_output=True, text=True).stdout.strip()
        (self.bin / "curl").write_text(FAKE_CURL.replace("REALCURL", real_curl))
        for f in ("aws", "curl"):
            (self.bin / f).chmod(0o755)
        self.controller: Controller | None = None
        self.controller_loops = 0
        self.db_schema: str | None = None  # the koji version the database schema matches
        self.broken_koji: set = set()
        self.broken_koji_once: set = set()
        self.kept_koji: set = set()  # koji builds kept on /mnt/koji by the hubs that installed them
        self.controller_errors: list[str] = []
        self.new_stack(template, parameters, name)

    def new_stack(self, template: dict, parameters: dict[str, str], name: str) -> Stack:
        self.stack = Stack(name, template, parameters, self.clock, {ASG: Groups(self), LT: LaunchTemplates(self)})
        return self.stack

    def stop(self) -> None:
        self.hub.stop()
        self.bridge.server.shutdown()
        self.bridge.server.server_close()

    # --- who is where ---------------------------------------------------------------------

    def group(self, lid: str):
        r = self.stack.resources.get(lid)
        return self.asg.groups.get(r.physical_id) if r and r.physical_id else None

    def live(self, lid: str, state: str = "") -> list[str]:
        g = self.group(lid)
        return sorted(i.id for i in g.instances.values() if not state or i.lifecycle == state) if g else []

    def env_of(self, group_lid: str) -> dict[str, str]:
        """The instance's stack.env, from its launch template's user data as resolved."""
        lt = _lt_by_id(self.stack, _launch(self.stack, self.stack.resources[group_lid].props)[0]["LaunchTemplateId"])
        return parse_env(user_data_files(self.stack, lt)["/etc/kojistack/stack.env"])

    def env_of_template(self, lt_lid: str) -> dict[str, str]:
        return parse_env(user_data_files(self.stack, lt_lid)["/etc/kojistack/stack.env"])

    def report(self, m: Machine, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run the machine's own `kojistack-report` (from its user data) with bash."""
        lt = _lt_by_id(self.stack, _launch(self.stack, self.stack.resources[m.group].props)[0]["LaunchTemplateId"])
        box = self.workdir / m.id
        box.mkdir(exist_ok=True)
        script = box / "kojistack-report"
        script.write_text(user_data_files(self.stack, lt)["/usr/local/sbin/kojistack-report"])
        run_env = dict(os.environ, **self.env_of(m.group), PATH=f"{self.bin}:{os.environ['PATH']}",
                       FAKE_AWS_BRIDGE=self.bridge.url, FAKE_IID=m.id, KOJISTACK_STATE_DIR=str(box / "state"),
                       KOJISTACK_RUN_DIR=str(box / "run"), **(env or {}))
        proc = subprocess.run(["bash", str(script), *args], env=run_env, capture_output=True, text=True, timeout=60)
        m.reports.append(proc)
        return proc

    # --- the paths (tests/fakes/vpc.py) ----------------------------------------------------

    def hub_serves(self) -> bool:
        hub = self.live(ids.HUB_GROUP, "InService")
        return bool(hub) and self.machines[hub[0]].ready is not None and vpc.hub_backends(self.stack)

    def builders_reach_hub(self) -> bool:
        return self.hub_serves() and vpc.through_nlb(self.stack, ids.INTERNAL_NLB, ids.BUILDER_SG, ids.HUB_SG)

    def controller_works(self) -> bool:
        """The controller runs on the hub: it needs the hub, AWS APIs (through the hub's subnets'
        routes) and koji through the internal load balancer."""
        if not self.hub_serves():
            return False
        (hub,) = self.live(ids.HUB_GROUP, "InService")
        m = self.machines[hub]
        requires_ready = any(re.match(r"(Requires|BindsTo)=.*kojistack-ready\.service", line)
                             for line in CONTROLLER_DROPIN.read_text().splitlines())
        if requires_ready and not m.ready:
            return False  # systemd never started it
        return (all(vpc.internet_from(self.stack, s) for s in vpc.subnets_of(self.stack, ids.HUB_GROUP))
                and vpc.through_nlb(self.stack, ids.INTERNAL_NLB, ids.HUB_SG, ids.HUB_SG))

    # --- time ------------------------------------------------------------------------------

    def tick(self, seconds: float = 30.0) -> None:
        """Time passes: Auto Scaling reconciles, machines boot, builders work, the controller loops."""
        self.clock.now += seconds
        self.asg.reconcile()
        for name, g in list(self.asg.groups.items()):
            for inst in list(g.instances.values()):
                if inst.id not in self.machines:
                    self.machines[inst.id] = Machine(inst.id, self.group_lid[name], self.clock.now)
        self._health()
        for iid, m in sorted(self.machines.items()):
            g = self.group(m.group)
            if g is None or iid not in g.instances or g.instances[iid].lifecycle.startswith("Terminating"):
                if m.builder and m.builder.session:
                    m.builder.session = None
                continue
            if m.group == ids.HUB_GROUP:
                self._hub_step(m)
            else:
                self._builder_step(m)
        if self.controller_works():
            if self.controller is None:
                self.controller = self._new_controller()
            try:  # as Controller.forever: a failed loop is logged and retried with a new session
                self.controller.once()
                self.controller_loops += 1
            except Exception as exc:  # noqa: BLE001
                self.controller_errors.append(repr(exc))
                self.controller.koji.session = None
        else:
            self.controller = None  # a controller that cannot work now starts afresh later

    def reboot(self, iid: str, down_seconds: float) -> None:
        """`reboot` on the instance: it stays running (tests/fakes/health.py rule 4); httpd answers
        again after `down_seconds`."""
        m = self.machines[iid]
        m.down_since, m.down_until = self.clock.now, self.clock.now + down_seconds

    def _health(self) -> None:
        """Auto Scaling's health check of the hub group: the rules of tests/fakes/health.py, applied
        to the outage so far; a suspended HealthCheck or ReplaceUnhealthy process stops it ([Suspend])."""
        g = self.group(ids.HUB_GROUP)
        if g is None or {"HealthCheck", "ReplaceUnhealthy"} & set(g.suspended):
            return
        group = self.stack.defs[ids.HUB_GROUP]
        tgs = [self.stack.defs[vpc._names(a)] for a in group["Properties"].get("TargetGroupARNs", [])]
        for inst in list(g.instances.values()):
            m = self.machines.get(inst.id)
            if m is None or inst.lifecycle != "InService" or m.down_since is None:
                continue
            outage = health.Outage.reboot(at=int(m.down_since - m.launched),
                                          service_down_seconds=int(min(self.clock.now, m.down_until) - m.down_since))
            if health.replaced(group, tgs, outage):
                inst.health = "Unhealthy"
                self.asg._start_termination(g, inst)

    def _hub_step(self, m: Machine) -> None:
        if m.ready is None and self.clock.now - m.launched >= HUB_BOOT_SECONDS and vpc.hub_backends(self.stack):
            koji = self.env_of(m.group).get("KOJISTACK_KOJI_VERSION") or "1.35.3"
            self.kept_koji.add(koji)  # the koji step keeps the RPMs it installed
            if self.db_schema in self.kept_koji and \
                    schema_plan.parse_version(self.db_schema) > schema_plan.parse_version(koji):
                koji = self.db_schema  # koji_for_schema: run the kept koji of the newer schema
            try:
                schema_plan.plan(self.db_schema or koji, koji, [])
            except schema_plan.SchemaError:
                return self._hub_failed(m, names.UNIT_BOOTSTRAP)  # stops at the database step
            self.db_schema = koji
            if koji in self.broken_koji or koji in self.broken_koji_once:
                self.broken_koji_once.discard(koji)
                return self._hub_failed(m, names.UNIT_READY)  # the smoke test fails
            m.ready = self.report(m, "success").returncode == 0

    def _hub_failed(self, m: Machine, unit: str) -> None:
        """The unit's ExecStopPost: kojistack-report records the failure and signals it."""
        self.report(m, "exit", unit, env={"SERVICE_RESULT": "exit-code", "EXIT_STATUS": "1"})
        m.ready = False

    def _builder_step(self, m: Machine) -> None:
        g = self.group(m.group)
        inst = g.instances[m.id]
        if m.builder is None:
            if not (vpc.internet_from(self.stack, vpc.subnets_of(self.stack, m.group)[0])):
                return  # no route to SSM yet: the bootstrap retries
            env = self.env_of(m.group)
            m.builder = FakeBuilder(m.id, self.ec2, self.ssm, env["KOJISTACK_SSM_PREFIX"], self.hub.url,
                                    self.pki.ca_pem, str(self.workdir), self.clock)
            if getattr(self, "fail_next_builder", 0):
                self.fail_next_builder -= 1
                self._builder_failed(m, inst)
                return
            try:
                m.builder.hand_over()
            except Exception:  # noqa: BLE001 - an AWS refusal fails the bootstrap (set -e)
                self._builder_failed(m, inst)
            return
        if not self.builders_reach_hub():
            return
        if m.builder.session is None and inst.lifecycle == "InService" and m.builder.try_start():
            # kojid is up: the bootstrap's last step reports success (and signals, maybe)
            m.ready = self.report(m, "success").returncode == 0
            if not m.ready:
                self._builder_failed(m, inst)
                return
        if m.builder.session is not None:
            m.builder.step()

    def _builder_failed(self, m: Machine, inst) -> None:
        """The builder bootstrap's failure path: kojistack-report records and signals (ExecStopPost),
        give_up marks the instance Unhealthy, and Auto Scaling replaces it."""
        self.report(m, "exit", names.UNIT_BOOTSTRAP,
                    env={"SERVICE_RESULT": "exit-code", "EXIT_STATUS": "1"})
        m.ready = False
        inst.health = "Unhealthy"
        if m.builder and m.builder.session:
            m.builder.stop()
        self.asg._start_termination(self.group(m.group), inst)

    def _new_controller(self) -> Controller:
        launch = _launch(self.stack, self.stack.resources[ids.HUB_GROUP].props)[0]
        lt = _lt_by_id(self.stack, launch["LaunchTemplateId"])
        env = parse_env(payload_file(self.stack, lt, names.NAMES_ENV))  # /opt/kojistack/names.env
        env.update(self.env_of(ids.HUB_GROUP))  # /etc/kojistack/stack.env
        env["KOJISTACK_HUB_URL"] = self.hub.url
        settings = from_env(env)
        settings = type(settings)(**{**settings.__dict__, "ca_pem": self.pki.ca_pem,
                                     "client_pem": self.pki.client(names.USER_CONTROLLER),
                                     "builder_ca_crt": self.pki.builder_ca_crt,
                                     "builder_ca_key": self.pki.builder_ca_key})
        self.settings = settings
        port = KojiPort(self.hub.url, settings.client_pem, self.pki.ca_pem, settings.policy.builder_channels)
        return Controller(settings, port, self.asg,
                          Cloud(self.ec2, self.ssm, self.cw), clock=self.clock)

    def run(self, until: tuple, seconds: float = 30.0, max_passes: int = 600) -> str:
        return self.stack.run(lambda: self.tick(seconds), until, max_passes)

    def tasks(self, n: int, arch: str = "x86_64") -> list[int]:
        return [self.hub.seed_task("buildArch", arch=arch, weight=1.0) for _ in range(n)]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
