"""Finds the AWS API calls the code on the instances makes, as IAM actions, per role.

Sources: `aws <service> <operation>` lines and `X = boto3.client("svc")` ... `X.method(` in the
hub's and builders' shipped files (cloud-init/<role>/ and cloud-init/user-data/common/), and the controller's
boto3 wrappers (kojistack/controller/awsport.py, whose client attributes are named below).
Method names become API names through botocore's own service models (no network).
"""

from __future__ import annotations

import re
from functools import cache

import boto3

from support.paths import REPO

IAM_PREFIX = {"elbv2": "elasticloadbalancing", "cloudwatch": "cloudwatch"}
# kojistack/controller/awsport.py: attribute -> boto3 service (see its __init__ methods)
AWSPORT_CLIENTS = {"self.c": "autoscaling", "self.ec2": "ec2", "self.ssm": "ssm", "self.cw": "cloudwatch"}
ROLE_SOURCES = {
    "HubRole": ("cloud-init/payload/hub", "cloud-init/user-data", "cloud-init/payload/common", "kojistack/controller"),
    "BuilderRole": ("cloud-init/payload/builder", "cloud-init/user-data", "cloud-init/payload/common"),
}


@cache
def _model(service: str):
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client.meta


def _action(service: str, method_or_op: str) -> str:
    meta = _model(service)
    api = meta.method_to_api_mapping.get(method_or_op.replace("-", "_"))
    assert api, f"{service} has no operation {method_or_op}"
    return f"{IAM_PREFIX.get(service, service)}:{api}"


def calls_in(text: str, clients: dict[str, str] | None = None) -> set[str]:
    """IAM actions of the AWS calls in one file's text."""
    found = {_action(svc, op) for svc, op in re.findall(r"\baws\s+([a-z0-9]+)\s+([a-z][a-z0-9-]+)", text)
             if svc not in ("configure",)}
    clients = dict(clients or {})
    clients.update({var: svc for var, svc in re.findall(r"(\w+)\s*=\s*boto3\.client\(\s*[\"'](\w+)[\"']", text)})
    for var, svc in clients.items():
        v = re.escape(var)
        for method in re.findall(rf"(?<![\w.]){v}\.(?!get_paginator|exceptions|meta)(\w+)\(", text):
            found.add(_action(svc, method))
        for method in re.findall(rf"(?<![\w.]){v}\.get_paginator\(\s*[\"'](\w+)[\"']", text):
            found.add(_action(svc, method))
    return found


def role_calls(role: str) -> dict[str, set[str]]:
    """{IAM action: {files making it}} for the code that runs under `role`."""
    out: dict[str, set[str]] = {}
    for base in ROLE_SOURCES[role]:
        for path in sorted((REPO / base).rglob("*")):
            if not path.is_file() or path.suffix in (".pyc",):
                continue
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            clients = AWSPORT_CLIENTS if path.name == "awsport.py" else None
            for action in calls_in(text, clients):
                out.setdefault(action, set()).add(str(path.relative_to(REPO)))
    return out
