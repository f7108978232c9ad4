"""Issue 12 item 6: ordinary mistakes get one sentence and exit 2, never a traceback, and nothing is
written: lint on something that is not a template, a config that is not UTF-8, a key given twice, a
config under a name kojistack does not read, YAML errors that say why, instance types that do not
exist or are too small, and `diagram` without its extra or into a place it cannot write."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from kojistack.cli import main
from support.paths import REPO


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"traceback instead of a sentence: {result.exception!r}"
    return result.exit_code, result.output


@pytest.mark.parametrize("content, words", [
    (b"# kojistack\n\nsee: docs: here\n", "not a CloudFormation template in JSON or YAML"),
    (b"\xff\xfe\x00binary", "not UTF-8 text"),
    (b'{"a": 1}', "it has no Resources section"),
])
def test_lint_on_something_that_is_not_a_template(tmp_path, content, words):
    path = tmp_path / "README.md"
    path.write_bytes(content)
    code, text = run("lint", str(path))
    assert code == 2 and words in text and str(path) in text


@pytest.mark.parametrize("content, words", [
    (b"nat: caf\xe9\n", ["not UTF-8 text (byte 0xe9 at offset 8)"]),
    (b"nat: single\ndistro: el9\nnat: per-az\n", ["duplicate key 'nat'", "line 3", "first given at line 1"]),
    (b"builders:\n\tx86_64: {}\n", ["line 2, column 1", "cannot start any token", "spaces, not tabs"]),
    (b"nat: [single\n", ["expected ',' or ']'"]),
    (b"spot: yes: no\n", ["mapping values are not allowed here"]),
    (b"builders:\n  x86_64:\n    instance_types: [c6i.huge]\n", ["c6i.huge is not an EC2 instance type"]),
    (b"builders:\n  x86_64:\n    instance_types: [t2.nano]\n", ["t2.nano is too small to build on"]),
    (b"builders:\n  aarch64:\n    instance_types: [c7g.medium, c6g.medium, m7g.medium]\n",
     ["c7g.medium is too small to build on"]),
])
def test_config_mistakes_say_why(tmp_path, content, words):
    config = tmp_path / "kojistack.yaml"
    config.write_bytes(content)
    code, text = run("generate", "--config", str(config), "--out", str(tmp_path / "out"))
    assert code == 2, text
    for word in words:
        assert word in text, text
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["kojistack.yml", ".kojistack.yaml"])
def test_a_config_kojistack_would_ignore_is_an_error(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text("nat: per-az\n")
    code, text = run("generate", "--out", "out")
    assert code == 2 and f"found {name}, which kojistack does not read" in text
    (tmp_path / "kojistack.yaml").write_text("nat: per-az\n")
    code, text = run("generate", "--out", "out")
    assert code == 2 and "kojistack.yaml is read and" in text
    assert not (tmp_path / "out").exists()


def test_diagram_without_matplotlib(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without [plot] meets
    code, text = run("diagram", "-o", str(tmp_path / "a.png"), "--template", str(REPO / "templates" / "kojistack.json"))
    assert code == 2 and "pip install 'kojistack[plot]'" in text


def test_diagram_into_a_place_it_cannot_write(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    code, text = run("diagram", "-o", str(blocker / "a.png"), "--template", str(REPO / "templates" / "kojistack.json"))
    assert code == 2 and f"-o {blocker / 'a.png'}: cannot write the picture there" in text
