"""Issue 12 item 3: `generate` writes both templates or neither, leaves no temp file behind (a full
disk included: tested with a write that fails as ENOSPC does), and says which config it read."""

from __future__ import annotations

import errno
import os

import pytest
from click.testing import CliRunner

from kojistack.cli import main
from kojistack.config import Config
from kojistack.errors import UserError
from kojistack.template import compose


def snapshot(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.fixture()
def out(tmp_path):
    d = tmp_path / "templates"
    d.mkdir()
    for name in compose.render_all(Config()):
        (d / name).write_text("old\n")
    return d


def test_a_full_disk_on_the_second_file_changes_nothing_and_leaves_no_temp_file(out, monkeypatch):
    real_fdopen, opened = os.fdopen, []

    class FullDisk:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, text):
            self.fh.write(text[:100])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fdopen(fd, *args, **kwargs):
        opened.append(fd)
        fh = real_fdopen(fd, *args, **kwargs)
        return FullDisk(fh) if len(opened) == 2 else fh

    monkeypatch.setattr(compose.os, "fdopen", fdopen)
    before = snapshot(out)
    with pytest.raises(UserError, match="No space left on device; no template was changed"):
        compose.write_templates(Config(), out)
    assert len(opened) == 2
    assert snapshot(out) == before  # no temp file, and the first template was not replaced


def test_a_failed_rename_puts_back_the_template_already_replaced(out, monkeypatch):
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst)

    monkeypatch.setattr(compose.os, "replace", replace)
    before = snapshot(out)
    with pytest.raises(UserError, match="no template was changed"):
        compose.write_templates(Config(), out)
    assert snapshot(out) == before


def test_a_good_run_writes_both_and_nothing_else(out):
    written = compose.write_templates(Config(), out)
    assert sorted(p.name for p, _ in written) == sorted(snapshot(out))
    assert all(body != b"old\n" for body in snapshot(out).values())


def test_generate_says_which_config_it_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    none = CliRunner().invoke(main, ["generate", "--out", "t"])
    assert "config: none (no ./kojistack.yaml)" in none.output
    (tmp_path / "kojistack.yaml").write_text("nat: single\n")
    local = CliRunner().invoke(main, ["generate", "--out", "t"])
    assert local.exit_code == 0 and "config: kojistack.yaml" in local.output
    other = tmp_path / "other.yaml"
    other.write_text("nat: per-az\n")
    given = CliRunner().invoke(main, ["generate", "--out", "t", "--config", str(other)])
    assert f"config: {other}" in given.output
