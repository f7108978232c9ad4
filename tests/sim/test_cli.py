"""`kojistack simulate` from the command line: the table, JSON, the plot file, errors."""

import json

from click.testing import CliRunner

from kojistack.cli import main


def test_simulate_prints_the_table_and_writes_the_plot(tmp_path):
    png = tmp_path / "steady.png"
    res = CliRunner().invoke(main, ["simulate", "--workload", "steady", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("workload steady (seed 1)")
    assert [ln.split()[0] for ln in lines[2:7]] == ["controller", "oracle-real-boot", "oracle-zero-boot",
                                                   "fixed-peak", "fixed-mean"]
    assert "build p95" in lines[1]      # a build's whole wait, parent and children (metrics.build_wait_s)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_simulate_json_is_deterministic_and_carries_the_price_date():
    args = ["simulate", "--workload", "steady", "--no-reference", "--json", "--spot-rate", "0.5",
            "--light-capacity", "50", "--light-maxjobs", "50"]
    a, b = CliRunner().invoke(main, args), CliRunner().invoke(main, args)
    assert a.exit_code == 0, a.output
    assert a.stdout == b.stdout
    doc = json.loads(a.stdout)
    assert doc["prices"]["taken"] and doc["prices"]["per_hour"]["x86_64"]["type"] == "c6i.2xlarge"
    assert [r["fleet"] for r in doc["results"]] == ["controller"]
    assert doc["config"]["spot_rate_per_hour"] == 0.5
    assert doc["results"][0]["build_p95_wait_s"] >= doc["results"][0]["parent_p95_wait_s"]


def test_simulate_refuses_bad_input_in_the_users_terms(tmp_path):
    cases = [
        ([], "give exactly one of --workload"),
        (["--workload", "steady", "--trace", str(tmp_path / "t.csv")], "give exactly one of --workload"),
        (["--trace", str(tmp_path / "missing.csv")], "no such file"),
        (["--workload", "steady", "--max", "1200"], "--max must be 1..1000"),
        (["--workload", "steady", "--light-capacity", "1"], "Koji capacity > 1"),
        (["--workload", "steady", "--min", "60"], "--min 60 is above the max 50"),
        (["--workload", "steady", "--fleet", "buildkite-like", "--plot", str(tmp_path / "p.png")],
         "--plot draws the controller's run: add --fleet controller"),
    ]
    for args, message in cases:
        res = CliRunner().invoke(main, ["simulate", *args])
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output, (args, res.output)


def test_trace_refuses_a_bad_date(tmp_path):
    res = CliRunner().invoke(main, ["trace", "--hub", "https://k/kojihub", "--since", "last week",
                                    "-o", str(tmp_path / "t.csv")])
    assert res.exit_code == 2 and "give a date like 2026-11-01" in res.output


def test_figures_do_not_depend_on_the_hash_seed():
    import os
    import subprocess
    import sys

    args = [sys.executable, "-m", "kojistack", "simulate", "--workload", "steady", "--no-reference", "--json",
            "--spot-rate", "0.3", "--light-capacity", "50", "--light-maxjobs", "50"]
    outs = {subprocess.run(args, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outs) == 1


def test_a_throttling_light_channel_is_called_out():
    small = CliRunner().invoke(main, ["simulate", "--workload", "steady", "--no-reference",
                                      "--light-capacity", "2", "--light-maxjobs", "2", "--no-light-hosts"])
    shipped = CliRunner().invoke(main, ["simulate", "--workload", "steady", "--no-reference"])
    assert small.exit_code == 0 and shipped.exit_code == 0
    assert "warning: build parents waited" in small.stdout and "capacity 2, maxjobs 2" in small.stdout
    assert "warning" not in shipped.stdout


def test_the_fleet_policy_is_selectable_and_the_lower_bound_closes_the_table():
    res = CliRunner().invoke(main, ["simulate", "--workload", "steady", "--fleet", "controller",
                                    "--fleet", "buildkite-like", "--fleet", "target-tracking"])
    assert res.exit_code == 0, res.output
    rows = [ln.split()[0] for ln in res.stdout.splitlines()[2:6]]
    assert rows == ["controller", "buildkite-like", "target-tracking", "lower-bound"]
