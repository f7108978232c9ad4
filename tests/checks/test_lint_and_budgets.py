"""cfn-lint (pinned, informational rules on, four regions) finds nothing in any configuration;
the templates and every user data stay within their budgets, measured with the longest values."""

from __future__ import annotations

import json

import pytest

from kojistack.checks.lint import lint_text
from kojistack.template.builders import builder_user_data_text
from kojistack.template.hub import hub_user_data_text
from kojistack.template.light import light_arch, light_env
from kojistack.template.payload import builder_payload, hub_payload
from kojistack.template.userdata import LONGEST_PARAMS, USER_DATA_BUDGET, USER_DATA_LIMIT, used_names, worst_case
from support.configs import CONFIGS

TEMPLATE_LIMIT = 1_000_000


@pytest.mark.parametrize("key", [("default", "new"), ("default", "existing"),
                                 ("x86-only-3az-per-az-nat", "new"), ("aarch64-no-spot-fedora", "existing"),
                                 ("el10-domain", "new")], ids=lambda k: "-".join(k))
def test_cfn_lint_finds_nothing(templates, key):
    findings = lint_text(json.dumps(templates[key]))
    assert not findings, "\n".join(findings)


def test_lint_suppressions_are_only_the_bare_engine_major(default):
    """The one cfn-lint suppression: W3691 on the database, whose EngineVersion is a bare major
    (kojistack/template/database.py says why; tests/template/test_parts.py checks the major instead).
    Without it, cfn-lint would report that bare major."""
    suppressed = {k: r["Metadata"]["cfn-lint"] for k, r in default["Resources"].items()
                  if "cfn-lint" in r.get("Metadata", {})}
    assert suppressed == {"Database": {"config": {"ignore_checks": ["W3691"]}}}
    bare = json.loads(json.dumps(default))
    del bare["Resources"]["Database"]["Metadata"]["cfn-lint"]
    assert any(f.startswith("W3691") for f in lint_text(json.dumps(bare), ("us-east-1",)))


def test_template_size_budget(templates):
    for key, t in templates.items():
        pretty = json.dumps(t, indent=1, sort_keys=True)
        assert len(pretty.encode()) < TEMPLATE_LIMIT, key


LONGEST = LONGEST_PARAMS


def user_data_texts():
    for name, cfg in CONFIGS.items():
        yield f"{name}-hub", hub_user_data_text(cfg, hub_payload())
        for arch in cfg.arches:
            yield f"{name}-builder-{arch}", builder_user_data_text(cfg, arch, builder_payload())
        arch = light_arch(cfg)  # the light hosts' (issue 14 item 1): the builder machine, light role
        yield f"{name}-light", builder_user_data_text(cfg, arch, builder_payload(),
                                                     light_env(cfg, arch, builder_payload()))


@pytest.mark.parametrize("name,text", list(user_data_texts()), ids=lambda x: x if isinstance(x, str) and
                         len(x) < 60 else "")
def test_user_data_fits_its_budget_with_longest_values(name, text):
    """At most USER_DATA_BUDGET (12,288 B) of EC2's 16,384 with every value at its longest (was
    15.1-15.7 KB for the hub, issue 14 item 9)."""
    size = len(worst_case(text, LONGEST).encode())
    assert size <= USER_DATA_BUDGET < USER_DATA_LIMIT, f"{name}: {size} bytes"
    for var in used_names(text):
        assert var.startswith("AWS::") or var in LONGEST or var.startswith("Builder"), var


def test_every_longest_value_is_of_a_name_some_user_data_uses():
    """A stale entry would measure a name no user data carries, and hide that the table no longer
    follows the user data (BuilderIdleMinutes left the hub's user data for a group tag)."""
    used = {var for _, text in user_data_texts() for var in used_names(text)}
    assert set(LONGEST) - used == set()
