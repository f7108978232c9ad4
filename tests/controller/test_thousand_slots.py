"""A thousand builders per arch (issue 14 item 3): the MaxSize parameter allows 1,000, the
controller hands out slots up to x86-64-1000 and signs them, and every place that spells the slot
name pattern (the hub's httpd builder-CA check, its kojistack-user guard, the builders' bootstrap,
the fake hub) spells the controller's. The real Apache check runs in
tests/machines/hub/test_httpd_login.py (test_the_thousandth_slot_logs_in)."""

import subprocess

import pytest

from kojistack import names
from kojistack.controller import decide
from kojistack.controller.decide import IN_SERVICE, PENDING_WAIT, Instance, Observed
from kojistack.controller.settings import MAX_SLOTS, from_env
from kojistack.template.parameters import BUILDER_MAX_VALUES, max_param
from support.channels import policy
from support.paths import REPO

# The slot pattern is declared once (kojistack/names.py SLOT_RE, in the payload's names.env); these
# files read it from there (issue 13 item 1) instead of spelling it again
READERS = {
    "cloud-init/payload/hub/conf/ssl.conf.in": "@KOJISTACK_SLOT_RE@",
    "cloud-init/payload/hub/bin/kojistack-user": "$KOJISTACK_SLOT_RE",
    "cloud-init/payload/builder/bin/kojistack-bootstrap": "$KOJISTACK_SLOT_RE",
    "tests/fakes/kojihub.py": "names.SLOT_RE",
}


def test_the_one_slot_pattern_is_the_controllers():
    assert names.SLOT_RE == decide.SLOT_PATTERN.pattern
    assert names.LIGHT_SLOT_RE == decide.LIGHT_SLOT_PATTERN.pattern  # light hosts (issue 14 item 1)


#: the light hosts' slot pattern (names.LIGHT_SLOT_RE) is read by the same places
LIGHT_READERS = {
    "cloud-init/payload/hub/conf/ssl.conf.in": "@KOJISTACK_LIGHT_SLOT_RE@",
    "cloud-init/payload/hub/bin/kojistack-user": "$KOJISTACK_LIGHT_SLOT_RE",
    "cloud-init/payload/builder/bin/kojistack-bootstrap": "$KOJISTACK_LIGHT_SLOT_RE",
    "tests/fakes/kojihub.py": "names.LIGHT_SLOT_RE",
}


@pytest.mark.parametrize("path", sorted(LIGHT_READERS))
def test_every_user_of_the_light_slot_pattern_reads_the_declared_one(path):
    assert LIGHT_READERS[path] in (REPO / path).read_text(), path


@pytest.mark.parametrize("path", sorted(READERS))
def test_every_user_of_the_slot_pattern_reads_the_declared_one(path):
    assert READERS[path] in (REPO / path).read_text(), path


def test_bash_takes_the_thousandth_slot_and_no_more():
    """The bootstrap's and kojistack-user's test, run by bash itself."""
    pattern = decide.SLOT_PATTERN.pattern
    script = 'for n in "$@"; do if [[ $n =~ $P ]]; then echo "$n"; fi; done'
    out = subprocess.run(["bash", "-c", script, "bash", "x86-64-01", "x86-64-1000", "aarch64-999", "x86-64-10000",
                          "x86-64-1"], env={"P": pattern}, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["x86-64-01", "x86-64-1000", "aarch64-999"]


def test_the_parameter_and_the_controller_allow_a_thousand(templates):
    assert max(int(v) for v in BUILDER_MAX_VALUES) == MAX_SLOTS == 1000
    for t in templates.values():
        for name, p in t["Parameters"].items():
            if name == max_param("x86_64") or name == max_param("aarch64"):
                assert "1000" in p["AllowedValues"]
    env = {"KOJISTACK_" + k: v for k, v in {
        "STACK_NAME": "ks", "REGION": "us-east-1", "INTERNAL_NLB_DNS": "nlb", "METRICS_NAMESPACE": "kojistack/ks",
        "SSM_PREFIX": "/ks/kojistack", "ARCHES": "x86_64"}.items()}
    env.update(names.env())  # /opt/kojistack/names.env
    assert from_env(env).policy.max_slots == MAX_SLOTS


def _builder(n, arch, lifecycle, slot=None):
    key = f"{n:064x}"
    return Instance(id=f"i-{arch[:3]}{n:05d}", arch=arch, lifecycle=lifecycle, launched_at=1000.0 + n, slot=slot,
                    tag_key_sha256=key, csr_key_sha256=key, vcpus=4)


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_a_thousand_slots_are_handed_out_and_no_more(arch):
    held = [_builder(n, arch, IN_SERVICE, decide.slot_name(arch, n)) for n in range(1, 999)]
    waiting = [_builder(n, arch, PENDING_WAIT) for n in range(1000, 1004)]
    state = Observed(now=5000.0, tasks=(), hosts=(), instances=tuple(held + waiting), groups=())
    regs, refusals = decide.registrations(state, policy(max_slots=MAX_SLOTS))
    prefix = decide.ARCH_SLOT_PREFIX[arch]
    assert [r.slot for r in regs] == [f"{prefix}-999", f"{prefix}-1000"]
    assert len(refusals) == 2 and all("all 1000 in use" in r.reason for r in refusals)
    for r in regs:
        decide.check_cn(r.slot, arch)  # the controller signs what it hands out
