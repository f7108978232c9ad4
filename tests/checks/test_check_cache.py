"""`kojistack check` keeps each stage's result by the hash of its inputs and tool versions (issue 14
item 8): an unchanged stage is answered from the cache, a changed one runs again."""

from __future__ import annotations

from pathlib import Path

from kojistack.checks import CheckResult, all_checks, run_checks
from kojistack.checks.cache import default_dir


def stages(inputs: dict[str, str], calls: list[str]):
    def make(name: str):
        def check(templates_dir: Path) -> CheckResult:
            calls.append(name)
            return CheckResult(name, True, f"{name} on {inputs[name]}", ["detail"])
        check.fingerprint = lambda templates_dir: f"{name}-{inputs[name]}"  # type: ignore[attr-defined]
        return check
    return [make(n) for n in sorted(inputs)]


def test_only_the_changed_stage_runs_again(tmp_path: Path):
    inputs, calls = {"a": "1", "b": "1"}, []
    first = run_checks(tmp_path, stages(inputs, calls), cache=tmp_path / "cache")
    again = run_checks(tmp_path, stages(inputs, calls), cache=tmp_path / "cache")
    assert sorted(calls) == ["a", "b"]
    assert [r for r, _ in again] == [r for r, _ in first]  # the same results, details included
    inputs["b"] = "2"
    run_checks(tmp_path, stages(inputs, calls), cache=tmp_path / "cache")
    assert sorted(calls) == ["a", "b", "b"]


def test_without_a_cache_every_stage_runs(tmp_path: Path):
    inputs, calls = {"a": "1"}, []
    run_checks(tmp_path, stages(inputs, calls))
    run_checks(tmp_path, stages(inputs, calls))
    assert calls == ["a", "a"]


def test_every_real_stage_has_a_fingerprint_that_follows_the_templates(templates_dir: Path):
    tmp_path = templates_dir
    before = {c.__module__: c.fingerprint(tmp_path) for c in all_checks()}
    assert len(before) == 4
    assert before == {c.__module__: c.fingerprint(tmp_path) for c in all_checks()}
    one = sorted(tmp_path.glob("*.json"))[0]
    one.write_text(one.read_text() + "\n")
    after = {c.__module__: c.fingerprint(tmp_path) for c in all_checks()}
    assert all(after[m] != before[m] for m in before)


def test_the_cache_lives_under_the_users_cache(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "kojistack" / "check"
