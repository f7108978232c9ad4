"""The AMI lookup Lambda's code (inline in the template): picks the newest release image, rejects
pre-releases, and always answers CloudFormation. EC2 and the response URL are faked here (no AWS)."""

from __future__ import annotations

import importlib.util
import json
import sys
import types

import pytest

from kojistack.template.amis import CODE

IMAGES = [
    {"ImageId": "ami-0000000000000001a", "Name": "AlmaLinux OS 9.4.20240805 x86_64",
     "CreationDate": "2024-08-05T00:00:00.000Z", "RootDeviceName": "/dev/sda1"},
    {"ImageId": "ami-0000000000000002b", "Name": "AlmaLinux OS 9.6.20250522 x86_64",
     "CreationDate": "2025-05-22T00:00:00.000Z", "RootDeviceName": "/dev/sda1"},
    {"ImageId": "ami-0000000000000003c", "Name": "AlmaLinux OS 9.7_Beta.20251001 x86_64",
     "CreationDate": "2025-10-01T00:00:00.000Z", "RootDeviceName": "/dev/sda1"},
    {"ImageId": "ami-0000000000000004d", "Name": "AlmaLinux OS 9.7-RC1 x86_64",
     "CreationDate": "2025-10-09T00:00:00.000Z", "RootDeviceName": "/dev/sda1"},
]


@pytest.fixture
def lookup(monkeypatch):
    calls = {"filters": None, "responses": []}

    class FakeEc2:  # stands in for boto3's EC2 client: no AWS here
        def describe_images(self, Owners, Filters):
            calls["filters"] = (Owners, Filters)
            return {"Images": calls.get("images", IMAGES)}

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=lambda name: FakeEc2()))
    spec = importlib.util.spec_from_loader("ami_lookup", loader=None)
    mod = importlib.util.module_from_spec(spec)
    exec(compile(CODE, "ami_lookup.py", "exec"), mod.__dict__)
    monkeypatch.setattr(mod.urllib.request, "urlopen",
                        lambda req, timeout: calls["responses"].append(json.loads(req.data)))
    return mod, calls


EVENT = {"RequestType": "Create", "ResponseURL": "https://example.invalid/r", "StackId": "s",
         "RequestId": "r", "LogicalResourceId": "AmiX8664",
         "ResourceProperties": {"Owner": "764336703387", "NamePattern": "AlmaLinux OS {release}.*",
                                "Release": "9", "Architecture": "x86_64"}}
CONTEXT = types.SimpleNamespace(log_stream_name="stream")


def test_newest_release_image_wins_and_prereleases_are_rejected(lookup):
    mod, calls = lookup
    mod.handler(EVENT, CONTEXT)
    (answer,) = calls["responses"]
    assert answer["Status"] == "SUCCESS"
    assert answer["Data"] == {k: IMAGES[1][k] for k in ("ImageId", "Name", "CreationDate", "RootDeviceName")}
    owners, filters = calls["filters"]
    assert owners == ["764336703387"]
    assert {"Name": "name", "Values": ["AlmaLinux OS 9.*"]} in filters
    assert {"Name": "state", "Values": ["available"]} in filters
    assert not mod.REJECT.search("Fedora-Cloud-Base-latest-43")


def test_no_image_still_answers_with_a_reason(lookup):
    mod, calls = lookup
    calls["images"] = IMAGES[2:]  # only pre-releases
    mod.handler(EVENT, CONTEXT)
    (answer,) = calls["responses"]
    assert answer["Status"] == "FAILED" and "no available x86_64 image named AlmaLinux OS 9.*" in answer["Reason"]


def test_delete_answers_success_without_calling_ec2(lookup):
    mod, calls = lookup
    mod.handler({**EVENT, "RequestType": "Delete", "PhysicalResourceId": "ami-0000000000000001a"}, CONTEXT)
    (answer,) = calls["responses"]
    assert answer["Status"] == "SUCCESS" and calls["filters"] is None
    assert answer["PhysicalResourceId"] == "ami-0000000000000001a"
