"""The slow tier, marked here in one place: `make test-fast` is `pytest -m "not slow and not aws"`.

A test is slow when it starts a moto server (the `moto_endpoint` fixture) or lives in a module that
runs real programs or long computations for most of its tests: PostgreSQL servers, Apache, checkov,
cfn-lint over whole templates, cloud-init's schema and shellcheck, the simulator, the controller end to
end, wheel builds. The figures behind the list: `pytest --durations=0` on the 2-core machine (a module
whose tests took more than 4 s together). A module may also mark itself (`pytestmark = pytest.mark.slow`).
"""

from __future__ import annotations

import pytest

SLOW_FIXTURES = frozenset({"moto_endpoint"})
SLOW_MODULES = frozenset({
    "checks/test_check_cloudinit.py", "checks/test_checkov.py", "checks/test_lint_and_budgets.py",
    "controller/test_autoscaling_contract.py", "controller/test_end_to_end.py", "controller/test_package.py",
    "machines/builder/test_scripts.py", "machines/builder/test_user_data.py",
    "machines/hub/test_bootstrap_steps.py", "machines/hub/test_configs.py", "machines/hub/test_database.py",
    "machines/hub/test_ready_with_fake_hub.py", "machines/hub/test_userdata.py", "machines/test_logship.py",
    "ops/test_chaos.py", "ops/test_diagram.py", "ops/test_kojistack_user.py", "ops/test_rotate.py",
    "ops/test_rotate_hub.py", "ops/test_first_build.py", "machines/hub/test_httpd_login.py",
    "controller/test_knobs.py", "lifecycle/test_sequence.py",
    "sim/test_cli.py", "template/test_regions.py", "test_wings.py",
})


def mark(items: list[pytest.Item], tests_dir) -> None:
    """Add the `slow` marker (registered in pyproject.toml) to every slow test among `items`."""
    for item in items:
        module = item.path.relative_to(tests_dir).as_posix() if item.path.is_relative_to(tests_dir) else ""
        if module in SLOW_MODULES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
