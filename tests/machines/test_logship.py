"""kojistack-logship (cloud-init/payload/common/bin): the journal and koji's log files reach the
stack's CloudWatch Logs group, within PutLogEvents' limits, without loss or resending.

CloudWatch Logs is moto's (it implements CreateLogStream, PutLogEvents and GetLogEvents). The journal
lines follow journalctl's documented JSON export (systemd's JOURNAL_EXPORT_FORMATS, "Journal JSON
Format": one object per line, __CURSOR, __REALTIME_TIMESTAMP in microseconds, MESSAGE a string or,
for non-UTF-8 data, an array of byte values); the argv is checked against the real journalctl here.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from kojistack import names
from kojistack.template.payload import builder_payload, hub_payload

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "cloud-init" / "payload" / "common" / "bin" / "kojistack-logship"
GROUP = names.BUILDER_LOG_GROUP_NAME.replace("${AWS::StackName}", "koji")


def load():
    loader = importlib.machinery.SourceFileLoader("kojistack_logship", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


ls = load()


NOW = float(int(time.time()))  # CloudWatch Logs takes events of the last 14 days only
T0 = int(NOW * 1_000_000) - 60_000_000


def entry(cursor: str, usec: int, message, unit: str = "kojid.service") -> str:
    return json.dumps({"__CURSOR": cursor, "__REALTIME_TIMESTAMP": str(usec), "_SYSTEMD_UNIT": unit,
                       "MESSAGE": message, "PRIORITY": "6"})


class Journal:
    """What `journalctl --output=json` prints: entries after the cursor asked for."""

    def __init__(self, entries: list[str]):
        self.entries, self.argvs = entries, []

    def __call__(self, argv, **kw):
        self.argvs.append(argv)
        after = [a.split("=", 1)[1] for a in argv if a.startswith("--after-cursor=")]
        lines = self.entries
        if after:
            cursors = [json.loads(e)["__CURSOR"] for e in lines]
            if after[0] not in cursors:
                return SimpleNamespace(returncode=1, stdout="")
            lines = lines[cursors.index(after[0]) + 1:]
        return SimpleNamespace(returncode=0, stdout="".join(line + "\n" for line in lines))


@pytest.fixture
def logs():
    with mock_aws():
        client = boto3.client("logs", region_name="eu-west-1")
        client.create_log_group(logGroupName=GROUP)
        yield client


def events(logs, stream: str) -> list[str]:
    found = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)["events"]
    return [e["message"] for e in found]


def test_journal_and_files_reach_their_streams_once(logs, tmp_path):
    kojid = tmp_path / "kojid.log"
    kojid.write_text("2026-11-28 23:00:01,000 [INFO] koji.TaskManager: Attempting to take task 7\npartial")
    journal = Journal([entry("c1", T0, "Started kojid"),
                       entry("c2", T0 + 1_000_000, [0x66, 0x6f, 0xff], unit="")])
    state = tmp_path / "state" / "logship.json"
    shipper = ls.Shipper(logs, GROUP, "i-0abc", str(state), (str(kojid), str(tmp_path / "absent.log")),
                         run=journal, clock=lambda: NOW)
    assert shipper.once() == 3
    assert events(logs, "i-0abc/journal") == ["kojid.service: Started kojid", "kernel: fo\ufffd"]
    assert events(logs, "i-0abc/kojid.log") == [
        "2026-11-28 23:00:01,000 [INFO] koji.TaskManager: Attempting to take task 7"]
    # nothing new: nothing sent; the partial line waits for its newline; the cursor is used
    assert shipper.once() == 0
    assert journal.argvs[0][-1] == "--boot" and journal.argvs[1][-1] == "--after-cursor=c2"
    with kojid.open("a") as fh:
        fh.write(" line\n")
    journal.entries.append(entry("c3", T0 + 3_000_000, "Stopped kojid"))
    # a restart reads the saved state: no resend
    again = ls.Shipper(logs, GROUP, "i-0abc", str(state), (str(kojid),), run=journal, clock=lambda: NOW + 2)
    assert again.once() == 2
    assert events(logs, "i-0abc/kojid.log")[-1] == "partial line"
    assert events(logs, "i-0abc/journal")[-1] == "kojid.service: Stopped kojid"


def test_a_rotated_file_is_read_from_its_start(logs, tmp_path):
    log = tmp_path / "kojira.log"
    log.write_text("one\ntwo\n")
    shipper = ls.Shipper(logs, GROUP, "i-1", str(tmp_path / "s.json"), (str(log),), run=Journal([]), clock=lambda: NOW)
    shipper.once()
    log.rename(tmp_path / "kojira.log.1")
    log.write_text("three\n")
    shipper.once()
    assert events(logs, "i-1/kojira.log") == ["one", "two", "three"]


def test_a_cursor_the_journal_lost_restarts_from_the_boot(logs, tmp_path):
    state = tmp_path / "s.json"
    state.write_text(json.dumps({"cursor": "vacuumed", "files": {}}))
    journal = Journal([entry("c1", T0, "hello")])
    shipper = ls.Shipper(logs, GROUP, "i-2", str(state), (), run=journal, clock=lambda: NOW)
    assert shipper.once() == 0
    assert shipper.once() == 1
    assert journal.argvs[-1][-1] == "--boot"


def test_batches_keep_within_put_log_events_limits():
    now = int(NOW * 1000)
    many = [(now + i, "x") for i in range(10_001)]
    sizes = [len(b) for b in ls.batches(many, now)]
    assert sizes == [10_000, 1]
    big = [(now, "y" * 300_000)] * 5  # each cut to 256 KiB - 26 bytes: four fit in 1 MiB, not five
    cut = list(ls.batches(big, now))
    assert len(cut[0][0]["message"]) == 256 * 1024 - 26
    assert [len(b) for b in cut] == [4, 1]
    day = 24 * 3600 * 1000
    assert [len(b) for b in ls.batches([(now - day, "a"), (now, "b")], now)] == [1, 1]
    assert [e["timestamp"] for b in ls.batches([(now + 5, "b"), (now + 1, "a")], now) for e in b] == [now + 1, now + 5]
    assert list(ls.batches([(now - 15 * day, "too old for CloudWatch Logs")], now)) == []


@pytest.mark.skipif(shutil.which("journalctl") is None, reason="journalctl is part of systemd (apt: systemd)")
def test_the_real_journalctl_accepts_the_argv():
    first = subprocess.run(ls.journal_command(None), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    later = subprocess.run(ls.journal_command("s=0"), capture_output=True, text=True)
    assert "unrecognized option" not in later.stderr and "invalid option" not in later.stderr.lower()


def test_both_payloads_carry_the_shipper_and_its_unit():
    import io
    import tarfile

    for payload in (hub_payload(), builder_payload()):
        names = tarfile.open(fileobj=io.BytesIO(payload.tgz)).getnames()
        assert "common/bin/kojistack-logship" in names
        assert "common/systemd/kojistack-logship.service" in names
    unit = (REPO / "cloud-init/payload/common/systemd/kojistack-logship.service").read_text()
    assert "ExecStart=/opt/kojistack/common/bin/kojistack-logship" in unit
    for role in ("hub", "builder"):
        script = (REPO / f"cloud-init/payload/{role}/bin/kojistack-bootstrap").read_text()
        assert '"/opt/kojistack/common/systemd/$KOJISTACK_UNIT_LOGSHIP"' in script
        assert 'enable --now "$KOJISTACK_UNIT_LOGSHIP"' in script
