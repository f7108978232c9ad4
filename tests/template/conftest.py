"""Helpers of the template tests (the shared fixtures are in tests/conftest.py)."""

from __future__ import annotations


def resources(t: dict, type_: str) -> dict[str, dict]:
    return {k: r for k, r in t["Resources"].items() if r["Type"] == type_}
