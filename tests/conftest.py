"""Fixtures every wing shares. One shape for the generated templates:

- ``templates``: {(config name, variant): template dict} for every config in support/configs.py and
  both variants ("new" VPC, "existing" VPC);
- ``default``: the default config's new-VPC template;
- ``rendered``: {file name: JSON text} of both templates of the default config, as `generate` writes;
- ``templates_dir``: a fresh directory holding ``rendered``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kojistack import names
from kojistack.config import Config
from kojistack.template.compose import render_all
from support.configs import CONFIGS, VARIANTS, as_dict


@pytest.fixture(scope="session")
def templates() -> dict[tuple[str, str], dict]:
    return {(name, v): as_dict(cfg, v) for name, cfg in CONFIGS.items() for v in VARIANTS}


@pytest.fixture(scope="session")
def default(templates) -> dict:
    return templates[("default", "new")]


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    return render_all(Config())


@pytest.fixture()
def templates_dir(tmp_path, rendered):
    for name, text in rendered.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def pytest_collection_modifyitems(config, items):
    """Mark the slow tier (tests/tiers.py) so `make test-fast` is one marker selection."""
    from pathlib import Path

    import tiers

    tiers.mark(items, Path(__file__).parent)


@pytest.fixture(scope="session", autouse=True)
def names_env(tmp_path_factory) -> Path:
    """/opt/kojistack/names.env as the payload carries it (kojistack/names.py), for scripts run from
    the source tree: they source $KOJISTACK_NAMES_ENV, as on a machine they source the payload's."""
    path = tmp_path_factory.mktemp("payload") / names.NAMES_ENV
    path.write_text(names.env_text())
    old = os.environ.get("KOJISTACK_NAMES_ENV")
    os.environ["KOJISTACK_NAMES_ENV"] = str(path)
    yield path
    if old is None:
        os.environ.pop("KOJISTACK_NAMES_ENV", None)
    else:
        os.environ["KOJISTACK_NAMES_ENV"] = old
