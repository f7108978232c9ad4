"""Shared fixtures of the security suite: the templates of the default config, parsed."""

from __future__ import annotations

import json

import pytest

from kojistack.config import Config
from kojistack.template.compose import render_all


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """{filename: JSON text} of both templates for the default config."""
    return render_all(Config())


@pytest.fixture(scope="session")
def templates(rendered) -> dict[str, dict]:
    """{filename: parsed template} of both templates for the default config."""
    return {name: json.loads(text) for name, text in rendered.items()}


@pytest.fixture()
def templates_dir(tmp_path, rendered):
    """A directory holding both freshly generated templates."""
    for name, text in rendered.items():
        (tmp_path / name).write_text(text)
    return tmp_path
