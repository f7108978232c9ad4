"""The controller's shell: observe Koji and AWS, `decide.plan()`, carry the plan out, repeat.

Each action is idempotent and guarded on its own, so one failing call (a throttle, a hub restart)
delays only that action to the next loop. Nothing is remembered between loops except caches of
facts that cannot change (instance types' vCPUs): drains live in instance tags, slots in tags and
Koji hosts.
"""

import datetime
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from . import decide
from .awsport import AutoScaling, Cloud, group_launch_template
from .decide import Group, Instance, Observed, Plan
from .kojiport import KojiPort
from .pki import CsrError, csr_key_sha256, sign_builder_csr
from .settings import Settings

log = logging.getLogger(__name__)


def group_idle_seconds(row: dict[str, Any], key: str) -> Optional[float]:
    """The group's idle time before scale-in (tag `key`, names.TAG_IDLE_MINUTES, in minutes), if set and valid."""
    for tag in row.get("Tags") or []:
        if tag.get("Key") == key:
            try:
                minutes = float(tag.get("Value", ""))
            except ValueError:
                log.warning("group %s: tag %s=%r is not a number; using the default",
                            row.get("AutoScalingGroupName"), key, tag.get("Value"))
                return None
            return minutes * 60 if minutes >= 0 else None
    return None


#: the most room a group's tag may ask for: BuilderSpareTasks allows 0 to 8; a tag edited by hand
#: beyond this is refused with a warning (decide places each task of room in turn)
MAX_SPARE_TASKS = 1000


def group_spare_tasks(row: dict[str, Any], key: str) -> Optional[int]:
    """The group's room for arriving build tasks (tag `key`, names.TAG_SPARE_TASKS: a whole number
    from 0 to MAX_SPARE_TASKS), if set and valid; None: the policy's (KOJISTACK_BUILDER_SPARE_TASKS)."""
    for tag in row.get("Tags") or []:
        if tag.get("Key") == key:
            value = str(tag.get("Value", "")).strip()
            if not (value.isascii() and value.isdigit() and int(value) <= MAX_SPARE_TASKS):
                log.warning("group %s: tag %s=%r is not a whole number of tasks from 0 to %d; using the default",
                            row.get("AutoScalingGroupName"), key, tag.get("Value"), MAX_SPARE_TASKS)
                return None
            return int(value)
    return None


