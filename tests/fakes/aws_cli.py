"""A fake `aws` command line for the boot scripts: what an instance calls, answered from a state
directory ($FAKE_AWS_DIR) the way the services answer, refusals included.

State on disk, so tests and the lifecycle doubles can arrange and inspect it:
  calls.log        every call, one line of its arguments
  params/          SSM parameters (`/a/b` is stored as `a__b`)
  tags.json        EC2 tags {instance-id: {key: value}}
  cfn.json         CloudFormation: {"stack_id", "stack_status", "resources": {logical id:
                   {"status", "type", "metadata", "waiting": bool}}, "signals": [...]}
  fail-<command>   this command fails as a service error (a simulated outage)

CloudFormation's signal rule (`signal_refusal` in tests/fakes/cloudformation.py, shared with the
CloudFormation double): SignalResource is accepted only while the resource waits for signals,
i.e. during its creation under a CreationPolicy or an update with WaitOnResourceSignals; at any
other time CloudFormation refuses it with a ValidationError. The text is CloudFormation's own, as
recorded in
  aws-cloudformation/aws-cloudformation-templates#34 and #126 (a signal after CREATE_COMPLETE:
  "ValidationError: Stack arn:aws:cloudformation:us-east-1:…:stack/RedHat7Cfn/7d2e3dd0-… is in
  CREATE_COMPLETE state and cannot be signaled") and
  zalando-incubator/kubernetes-on-aws#538 (the same after an update: "... is in UPDATE_COMPLETE
  state and cannot be signaled");
buildkite/elastic-ci-stack-for-aws#388 is the same bug in another stack (instances launched after
creation marked themselves unhealthy). The AWS CLI prints a service error as "An error occurred
(CODE) when calling the OPERATION operation: MESSAGE" on stderr and exits 254 (AWS CLI v2
"Understanding return codes": 254 = the service returned an error).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from fakes.cloudformation import signal_refusal

CLI_SERVICE_ERROR = 254
ACCOUNT = "123456789012"
#: resource states in which CloudFormation can be waiting for this resource's signals
IN_PROGRESS = ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS")


def service_error(code: str, operation: str, message: str) -> SystemExit:
    sys.stderr.write(f"\nAn error occurred ({code}) when calling the {operation} operation: {message}\n")
    return SystemExit(CLI_SERVICE_ERROR)


class CfnState:
    """cfn.json: one stack, its resources, the signals it accepted."""

    def __init__(self, root: Path | str):
        self.path = Path(root) / "cfn.json"

    def load(self) -> dict:
        if self.path.exists():
            return json.loads(self.path.read_text())
        return {"stack_status": "CREATE_COMPLETE", "resources": {}, "signals": []}

    def save(self, state: dict) -> None:
        self.path.write_text(json.dumps(state, indent=1, sort_keys=True))

    def set_stack(self, status: str, stack_name: str = "koji", region: str = "us-east-1") -> None:
        state = self.load()
        state["stack_status"] = status
        state.setdefault("stack_id", f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{stack_name}/"
                                     "7d2e3dd0-f5f3-11e7-93f5-50a686e4bb4a")
        self.save(state)

    def set_resource(self, logical_id: str, status: str, *, waiting: bool = False,
                     type_: str = "AWS::AutoScaling::AutoScalingGroup", metadata: dict | None = None) -> None:
        state = self.load()
        res = state["resources"].setdefault(logical_id, {"type": type_})
        res.update(status=status, waiting=waiting)
        if metadata is not None:
            res["metadata"] = metadata
        self.save(state)

    def signals(self) -> list[dict]:
        return self.load().get("signals", [])


def refusal_for(state: dict, logical_id: str) -> str | None:
    """The signal rule of tests/fakes/cloudformation.py applied to cfn.json."""
    res = state["resources"].get(logical_id)
    stack_id = state.get("stack_id", "")
    return signal_refusal(stack_id, stack_id.split("/")[1] if "/" in stack_id else "", state["stack_status"],
                          logical_id, res and res.get("status"),
                          bool(res and res.get("waiting") and res.get("status") in IN_PROGRESS))


def _parse(argv: list[str]) -> tuple[list[str], dict]:
    opts: dict = {}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i].startswith("--"):
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                opts[argv[i][2:]] = argv[i + 1]
                i += 2
            else:
                opts[argv[i][2:]] = True
                i += 1
        else:
            rest.append(argv[i])
            i += 1
    return rest, opts


def _pfile(root: Path, name: str) -> Path:
    return root / "params" / name.strip("/").replace("/", "__")


def _cloudformation(root: Path, op: str, opts: dict) -> None:
    cfn = CfnState(root)
    state = cfn.load()
    logical_id = opts["logical-resource-id"]
    if op == "signal-resource":
        refusal = refusal_for(state, logical_id)
        if refusal:
            raise service_error("ValidationError", "SignalResource", refusal)
        state.setdefault("signals", []).append(
            {"resource": logical_id, "unique_id": opts["unique-id"], "status": opts["status"]})
        cfn.save(state)
    elif op == "describe-stack-resource":
        res = state["resources"].get(logical_id)
        if res is None:
            raise service_error("ValidationError", "DescribeStackResource",
                                f"Resource {logical_id} does not exist for stack {opts['stack-name']}")
        detail = {"LogicalResourceId": logical_id, "ResourceStatus": res["status"],
                  "ResourceType": res.get("type", ""), "Metadata": json.dumps(res.get("metadata", {}))}
        query = opts.get("query")
        if query:  # the CLI's JMESPath, for the one form the scripts use: StackResourceDetail.<Field>
            print(detail[query.split(".", 1)[1]])
        else:
            print(json.dumps({"StackResourceDetail": detail}))
    else:
        raise SystemExit(f"fake aws: cloudformation {op} is not modelled")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(os.environ["FAKE_AWS_DIR"])
    with open(root / "calls.log", "a") as log:
        log.write(" ".join(argv) + "\n")
    rest, opts = _parse(argv)
    service, op = rest[0], rest[1]
    if (root / f"fail-{op}").exists():
        raise service_error("ServiceUnavailable", op, "simulated")
    (root / "params").mkdir(exist_ok=True)
    if service == "cloudformation":
        _cloudformation(root, op, opts)
    elif (service, op) == ("ssm", "get-parameter"):
        path = _pfile(root, opts["name"])
        if not path.exists():
            raise service_error("ParameterNotFound", "GetParameter", "")
        print(path.read_text())
    elif (service, op) == ("ssm", "put-parameter"):
        value = opts["value"]
        if value.startswith("file://"):
            value = Path(value[7:]).read_text()
        _pfile(root, opts["name"]).write_text(value)
    elif (service, op) == ("ec2", "create-tags"):
        key, value = opts["tags"].split(",", 1)
        tags = root / "tags.json"
        data = json.loads(tags.read_text()) if tags.exists() else {}
        data.setdefault(opts["resources"], {})[key.split("=", 1)[1]] = value.split("=", 1)[1]
        tags.write_text(json.dumps(data))


def install(bin_dir: Path) -> Path:
    """Put this fake on PATH as `aws` (a wrapper running this module with this interpreter)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "aws"
    tests = Path(__file__).resolve().parents[1]
    path.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(tests)!r})\n"
                    "from fakes.aws_cli import main\nmain()\n")
    path.chmod(0o755)
    return path


if __name__ == "__main__":
    main()
