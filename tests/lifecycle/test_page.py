"""docs/lifecycle.md names every lifecycle test, and only tests that exist."""

from __future__ import annotations

import re

from support.paths import REPO

from . import test_sequence


def test_the_page_lists_every_step_and_only_real_tests():
    page = (REPO / "docs" / "lifecycle.md").read_text()
    named = set(re.findall(r"`(test_[a-z0-9_]+)`", page))
    steps = {n for n in dir(test_sequence) if n.startswith("test_")}
    assert named == steps, (sorted(named - steps), sorted(steps - named))
