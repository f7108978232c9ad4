"""`make bench`: generation and check times, template and user-data sizes, and the simulator's
table for the three fixed workloads. Figures are printed, never asserted."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .config import Config
from .template.builders import builder_user_data_text
from .template.compose import build_template, render_all
from .template.hub import hub_user_data_text
from .template.light import light_arch, light_env
from .template.payload import builder_payload, hub_payload
from .template.userdata import LONGEST_PARAMS, USER_DATA_BUDGET, USER_DATA_LIMIT, worst_case

T = TypeVar("T")


def _timed(fn: Callable[[], T], runs: int = 3) -> tuple[float, T]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


#: the payload script the warm re-check edits (in a copy of the inputs): builder-only
EDITED = Path("cloud-init/payload/builder/bin/kojistack-spot-watch")


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, out.stdout + out.stderr


def check_loop() -> None:
    """`kojistack check` as a user runs it (a fresh process each time) in a copy of the inputs with
    an empty result cache: cold, warm with nothing changed, warm after a one-line edit of one
    builder payload script, and again once the templates are regenerated; each as a ratio to a bare
    cfn-lint run (the CLI, the same options) over the same templates in this run."""
    from .checks.checkov import ENV_OVERRIDE, find_checkov
    from .checks.lint import REGIONS

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "src"
        skip = shutil.ignore_patterns("__pycache__", "*.pyc")
        for part in ("kojistack", "cloud-init", "templates"):
            shutil.copytree(root / part, copy / part, ignore=skip)
        env = {**os.environ, "PYTHONPATH": str(copy), "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        checkov = find_checkov()
        if checkov:
            env[ENV_OVERRIDE] = str(checkov.resolve())
        py = [sys.executable]
        # the copy's templates regenerated first: the figures do not depend on the committed ones being fresh
        _run([*py, "-m", "kojistack", "generate", "--out", "templates"], copy, env)
        templates = [str(p.relative_to(copy)) for p in sorted((copy / "templates").glob("*.json"))]
        bare, _ = _run([*py, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
                        "--regions", *REGIONS, "--include-checks", "I", "--", *templates], copy, env)
        check = [*py, "-m", "kojistack", "check"]
        runs = [("cold (empty cache)", *_run(check, copy, env)),
                ("warm, nothing changed", *_run(check, copy, env))]
        with open(copy / EDITED, "a") as f:
            f.write("# edited by make bench\n")
        runs.append((f"warm, {EDITED.name} edited", *_run(check, copy, env)))
        _run([*py, "-m", "kojistack", "generate", "--out", "templates"], copy, env)
        runs.append(("warm, edited + templates regenerated", *_run(check, copy, env)))
    print(f"check loop (`kojistack check`, a fresh process each time, in a copy of the inputs; unit: a bare "
          f"cfn-lint run over the same templates, {bare:.2f} s, this run):")
    for label, took, out in runs:
        print(f"  {label}: {took:.2f} s = {took / bare:.2f} x")
        for line in out.splitlines():
            if line[:4] in ("ok  ", "FAIL"):
                name, _, rest = line[5:].partition(":")
                print(f"    {line[:4]} {name}: {rest[rest.rfind('('):]}")


def main() -> None:
    cfg = Config()
    took, rendered = _timed(lambda: render_all(cfg))
    print(f"generate (both templates, median of 3): {took:.3f} s")
    for name, text in rendered.items():
        t = json.loads(text)
        minified = json.dumps(t, separators=(",", ":"), sort_keys=True)
        print(f"  {name}: {len(text.encode()):,} B pretty, {len(minified.encode()):,} B minified; "
              f"{len(t['Resources'])} resources, {len(t['Parameters'])} parameters, "
              f"{len(t['Outputs'])} outputs, {len(t.get('Rules', {}))} rules")
    hp, bp = hub_payload(), builder_payload()
    print(f"payload in launch-template Metadata: hub {len(hp.tgz):,} B tar.gz, builder {len(bp.tgz):,} B tar.gz")
    texts = {"hub": hub_user_data_text(cfg, hp)}
    for arch in cfg.arches:
        texts[f"builder {arch}"] = builder_user_data_text(cfg, arch, bp)
    arch = light_arch(cfg)                      # the light hosts': the builder machine, light role
    texts[f"light host {arch}"] = builder_user_data_text(cfg, arch, bp, light_env(cfg, arch, bp))
    for role, text in texts.items():
        size, worst = len(text.encode()), len(worst_case(text, LONGEST_PARAMS).encode())
        print(f"user data {role}: {size:,} B as rendered, {worst:,} B with the longest values "
              f"(budget {USER_DATA_BUDGET:,}, EC2 limit {USER_DATA_LIMIT:,})")
    took, _ = _timed(lambda: build_template(cfg, "new"), runs=5)
    print(f"build_template(new), median of 5: {took * 1000:.1f} ms")

    check_loop()

    try:
        from .sim.bench import print_table
    except ImportError as err:  # the simulator wing is optional for this figure
        print(f"simulator table unavailable: {err}")
    else:
        print_table()


if __name__ == "__main__":
    main()
