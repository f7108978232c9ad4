"""The end-to-end rig (stack.Rig) as a fixture: moto around it, stopped afterwards."""

import pytest
from moto import mock_aws

from .stack import Rig


@pytest.fixture
def rig(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        r = Rig(str(tmp_path))
        yield r
        r.stop()
