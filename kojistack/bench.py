"""`make bench`: generation and check times, template and user-data sizes, and the simulator's
table for the three fixed workloads. Figures are printed, never asserted."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .config import Config
from .template.builders import builder_user_data_text
from .template.compose import build_template, render_all
from .template.hub import hub_user_data_text
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
    for role, text in texts.items():
        size, worst = len(text.encode()), len(worst_case(text, LONGEST_PARAMS).encode())
        print(f"user data {role}: {size:,} B as rendered, {worst:,} B with the longest values "
              f"(budget {USER_DATA_BUDGET:,}, EC2 limit {USER_DATA_LIMIT:,})")
    took, _ = _timed(lambda: build_template(cfg, "new"), runs=5)
    print(f"build_template(new), median of 5: {took * 1000:.1f} ms")

    from .checks import run_checks
    from .checks.freshness import use_config
    from .checks.lint import lint_text

    use_config(cfg)
    templates = Path("templates")
    start = time.perf_counter()
    for path in sorted(templates.glob("*.json")):  # cfn-lint alone, as the ratios' unit
        lint_text(path.read_text())
    bare = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        results = run_checks(templates, cache=Path(cache))
        cold = time.perf_counter() - start
        start = time.perf_counter()
        run_checks(templates, cache=Path(cache))
        warm = time.perf_counter() - start
    for result, took in results:
        print(f"check {result.name}: {took:.2f} s ({'ok' if result.ok else 'FAIL'}: {result.summary})")
    print(f"kojistack check, stages side by side: cold {cold:.2f} s = {cold / bare:.2f} x, warm (nothing changed, "
          f"answered from the cache) {warm:.2f} s = {warm / bare:.2f} x a bare cfn-lint run over the same "
          f"templates ({bare:.2f} s, this run); the stages alone add to {sum(t for _, t in results):.2f} s")

    try:
        from .sim.bench import print_table
    except ImportError as err:  # the simulator wing is optional for this figure
        print(f"simulator table unavailable: {err}")
    else:
        print_table()


if __name__ == "__main__":
    main()
