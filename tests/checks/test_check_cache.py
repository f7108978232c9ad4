"""checks.cache: a unit of work is answered from the cache while its key (inputs, tool versions,
the check's own code) is unchanged, and runs again when any of them changes (issue 14 item 8). The
real stages, end to end, are in test_check_units.py."""

from __future__ import annotations

from pathlib import Path

from kojistack.checks import CheckResult, run_checks
from kojistack.checks.cache import Units, default_dir, tool_version

CODE = __file__  # the "check module" of the stages below


def stage(name: str, inputs: dict[str, str], calls: list[str]):
    """A stage with one unit per input; each unit's work is counted in `calls`."""
    def check(templates_dir: Path, units: Units | None = None) -> CheckResult:
        units = units or Units()
        found = []
        for unit in sorted(inputs):
            def work(unit: str = unit) -> list[str]:
                calls.append(f"{name}/{unit}")
                return [f"{unit}={inputs[unit]}"]
            found += units.run(units.key(name, CODE, [unit, inputs[unit]]), work)
        return CheckResult(name, True, f"{len(found)} units", found)
    return check


def test_only_the_changed_unit_runs_again(tmp_path: Path):
    inputs, calls = {"a": "1", "b": "1"}, []
    first = run_checks(tmp_path, [stage("s", inputs, calls)], cache=tmp_path / "cache")
    again = run_checks(tmp_path, [stage("s", inputs, calls)], cache=tmp_path / "cache")
    assert calls == ["s/a", "s/b"]
    assert [r.result for r in again] == [r.result for r in first]  # the same results, details included
    assert (again[0].ran, again[0].reused) == (0, 2)
    inputs["b"] = "2"
    changed = run_checks(tmp_path, [stage("s", inputs, calls)], cache=tmp_path / "cache")
    assert calls == ["s/a", "s/b", "s/b"]
    assert (changed[0].ran, changed[0].reused) == (1, 1)


def test_without_a_cache_every_unit_runs(tmp_path: Path):
    inputs, calls = {"a": "1"}, []
    run_checks(tmp_path, [stage("s", inputs, calls)])
    run_checks(tmp_path, [stage("s", inputs, calls)])
    assert calls == ["s/a", "s/a"]


def test_the_key_follows_the_files_names_bytes_and_mode(tmp_path: Path):
    f = tmp_path / "x.sh"
    f.write_text("echo\n")
    before = Units.key("s", CODE, ["v1"], [f])
    assert Units.key("s", CODE, ["v1"], [f]) == before
    assert Units.key("s", CODE, ["v2"], [f]) != before           # a tool version
    f.chmod(0o755)
    assert Units.key("s", CODE, ["v1"], [f]) != before           # the executable bit (the payload keeps it)
    f.chmod(0o644)
    f.write_text("echo 2\n")
    assert Units.key("s", CODE, ["v1"], [f]) != before


def test_the_key_follows_the_check_modules_code(tmp_path: Path):
    code = tmp_path / "stage.py"
    code.write_text("A = 1\n")
    before = Units.key("s", str(code), ["v1"])
    code.write_text("A = 2\n")
    assert Units.key("s", str(code), ["v1"]) != before


def test_a_tool_version_is_all_it_prints():
    """shellcheck prints its name on the first line and its version on the second."""
    assert "version:" in tool_version("shellcheck", "--version")


def test_the_cache_lives_under_the_users_cache(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "kojistack" / "check"


def test_freshness_reads_every_module_generation_loads():
    """freshness.NOT_GENERATOR leaves wings out of the freshness unit's inputs: generation, in a
    fresh interpreter, loads no module from them, and every module it loads is an input."""
    import json
    import subprocess
    import sys

    from kojistack.checks import freshness

    script = ("import json, sys\nfrom kojistack.config import Config\nfrom kojistack.template.compose import "
              "render_all\nrender_all(Config())\nprint(json.dumps(sorted(getattr(m, '__file__', None) or '' "
              "for n, m in list(sys.modules.items()) if n == 'kojistack' or n.startswith('kojistack.'))))")
    loaded = {Path(f).resolve() for f in json.loads(subprocess.run([sys.executable, "-c", script], check=True,
                                                                    capture_output=True, text=True).stdout) if f}
    inputs = {p.resolve() for p in freshness.generator_inputs()}
    assert loaded and loaded <= inputs, sorted(map(str, loaded - inputs))