@dataclass
class Controller:
    """One controller: settings plus its three ports and a clock."""

    settings: Settings
    koji: KojiPort
    asg: AutoScaling
    cloud: Cloud
    clock: Callable[[], float] = time.time
    csrs: dict[str, str] = field(default_factory=dict)  # instance id -> CSR PEM read this loop
    failures: dict[str, str] = field(default_factory=dict)  # instance id -> failed bootstrap step, this loop
    suspended: bool = False
    # builders whose `cert/<id>` parameter is still there; None until the first loop has listed them
    certs_out: Optional[set[str]] = None
    light_suspended: bool = False

    # --- observe ----------------------------------------------------------------------------

    def observe(self) -> Observed:
        """One consistent-enough picture of Koji and the builder groups."""
        s = self.settings
        now = self.clock()
        names = {s.group_name(a): a for a in s.arches}
        light_name = s.light_group_name()
        rows = self.asg.describe_groups(sorted(names) + [light_name])
        ids = [i["InstanceId"] for g in rows for i in g.get("Instances", [])]
        ec2 = self.cloud.describe_instances(ids) if ids else {}
        vcpus = self.cloud.vcpus(sorted({e["type"] for e in ec2.values()}))
        since = datetime.datetime.fromtimestamp(now - 300, tz=datetime.timezone.utc)
        groups: list[Group] = []
        instances: list[Instance] = []
        light: Optional[decide.LightGroup] = None
        light_instances: list[Instance] = []
        self.csrs = {}
        self.failures = self._failure_records() if ids else {}
        for g in rows:
            lt_id, lt_version, types = group_launch_template(g)
            current_version, lt_type = (self.cloud.launch_template(lt_id, lt_version or "$Default")
                                        if lt_id else (None, None))
            if g["AutoScalingGroupName"] == light_name:
                light = self._light_group(g, types[0] if types else lt_type)
                light_instances = [self._instance(i, decide.LIGHT, ec2.get(i["InstanceId"]), vcpus, current_version,
                                                  now) for i in g.get("Instances", [])]
                continue
            arch = names[g["AutoScalingGroupName"]]
            group_vcpus = self.cloud.vcpus(types or ([lt_type] if lt_type else []))
            per_builder = decide.builder_capacity(min(group_vcpus.values()) if group_vcpus else 2)
            groups.append(Group(g["AutoScalingGroupName"], arch, g["MinSize"], g["MaxSize"], g["DesiredCapacity"],
                                per_builder, self._launch_failures(g["AutoScalingGroupName"], since),
                                idle_seconds=group_idle_seconds(g, self.settings.names.tag_idle_minutes),
                                spare_tasks=group_spare_tasks(g, self.settings.names.tag_spare_tasks)))
            for i in g.get("Instances", []):
                instances.append(self._instance(i, arch, ec2.get(i["InstanceId"]), vcpus, current_version, now))
        tasks, hosts = self.koji.observe({i.slot for i in instances if i.slot and i.lifecycle == decide.IN_SERVICE},
                                         s.arches, s.policy.hub_channels, s.policy.light_channel)
        return Observed(now, tasks, hosts, tuple(instances), tuple(groups), light, tuple(light_instances))

    def _light_group(self, row: dict[str, Any], instance_type: Optional[str]) -> Optional[decide.LightGroup]:
        """The light hosts' group, sized by its instance type's memory; None (left alone) when the
        type is unknown (a light host's slots cannot be told)."""
        mem = self.cloud.memory_mib(instance_type) if instance_type else None
        if mem is None or instance_type is None:
            log.warning("light group %s: instance type %r unknown; light hosts left alone",
                        row["AutoScalingGroupName"], instance_type)
            return None
        return decide.LightGroup(row["AutoScalingGroupName"], row["MinSize"], row["MaxSize"], row["DesiredCapacity"],
                                 decide.light_host_slots(mem), self.cloud.koji_arch(instance_type))

    def _failure_records(self) -> dict[str, str]:
        """{instance id: failed step} from the builders' failure records (kojistack-report)."""
        try:
            records = self.cloud.failure_records(f"{self.settings.ssm_prefix}/bootstrap")
        except Exception as exc:  # noqa: BLE001 - retried next loop; nothing is abandoned meanwhile
            log.warning("reading the bootstrap failure records: %s", exc)
            return {}
        return {iid: str(r.get("step") or "unknown") for iid, r in records.items()}

    def _launch_failures(self, name: str, since: datetime.datetime) -> int:
        try:
            return self.asg.failed_launches(name, since)
        except Exception as exc:  # a metric is not worth failing the loop for
            log.warning("describe scaling activities of %s: %s", name, exc)
            return 0

    def _instance(self, row: dict[str, Any], arch: str, ec2: Optional[dict[str, Any]], vcpus: dict[str, int],
                  current_version: Optional[str], now: float) -> Instance:
        iid = row["InstanceId"]
        tags = ec2["tags"] if ec2 else {}
        version = (row.get("LaunchTemplate") or {}).get("Version")
        csr_hash = None
        if row["LifecycleState"] == decide.PENDING_WAIT:
            csr = self.cloud.get_parameter(f"{self.settings.ssm_prefix}/csr/{iid}")
            if csr:
                try:
                    csr_hash = csr_key_sha256(csr)
                    self.csrs[iid] = csr
                except CsrError as exc:
                    log.warning("CSR of %s is unreadable: %s", iid, exc)
                    csr_hash = "unreadable"
        drain = tags.get(self.settings.names.tag_drain_started)
        return Instance(
            id=iid, arch=arch, lifecycle=row["LifecycleState"],
            launched_at=ec2["launched"] if ec2 else now, ec2_state=ec2["state"] if ec2 else "terminated",
            healthy=row.get("HealthStatus", "Healthy") == "Healthy",
            up_to_date=current_version is None or version is None or version == current_version,
            slot=tags.get(self.settings.names.tag_slot), drain_started=float(drain) if drain else None,
            tag_key_sha256=tags.get(self.settings.names.tag_csr_sha256), csr_key_sha256=csr_hash,
            vcpus=vcpus.get(ec2["type"], 2) if ec2 else 2,
            bootstrap_failure=self.failures.get(iid),
        )

    # --- act --------------------------------------------------------------------------------

    def execute(self, state: Observed, plan: Plan) -> list[str]:
        """Carry out `plan`; returns the errors met (each action is tried independently)."""
        s = self.settings
        errors: list[str] = []
        by_id = {i.id: i for i in state.instances + state.light_instances}
        group_of = {g.arch: g.name for g in state.groups}  # group key (arch, or decide.LIGHT) -> group name
        if state.light is not None:
            group_of[decide.LIGHT] = state.light.name
        acted: set[str] = set()  # instances whose abandon/terminate call succeeded

        # fn is called with no arguments; the lambdas below bind loop variables as default
        # arguments, which mypy can type only against Callable[..., Any]
        def attempt(what: str, fn: Callable[..., Any]) -> bool:
            try:
                fn()
                return True
            except Exception as exc:  # noqa: BLE001 - logged, retried next loop
                errors.append(f"{what}: {exc}")
                log.error("%s failed: %s", what, exc)
                return False

        light_desired = {decide.LIGHT: plan.light.desired} if plan.light.desired is not None else {}
        for part, desired in ((plan, plan.desired), (plan.light, light_desired)):
            self._act(state, part, desired, by_id, group_of, attempt, acted)
        for iid in sorted(set(plan.forget_failures + plan.light.forget_failures) & acted):
            # abandoned or terminated: forget the record
            attempt(f"delete failure record {iid}", lambda i=iid: self.cloud.delete_parameter(
                f"{s.ssm_prefix}/bootstrap/{i}"))
        free = plan.free_tasks + plan.light.free_tasks
        if free:
            log.info("freeing tasks of vanished builders and light hosts: %s", list(free))
            attempt("free tasks", lambda: self.koji.free(free))   # ends with a scheduler run
        elif plan.run_scheduler:
            attempt("run scheduler", self.koji.run_scheduler)
        attempt("collect certificates", lambda: self._collect_certificates(state))
        attempt("put metrics", lambda: self.cloud.put_metrics(
            s.metrics_namespace, plan.metrics,
            datetime.datetime.fromtimestamp(state.now, tz=datetime.timezone.utc)))
        return errors

    def _collect_certificates(self, state: Observed) -> None:
        """Delete `cert/<id>` once its builder no longer needs it: its kojid has logged in with it
        (the builder's Koji host is ready or holds a task; the key stays on the builder, which
        never reads the parameter again while its certificate is valid) or the builder is gone.
        Every registration leaves one parameter, and SSM keeps at most 10,000 standard parameters
        per account and Region (https://docs.aws.amazon.com/general/latest/gr/ssm.html): a fleet
        that churns through builders would reach that. After a restart the first loop lists what
        is left (one GetParametersByPath call a page)."""
        if self.certs_out is None:
            self.certs_out = set(self.cloud.parameter_leaves(f"{self.settings.ssm_prefix}/cert"))
        if not self.certs_out:
            return
        slots = {i.id: i.slot for i in state.instances + state.light_instances}  # light hosts' too
        logged_in = {h.name for h in state.hosts if h.ready} | {t.host for t in state.tasks if t.host}
        done = sorted(iid for iid in self.certs_out if iid not in slots or slots[iid] in logged_in)
        if done:
            self.cloud.delete_parameters([f"{self.settings.ssm_prefix}/cert/{iid}" for iid in done])
            self.certs_out -= set(done)

    def _act(self, state: Observed, part: "decide.Plan | decide.LightPlan", desired: Mapping[str, int],
             by_id: Mapping[str, Instance], group_of: Mapping[str, str], attempt: Callable[..., bool],
             acted: set[str]) -> None:
        """The actions a builder plan and a light plan share, each on its instance's group, in the
        same order for both: register, refuse, desired capacity, drains, disable, terminate, hooks."""
        for reg in part.register:
            attempt(f"register {reg.instance_id} as {reg.slot}",
                    lambda reg=reg: self._register(reg, group_of[reg.arch]))
        for ref in part.refuse:
            log.warning("refusing %s: %s", ref.instance_id, ref.reason)
            inst = by_id[ref.instance_id]
            if attempt(f"abandon {ref.instance_id}", lambda i=inst: self.asg.complete_hook(
                    group_of[i.arch], self.settings.names.launch_hook, i.id, "ABANDON")):
                acted.add(ref.instance_id)
        for key, n in sorted(desired.items()):
            log.info("set desired capacity of %s to %d", group_of[key], n)
            attempt(f"set desired {key}", lambda a=key, n=n: self.asg.set_desired(group_of[a], n))
        for inst in part.start_drain:
            attempt(f"tag drain {inst.id}", lambda i=inst: self.cloud.tag(
                i.id, self.settings.names.tag_drain_started, str(int(state.now))))
        for inst in part.cancel_drain:
            log.info("take back draining host %s (%s)", inst.id, inst.slot)
            attempt(f"take back {inst.id}", lambda i=inst: self._take_back(i))
        for name in part.disable_hosts:
            attempt(f"disable {name}", lambda n=name: self.koji.disable(n))
        for term in part.terminate:
            log.info("terminate %s (%s), decrement %s", term.instance_id, term.slot, term.decrement)
            if attempt(f"terminate {term.instance_id}",
                       lambda t=term: self._terminate(t, group_of[by_id[t.instance_id].arch])):
                acted.add(term.instance_id)
        for iid in part.complete_terminate:
            attempt(f"complete drain hook {iid}", lambda i=by_id[iid]: self.asg.complete_hook(
                group_of[i.arch], self.settings.names.terminate_hook, i.id, "CONTINUE"))
        for iid in part.heartbeat:
            attempt(f"heartbeat {iid}", lambda i=by_id[iid]: self.asg.heartbeat(
                group_of[i.arch], self.settings.names.terminate_hook, i.id))

    def _take_back(self, inst: decide.Instance) -> None:
        """Call a drain off: the host takes work again; an empty drain tag reads as no drain."""
        if inst.slot:  # decide.cancel_drains takes back only builders with a slot (their Koji host)
            self.koji.enable(inst.slot)
        self.cloud.tag(inst.id, self.settings.names.tag_drain_started, "")

    def _terminate(self, term: decide.Termination, group: str) -> None:
        self.asg.unprotect(group, term.instance_id)
        self.asg.terminate(term.instance_id, term.decrement)

    def _register(self, reg: decide.Registration, group: str) -> None:
        s = self.settings
        csr = self.csrs[reg.instance_id]
        cert = sign_builder_csr(csr, reg.slot, reg.arch, s.builder_ca_crt, s.builder_ca_key)
        self.cloud.tag(reg.instance_id, self.settings.names.tag_slot, reg.slot)  # first: a restart keeps the slot
        self.koji.register(reg, reg.instance_id)
        self.cloud.put_parameter(f"{s.ssm_prefix}/cert/{reg.instance_id}", cert)
        if self.certs_out is not None:
            self.certs_out.add(reg.instance_id)
        self.asg.complete_hook(group, self.settings.names.launch_hook, reg.instance_id, "CONTINUE")
        self.cloud.delete_parameter(f"{s.ssm_prefix}/csr/{reg.instance_id}")
        log.info("registered %s as %s", reg.instance_id, reg.slot)

    # --- run --------------------------------------------------------------------------------

    def once(self) -> tuple[Observed, Plan, list[str]]:
        """One loop: observe, plan, execute."""
        if not self.suspended:
            for arch in self.settings.arches:
                self.asg.suspend_az_rebalance(self.settings.group_name(arch))
            self.suspended = True
        state = self.observe()
        if state.light is not None and not self.light_suspended:
            try:
                self.asg.suspend_az_rebalance(state.light.name)
                self.light_suspended = True
            except Exception as exc:  # noqa: BLE001 - retried next loop
                log.warning("suspend AZRebalance of %s: %s", state.light.name, exc)
        plan = decide.plan(state, self.settings.policy)
        for note in plan.notes:
            log.debug("%s", note)
        return state, plan, self.execute(state, plan)

    def forever(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Loop until killed; an exception in one loop is logged and the session renewed."""
        while True:
            try:
                self.once()
            except Exception:  # noqa: BLE001 - systemd restarts us only on a crash we cannot survive
                log.exception("controller loop failed; retrying")
                self.koji.session = None
            sleep(self.settings.interval_seconds)
