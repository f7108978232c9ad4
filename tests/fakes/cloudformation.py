"""A CloudFormation double: one stack's create, update, delete and signals, as AWS documents them.

moto's CloudFormation does not model CreationPolicy, signals or deletion order (reference/aws.md
§10: "CreationPolicy/cfn-signal are not modelled"; its delete is "a retry loop that is not
dependency-aware", getmoto/moto PR #8811). This double runs a generated template through the
documented rules and nothing else; each rule is cited where it is encoded. What a resource *does*
(an Auto Scaling group launching and draining instances) belongs to a `Handler`; the default one
creates, updates and deletes at once. Time is the caller's clock; `advance()` is one pass of the
engine, so a test interleaves the engine with the machines (the rig in tests/lifecycle).

Sources (cited below by these names):
  [DependsOn]   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html
  [Creation]    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-creationpolicy.html
  [Update]      https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatepolicy.html
  [Deletion]    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
  [Signal]      https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_SignalResource.html
  [Refused]     the message CloudFormation returns to a late signal, recorded in
                aws-cloudformation/aws-cloudformation-templates issues #34 and #126
  [Conditions]  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
  [StackName]   https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACCOUNT, REGION = "123456789012", "us-east-1"
IN_PROGRESS = ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS",
               "ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS")


_STACK_SERIAL = itertools.count(0x5EED0000000000000000000000000001)
NO_VALUE = object()  # Ref AWS::NoValue: the property is removed


def signal_refusal(stack_id: str, stack_name: str, stack_status: str, lid: str,
                   resource_status: str | None, waiting: bool) -> str | None:
    """CloudFormation's answer to SignalResource for LID: None when it counts, else the refusal.
    The one signal rule of the doubles (this engine and the fake `aws`, tests/fakes/aws_cli.py)."""
    if stack_status not in IN_PROGRESS:
        # [Refused]: "Stack arn:aws:cloudformation:...:stack/NAME/ID is in CREATE_COMPLETE state
        # and cannot be signaled" (the same for any settled stack status; UPDATE_COMPLETE in
        # zalando-incubator/kubernetes-on-aws#538)
        return f"Stack {stack_id} is in {stack_status} state and cannot be signaled"
    if resource_status is None:
        return f"Resource {lid} does not exist for stack {stack_name}"
    if not waiting:
        # the resource-level refusal while the stack itself is busy: CloudFormation words it like
        # the stack-level one above (inferred from [Refused]; not separately recorded)
        return f"Resource {lid} is in {resource_status} state and cannot be signaled"
    return None


class ValidationError(Exception):
    """What the API answers as ClientError(ValidationError)."""


def iso_seconds(duration: str) -> int:
    """PT30M / PT1H5M / PT90S -> seconds (the ISO 8601 durations Timeout and PauseTime take)."""
    m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", duration)
    if not m:
        raise ValueError(f"not an ISO 8601 duration: {duration}")
    h, mi, s = (int(x or 0) for x in m.groups())
    return h * 3600 + mi * 60 + s


def references(node: Any, names: set[str]) -> set[str]:
    """Resources a node names through Ref, Fn::GetAtt or Fn::Sub: the implicit dependencies
    ([DependsOn]: "implicit dependencies in the form of target properties !Ref, !GetAtt, and !Sub")."""
    out: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and v in names:
                out.add(v)
            elif k == "Fn::GetAtt":
                out.add(v[0] if isinstance(v, list) else v.split(".")[0])
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                for var in re.findall(r"\$\{([^}!][^}]*)\}", text):
                    if var.split(".")[0] in names:
                        out.add(var.split(".")[0])
                if isinstance(v, list):
                    out |= references(v[1], names)
            else:
                out |= references(v, names)
    elif isinstance(node, list):
        for v in node:
            out |= references(v, names)
    return out & names


def dependencies(template: dict) -> dict[str, set[str]]:
    """resource -> the resources it depends on: DependsOn plus Ref/GetAtt/Sub in Properties,
    Metadata-free (references in Metadata or policies create no order; [DependsOn])."""
    res = template["Resources"]
    names = set(res)
    graph = {}
    for name, r in res.items():
        deps = references(r.get("Properties", {}), names)
        d = r.get("DependsOn", [])
        deps |= set([d] if isinstance(d, str) else d)
        graph[name] = deps
    return graph


@dataclass
class Resource:
    lid: str
    type: str
    status: str = "NOT_STARTED"
    props: Any = None  # resolved properties
    physical_id: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    signals: dict[str, str] = field(default_factory=dict)  # unique id -> SUCCESS | FAILURE
    wanted: int = 0  # signals still awaited (0: not waiting)
    deadline: float = 0.0
    reason: str = ""


class Handler:
    """What a resource type does. The default: everything happens at once."""

    def create(self, stack: Stack, r: Resource) -> None:
        r.physical_id = f"{stack.name}-{r.lid}-{stack.serial()}"

    def update(self, stack: Stack, r: Resource, old_props: Any) -> None:
        pass

    def delete(self, stack: Stack, r: Resource) -> None:
        pass

    def busy(self, stack: Stack, r: Resource) -> str | None:
        """While the operation runs: None when done, "" while working, else a failure reason."""
        return None

    def attribute(self, stack: Stack, r: Resource, name: str) -> Any:
        return r.attrs.get(name, f"{r.physical_id}.{name}")


@dataclass
class Event:
    time: float
    lid: str
    status: str
    reason: str = ""


class Stack:
    """One stack. `handlers` maps a resource type to its Handler (default: instant)."""

    def __init__(self, name: str, template: dict, parameters: dict[str, str], clock: Callable[[], float],
                 handlers: dict[str, Handler] | None = None, azs: int = 3):
        # [StackName]: "must start with an alphabetic character and can't be longer than 128 characters"
        if not re.fullmatch(r"[a-zA-Z][-a-zA-Z0-9]{0,127}", name):
            raise ValidationError(f"1 validation error detected: Value '{name}' at 'stackName' failed to satisfy "
                                  "constraint: Member must satisfy regular expression pattern: "
                                  "[a-zA-Z][-a-zA-Z0-9]*")
        self.name, self.clock, self.handlers = name, clock, handlers or {}
        # a new stack id for every stack, also one re-created under the same name ([StackName]: StackId)
        self.id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{uuid.UUID(int=next(_STACK_SERIAL))}"
        self.azs = azs
        self.status = "NOT_STARTED"
        self.events: list[Event] = []
        self._serial = 0
        self._load(template, parameters)
        self.retained: dict[str, Resource] = {}
        self.snapshots: list[str] = []
        self._previous: tuple | None = None  # (template, parameters, resolved props) to roll back to

    # --- template ---------------------------------------------------------------------------

    def _load(self, template: dict, parameters: dict[str, str]) -> None:
        self.template = template
        self.params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        unknown = set(parameters) - set(self.params)
        if unknown:
            raise ValidationError(f"Parameters: {sorted(unknown)} do not exist in the template")
        self.params.update({k: str(v) for k, v in parameters.items()})
        missing = [k for k, v in template.get("Parameters", {}).items() if "Default" not in v and k not in parameters]
        if missing:
            raise ValidationError(f"Parameters: {missing} must have values")
        # [Conditions]: a resource whose condition is false is not created (and not in the graph)
        self.conditions = {name: self._cond(expr) for name, expr in template.get("Conditions", {}).items()}
        self.defs = {k: r for k, r in template["Resources"].items()
                     if "Condition" not in r or self.conditions[r["Condition"]]}
        sub = {"Resources": self.defs}
        self.deps = {k: v & set(self.defs) for k, v in dependencies(sub).items()}
        self.dependents: dict[str, set[str]] = {k: set() for k in self.defs}
        for k, deps in self.deps.items():
            for d in deps:
                self.dependents[d].add(k)

    def _cond(self, e: Any) -> bool:
        if isinstance(e, dict):
            (k, v), = e.items()
            if k == "Fn::Equals":
                return str(self.value(v[0])) == str(self.value(v[1]))
            if k == "Fn::Not":
                return not self._cond(v[0])
            if k == "Fn::And":
                return all(self._cond(x) for x in v)
            if k == "Fn::Or":
                return any(self._cond(x) for x in v)
            if k == "Condition":
                return self._cond(self.template["Conditions"][v])
        raise ValueError(f"unsupported condition {e!r}")

    def before(self, a: str, b: str) -> bool:
        """Is `a` guaranteed to be created before `b` starts (and deleted only after `b` is gone)?
        Only a path of dependencies guarantees it ([DependsOn]: CloudFormation "automatically
        determines which resources in a template can be parallelized"): resources with no path
        between them may be created and deleted in either order, or at the same time."""
        seen, todo = set(), [b]
        while todo:
            for d in self.deps[todo.pop()]:
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return a in seen

    def serial(self) -> int:
        self._serial += 1
        return self._serial

    def value(self, node: Any) -> Any:
        """Resolve intrinsic functions against parameters, pseudo parameters and live resources."""
        if isinstance(node, list):
            return [x for x in (self.value(v) for v in node) if x is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (k, v), = node.items()
            if k == "Ref":
                return self._ref(v)
            if k == "Fn::GetAtt":
                lid, attr = (v if isinstance(v, list) else v.split(".", 1))
                r = self.resources[lid]
                return self.handler(r).attribute(self, r, attr)
            if k == "Fn::Sub":
                text, extra = (v, {}) if isinstance(v, str) else (v[0], {n: self.value(x) for n, x in v[1].items()})
                return self._sub(text, extra)
            if k == "Fn::If":
                return self.value(v[1] if self.conditions[v[0]] else v[2])
            if k == "Fn::Select":
                return self.value(v[1])[int(self.value(v[0]))]
            if k == "Fn::Base64":
                return self.value(v)
            if k == "Fn::Join":
                return self.value(v[0]).join(str(x) for x in self.value(v[1]))
            if k == "Fn::GetAZs":
                return [f"{REGION}{c}" for c in "abcdef"[:self.azs]]
            if k == "Fn::Cidr":
                return [f"cidr-{i}" for i in range(int(self.value(v[1])))]
            if k == "Fn::Split":
                return str(self.value(v[1])).split(v[0])
        out = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        pseudo = {"AWS::StackName": self.name, "AWS::StackId": self.id, "AWS::Region": REGION,
                  "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.params:
            value = self.params[name]
            ptype = self.template["Parameters"][name].get("Type", "String")
            return value.split(",") if ptype.startswith("List<") or ptype == "CommaDelimitedList" else value
        return self.resources[name].physical_id

    def _sub(self, text: str, extra: dict[str, Any]) -> str:
        def one(m: re.Match) -> str:
            var = m.group(1)
            if var.startswith("!"):
                return "${" + var[1:] + "}"  # ${!Literal} -> ${Literal}
            if var in extra:
                return str(extra[var])
            if "." in var and var.split(".")[0] in self.defs:
                lid, attr = var.split(".", 1)
                return str(self.handler(self.resources[lid]).attribute(self, self.resources[lid], attr))
            return str(self._ref(var))
        return re.sub(r"\$\{([^}]+)\}", one, text)

    def handler(self, r: Resource) -> Handler:
        return self.handlers.get(r.type, _DEFAULT)

    def policy(self, lid: str, name: str) -> Any:
        return self.defs[lid].get(name)

    def _event(self, r: Resource, status: str, reason: str = "") -> None:
        r.status, r.reason = status, reason
        self.events.append(Event(self.clock(), r.lid, status, reason))

    def _stack_event(self, status: str, reason: str = "") -> None:
        self.status = status
        self.events.append(Event(self.clock(), self.name, status, reason))

    # --- create -----------------------------------------------------------------------------

    def create(self) -> None:
        self.resources = {k: Resource(k, r["Type"]) for k, r in self.defs.items()}
        self._stack_event("CREATE_IN_PROGRESS", "User Initiated")

    def _start_create(self, r: Resource) -> None:
        r.props = self.value(self.defs[r.lid].get("Properties", {}))
        self._event(r, "CREATE_IN_PROGRESS")
        try:
            self.handler(r).create(self, r)
        except ValidationError as err:
            self._event(r, "CREATE_FAILED", str(err))
            return
        signal = (self.policy(r.lid, "CreationPolicy") or {}).get("ResourceSignal")
        if signal:
            # [Creation]: "Count: The number of success signals CloudFormation must receive before it
            # sets the resource status as CREATE_COMPLETE"; "Timeout: The length of time that
            # CloudFormation waits for the number of signals that was specified in the Count property"
            r.wanted = int(self.value(signal.get("Count", 1)))
            r.deadline = self.clock() + iso_seconds(signal.get("Timeout", "PT5M"))

    def _settle(self, r: Resource, done: str, failed: str) -> None:
        """An operation in progress: the handler's work, then the signals it waits for."""
        state = self.handler(r).busy(self, r)
        if state:
            self._event(r, failed, state)
            return
        if state == "":
            return
        if r.wanted:
            ok = sum(1 for s in r.signals.values() if s == "SUCCESS")
            if any(s == "FAILURE" for s in r.signals.values()):
                # [Creation]: "If the resource receives a failure signal or doesn't receive the
                # specified number of signals before the timeout period expires, the resource
                # creation fails and CloudFormation rolls the stack back."
                uid = next(u for u, s in r.signals.items() if s == "FAILURE")
                r.wanted = 0
                self._event(r, failed, f"Received FAILURE signal with UniqueId {uid}")
                return
            if ok < r.wanted:
                if self.clock() >= r.deadline:
                    n, r.wanted = r.wanted - ok, 0
                    self._event(r, failed, f"Failed to receive {n} resource signal(s) within the specified duration")
                return
            r.wanted = 0
        self._event(r, done)

    # --- signals ----------------------------------------------------------------------------

    def signal(self, lid: str, unique_id: str, status: str) -> None:
        """SignalResource ([Signal]): counted only while the resource waits for signals."""
        if status not in ("SUCCESS", "FAILURE"):
            raise ValidationError(f"1 validation error detected: Value '{status}' at 'status' failed to satisfy "
                                  "constraint: Member must satisfy enum value set: [SUCCESS, FAILURE]")
        r = self.resources.get(lid) if self.status in IN_PROGRESS else None  # none before create()
        refusal = signal_refusal(self.id, self.name, self.status, lid, r and r.status, bool(r and r.wanted))
        if refusal:
            raise ValidationError(refusal)
        assert r is not None
        # [Signal] UniqueId: "each signal requires a different unique ID" - a repeat counts once
        r.signals[unique_id] = status

    # --- update -----------------------------------------------------------------------------

    def update(self, template: dict, parameters: dict[str, str]) -> None:
        if self.status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"):
            raise ValidationError(f"Stack:{self.id} is in {self.status} state and can not be updated.")
        old = (self.template, dict(self.params))
        self._previous = old
        self._load(template, {**{k: v for k, v in self.params.items() if k in template.get("Parameters", {})},
                              **parameters})
        self._stack_event("UPDATE_IN_PROGRESS", "User Initiated")
        self._pending = {k: "UPDATE" for k in self.defs}

    def _start_update(self, r: Resource) -> None:
        new = self.value(self.defs[r.lid].get("Properties", {}))
        if new == r.props:
            r.status = "UPDATE_COMPLETE"  # unchanged: no event, nothing happens
            return
        old, r.props = r.props, new
        self._event(r, "UPDATE_IN_PROGRESS")
        r.signals = {}
        self.handler(r).update(self, r, old)

    def changed(self) -> list[str]:
        """Resources updated by the last update (they had an UPDATE_IN_PROGRESS event)."""
        start = max(i for i, e in enumerate(self.events) if e.lid == self.name and e.status == "UPDATE_IN_PROGRESS")
        return sorted({e.lid for e in self.events[start:] if e.status == "UPDATE_IN_PROGRESS" and e.lid != self.name})

    def wait_for_signals(self, r: Resource, count: int, pause: str) -> None:
        """For a handler's rolling update with WaitOnResourceSignals ([Update]: "CloudFormation
        waits for the specified PauseTime ... for the instances to signal")."""
        r.signals, r.wanted, r.deadline = {}, count, self.clock() + iso_seconds(pause)

    # --- delete -----------------------------------------------------------------------------

    def delete(self) -> None:
        self._stack_event("DELETE_IN_PROGRESS", "User Initiated")

    def _start_delete(self, r: Resource) -> None:
        if r.status == "CREATE_FAILED" and not r.physical_id:
            self._event(r, "DELETE_COMPLETE")  # never made: nothing to delete
            return
        policy = self.policy(r.lid, "DeletionPolicy") or "Delete"
        if policy == "Retain":
            # [Deletion]: "Retain: CloudFormation keeps the resource without deleting the resource"
            self._event(r, "DELETE_SKIPPED")
            self.retained[r.lid] = r
            return
        if policy == "Snapshot":
            # [Deletion]: "Snapshot: CloudFormation creates a snapshot for the resource before deleting it"
            self.snapshots.append(r.lid)
        self._event(r, "DELETE_IN_PROGRESS")
        self.handler(r).delete(self, r)

    # --- the engine -------------------------------------------------------------------------

    def advance(self) -> str:
        """One pass of the engine. Returns the stack status."""
        s = self.status
        if s in ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"):
            self._forward("CREATE" if s.startswith("CREATE") else "UPDATE")
        elif s in ("ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS"):
            self._backward(s.split("_")[0])
        elif s == "UPDATE_ROLLBACK_IN_PROGRESS":
            self._roll_back_update()
        return self.status

    def _forward(self, op: str) -> None:
        """Create/update in dependency order, in parallel ([DependsOn]: "Resource B is created
        before resource A"; "creates, updates, and deletes resources in parallel to the extent possible")."""
        done, prog, fail = f"{op}_COMPLETE", f"{op}_IN_PROGRESS", f"{op}_FAILED"
        for r in list(self.resources.values()):
            if r.status == prog:
                self._settle(r, done, fail)
        if any(r.status == fail for r in self.resources.values()):
            if not any(r.status == prog for r in self.resources.values()):
                if op == "CREATE":
                    # [Creation] "... CloudFormation rolls the stack back"
                    self._stack_event("ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: "
                                      + str(sorted(r.lid for r in self.resources.values() if r.status == fail)))
                else:
                    self._stack_event("UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: "
                                      + str(sorted(r.lid for r in self.resources.values() if r.status == fail)))
                    self._rollback_todo = [r.lid for r in self.resources.values()
                                           if r.status in (done, fail) and r.lid in self.changed()]
                    self._pending = {}  # what had not started yet never will
            return  # nothing new starts once a resource failed
        settled = done if op == "CREATE" else None
        for r in self.resources.values():
            if op == "CREATE" and r.status == "NOT_STARTED" and all(
                    self.resources[d].status == settled for d in self.deps[r.lid]):
                self._start_create(r)
            elif op == "UPDATE" and self._pending.get(r.lid) and all(
                    not self._pending.get(d) and self.resources[d].status != prog for d in self.deps[r.lid]):
                self._pending.pop(r.lid)
                self._start_update(r)
                if r.status == prog:
                    self._settle(r, done, fail)
        if all(r.status == done for r in self.resources.values()) and not getattr(self, "_pending", None):
            self._stack_event(done)

    def _backward(self, op: str) -> None:
        """Delete in reverse dependency order, in parallel ([DependsOn]: "Resource A is deleted
        before resource B"): a resource goes once every resource that depends on it is gone."""
        gone = ("DELETE_COMPLETE", "DELETE_SKIPPED", "NOT_STARTED")
        for r in self.resources.values():
            if r.status == "DELETE_IN_PROGRESS":
                self._settle(r, "DELETE_COMPLETE", "DELETE_FAILED")
        for r in self.resources.values():
            if r.status not in gone and r.status not in ("DELETE_IN_PROGRESS", "DELETE_FAILED") and all(
                    self.resources[d].status in gone for d in self.dependents[r.lid]):
                if r.status == "CREATE_IN_PROGRESS":
                    r.wanted = 0
                self._start_delete(r)
                if r.status == "DELETE_IN_PROGRESS":
                    self._settle(r, "DELETE_COMPLETE", "DELETE_FAILED")
        if any(r.status == "DELETE_IN_PROGRESS" for r in self.resources.values()):
            return
        if any(r.status == "DELETE_FAILED" for r in self.resources.values()):
            self._stack_event(f"{op}_FAILED", "The following resource(s) failed to delete: " + str(
                sorted(r.lid for r in self.resources.values() if r.status == "DELETE_FAILED")))
        elif all(r.status in gone for r in self.resources.values()):
            self._stack_event(f"{op}_COMPLETE")

    def _roll_back_update(self) -> None:
        """Return the updated resources to their previous properties ([Update] rolling update:
        a failed update rolls back; a rollback that fails leaves UPDATE_ROLLBACK_FAILED)."""
        if not hasattr(self, "_rollback_started"):
            self._rollback_started = True
            template, params = self._previous
            self._load(template, params)
            for lid in self._rollback_todo:
                r = self.resources[lid]
                old, r.props = r.props, self.value(self.defs[lid].get("Properties", {}))
                self._event(r, "UPDATE_IN_PROGRESS", "rollback")
                self.handler(r).update(self, r, old)
            return
        for lid in self._rollback_todo:
            r = self.resources[lid]
            if r.status == "UPDATE_IN_PROGRESS":
                self._settle(r, "UPDATE_COMPLETE", "UPDATE_FAILED")
        if any(self.resources[lid].status == "UPDATE_IN_PROGRESS" for lid in self._rollback_todo):
            return
        del self._rollback_started
        if any(self.resources[lid].status == "UPDATE_FAILED" for lid in self._rollback_todo):
            self._stack_event("UPDATE_ROLLBACK_FAILED")
        else:
            self._stack_event("UPDATE_ROLLBACK_COMPLETE")

    def run(self, tick: Callable[[], None], until: tuple, max_passes: int = 500) -> str:
        """Alternate engine passes with `tick` (the world's time step) until a status in `until`."""
        for _ in range(max_passes):
            if self.advance() in until:
                return self.status
            tick()
        raise AssertionError(f"stack {self.name} still {self.status} after {max_passes} passes: "
                             + ", ".join(f"{r.lid}={r.status}" for r in self.resources.values()
                                         if r.status.endswith("IN_PROGRESS")))


_DEFAULT = Handler()
