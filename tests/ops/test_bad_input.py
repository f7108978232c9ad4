"""Bad input, everywhere: config files, CLI flags, file-system conditions, parameter values
(every AllowedPattern) and every Rules assertion. Each bad input is an error that names the field
and what is allowed, exit status 2, and nothing is written."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

from kojistack.cli import main
from kojistack.template.parameters import BUILDER_MAX_VALUES, BUILDER_MIN_VALUES, reserved_users

from .badinput import PATTERN_SAMPLES, failing_rules, pattern_accepts

# (id, kojistack.yaml text, words the message must contain: the field, and what is allowed)
BAD_CONFIGS = [
    ("unknown-key", "flavour: vanilla\n", ["flavour", "allowed keys", "distro"]),
    ("az-wrong-type", "availability_zones: two\n", ["availability_zones", "2, 3"]),
    ("az-out-of-range", "availability_zones: 4\n", ["availability_zones", "2, 3"]),
    ("az-bool", "availability_zones: true\n", ["availability_zones", "2, 3"]),
    ("nat-unknown", "nat: none\n", ["nat", "single, per-az"]),
    ("distro-unknown", "distro: centos\n", ["distro", "el9, el10, fedora"]),
    ("spot-string", "spot: 'yes'\n", ["spot", "true or false"]),
    ("domain-upper", "domain: Koji.Example.COM\n", ["domain", "lower-case DNS name"]),
    ("domain-number", "domain: 42\n", ["domain", "lower-case DNS name"]),
    ("vpc-unknown", "vpc: maybe\n", ["vpc", "new, existing, both"]),
    ("builders-list", "builders: [x86_64]\n", ["builders", "x86_64, aarch64"]),
    ("builders-empty", "builders: {}\n", ["builders", "x86_64, aarch64"]),
    ("builders-arch", "builders: {sparc: {}}\n", ["builders.sparc", "x86_64, aarch64"]),
    ("builders-body", "builders: {x86_64: [c6i.2xlarge]}\n", ["builders.x86_64", "instance_types"]),
    ("builders-key", "builders: {x86_64: {spot: true}}\n", ["builders.x86_64.spot", "instance_types"]),
    ("types-string", "builders: {x86_64: {instance_types: c6i.2xlarge}}\n",
     ["builders.x86_64.instance_types", "list"]),
    ("types-empty", "builders: {x86_64: {instance_types: []}}\n", ["builders.x86_64.instance_types", "c6i.2xlarge"]),
    ("types-wrong-arch", "builders: {x86_64: {instance_types: [c7g.2xlarge]}}\n",
     ["builders.x86_64.instance_types", "x86 types"]),
    ("types-graviton-only", "builders: {aarch64: {instance_types: [c6i.2xlarge]}}\n",
     ["builders.aarch64.instance_types", "Graviton"]),
    ("types-mixed-size", "builders: {x86_64: {instance_types: [c6i.2xlarge, c6a.xlarge]}}\n",
     ["builders.x86_64.instance_types", "one size"]),
    ("types-duplicate", "builders: {x86_64: {instance_types: [c6i.2xlarge, c6i.2xlarge]}}\n",
     ["builders.x86_64.instance_types", "duplicate"]),
    ("types-garbage", "builders: {x86_64: {instance_types: ['big box']}}\n",
     ["builders.x86_64.instance_types", "like c6i.2xlarge"]),
    ("types-too-many", "builders: {x86_64: {instance_types: [" + ", ".join(f"c{i}i.2xlarge" for i in range(21))
     + "]}}\n", ["builders.x86_64.instance_types", "at most 20"]),
    ("yaml-malformed", "distro: [el9\n", ["not valid YAML", "line"]),
    ("yaml-empty", "", ["empty", "distro: el9"]),
    ("yaml-comment-only", "# nothing\n", ["empty"]),
    ("yaml-list", "- distro\n", ["top level", "mapping"]),
    ("yaml-scalar", "el9\n", ["top level", "mapping"]),
]

# (id, generate flags, words the message must contain)
BAD_FLAGS = [
    ("az-count-4", ["--az-count", "4"], ["availability_zones", "2, 3"]),
    ("az-count-text", ["--az-count", "two"], ["--az-count", "integer"]),
    ("arch-sparc", ["--arch", "sparc"], ["--arch", "x86_64, aarch64"]),
    ("nat-none", ["--nat", "none"], ["nat", "single, per-az"]),
    ("distro-centos", ["--distro", "centos"], ["distro", "el9, el10, fedora"]),
    ("vpc-sideways", ["--vpc", "sideways"], ["vpc", "new, existing, both"]),
    ("domain-bad", ["--domain", "bad_domain!"], ["domain", "lower-case DNS name"]),
    ("unknown-flag", ["--colour", "red"], ["--colour"]),
    ("config-missing", ["--config", "/nonexistent/kojistack.yaml"], ["--config", "cannot read"]),
]


# (id, drill command line, words): rejected by the command line before any AWS call
BAD_DRILL_FLAGS = [
    ("chaos-no-stack", ["chaos", "--dry-run"], ["--stack-name"]),
    ("chaos-target", ["chaos", "--stack-name", "ks", "--target", "database"], ["--target", "hub", "builder", "random"]),
    ("chaos-timeout-0", ["chaos", "--stack-name", "ks", "--timeout-minutes", "0"], ["--timeout-minutes", "1<=x<=180"]),
    ("chaos-timeout-text", ["chaos", "--stack-name", "ks", "--timeout-minutes", "soon"],
     ["--timeout-minutes", "integer"]),
    ("rotate-no-stack", ["rotate-admin-cert"], ["--stack-name"]),
]


def _snapshot(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture()
def out(tmp_path, rendered) -> Path:
    """An output directory already holding templates (what must stay byte-identical)."""
    d = tmp_path / "templates"
    d.mkdir()
    for name, text in rendered.items():
        (d / name).write_text(text)
    return d


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    text = result.output + (getattr(result, "stderr", "") or "")
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        f"traceback instead of an error message: {result.exception!r}"
    return result.exit_code, text


def _expect_rejected(args: list[str], words: list[str], out: Path) -> None:
    before = _snapshot(out.parent)
    code, text = _run(args)
    assert code == 2, f"exit {code}: {text}"
    for word in words:
        assert word in text, f"{word!r} not in: {text}"
    assert _snapshot(out.parent) == before, "something was written"


@pytest.mark.parametrize("text,words", [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_file_is_rejected(tmp_path, out, text, words):
    cfg = out.parent / "kojistack.yaml"
    cfg.write_text(text)
    _expect_rejected(["generate", "--config", str(cfg), "--out", str(out)], words, out)


@pytest.mark.parametrize("flags,words", [c[1:] for c in BAD_FLAGS], ids=[c[0] for c in BAD_FLAGS])
def test_bad_flag_is_rejected(out, flags, words):
    _expect_rejected(["generate", *flags, "--out", str(out)], words, out)


@pytest.mark.parametrize("args,words", [c[1:] for c in BAD_DRILL_FLAGS], ids=[c[0] for c in BAD_DRILL_FLAGS])
def test_bad_drill_flag_is_rejected(out, args, words):
    _expect_rejected(args, words, out)


def test_out_under_a_file_is_rejected(out):
    blocker = out / "kojistack.json"  # a file, used as a directory
    _expect_rejected(["generate", "--out", str(blocker / "sub")], ["--out", "cannot write"], out)


def test_out_on_a_read_only_file_system_is_rejected(out):
    """/sys refuses new entries even to root (the tests may run as root, where chmod would not stop a write)."""
    _expect_rejected(["generate", "--out", "/sys/kojistack-templates"], ["--out", "cannot write"], out)
    assert not Path("/sys/kojistack-templates").exists()


def test_out_that_is_a_file_is_rejected(out):
    _expect_rejected(["generate", "--out", str(out / "kojistack.json")], ["--out", "cannot write"], out)


def test_a_good_config_writes(tmp_path):
    """The control: the same runner and checks accept a good config (so the rejections mean something)."""
    cfg = tmp_path / "kojistack.yaml"
    cfg.write_text("distro: fedora\navailability_zones: 3\n")
    code, text = _run(["generate", "--config", str(cfg), "--out", str(tmp_path / "t")])
    assert code == 0, text
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["kojistack-existing-vpc.json", "kojistack.json"]


def test_lint_of_a_missing_template_is_rejected(out):
    _expect_rejected(["lint", str(out / "missing.json")], ["missing.json", "does not exist"], out)


def test_lint_with_no_templates_is_rejected(tmp_path, monkeypatch, out):
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # no ./templates here
    _expect_rejected(["lint"], ["no templates", "kojistack generate"], out)


def test_upload_of_a_missing_template_dir_is_rejected(tmp_path, out, monkeypatch):
    # fake credentials: the command must stop at the missing templates before calling AWS
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                 "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}.items():
        monkeypatch.setenv(k, v)
    _expect_rejected(["upload", "--bucket", "b", "--templates", str(tmp_path / "nowhere")],
                     ["no templates", "nowhere", "kojistack generate"], out)


# --- parameter values --------------------------------------------------------------------------

def _patterns(templates: dict) -> dict[str, str]:
    return {name: p["AllowedPattern"] for t in templates.values()
            for name, p in t["Parameters"].items() if "AllowedPattern" in p}


def test_every_allowed_pattern_has_samples_and_a_constraint_description(templates):
    missing = sorted(set(_patterns(templates)) - set(PATTERN_SAMPLES))
    assert not missing, f"add good and bad samples for {missing} to tests/ops/badinput.py"
    stale = sorted(set(PATTERN_SAMPLES) - set(_patterns(templates)))
    assert not stale, f"samples for parameters that no longer have a pattern: {stale}"
    for t in templates.values():
        for name, p in t["Parameters"].items():
            if "AllowedPattern" in p:
                assert len(p.get("ConstraintDescription", "")) > 10, name


PATTERN_CASES = [(n, v, ok) for n, (good, bad) in PATTERN_SAMPLES.items()
                 for ok, values in ((True, good), (False, bad)) for v in values]


@pytest.mark.parametrize("name,value,ok", PATTERN_CASES,
                         ids=[f"{n}-{'good' if ok else 'bad'}-{i}" for i, (n, v, ok) in enumerate(PATTERN_CASES)])
def test_allowed_pattern_sample(templates, name, value, ok):
    assert pattern_accepts(_patterns(templates)[name], value) is ok, f"{name}={value!r}"


def test_access_cidr_rejects_impossible_octets(templates):
    assert not pattern_accepts(_patterns(templates)["AccessCidr"], "999.1.1.1/8")


def test_numbers_have_bounds_or_allowed_values(templates):
    for t in templates.values():
        for name, p in t["Parameters"].items():
            if p["Type"] in ("String", "Number"):
                assert {"AllowedPattern", "AllowedValues", "MinValue"} & p.keys(), f"{name} is unconstrained"


# --- Rules ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["X8664", "Aarch64"])
def test_builder_min_never_above_max(templates, arch):
    t = templates[("default", "new")]
    for lo, hi in itertools.product(BUILDER_MIN_VALUES, BUILDER_MAX_VALUES):
        failed = failing_rules(t, {f"Builder{arch}MinSize": lo, f"Builder{arch}MaxSize": hi})
        assert bool(failed) is (int(lo) > int(hi)), (lo, hi, failed)
        assert not failed or "minimum must not exceed the maximum" in failed[0]


@pytest.mark.parametrize("user", reserved_users())
def test_admin_user_may_not_be_a_service_user(templates, user):
    for t in templates.values():
        assert failing_rules(t, {"AdminUserName": user}) == [
            "AdminUserName must not be one of the service users: " + ", ".join(reserved_users())]


KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CA = "arn:aws:secretsmanager:us-east-1:123456789012:secret:koji-CaSecret-AbC123"
BCA = "arn:aws:secretsmanager:us-east-1:123456789012:secret:koji-BuilderCaSecret-AbC123"


def test_restore_ca_needs_its_key(templates):
    for t in templates.values():
        assert failing_rules(t, {"RestoreCaSecretArn": CA}) == [
            "RestoreCaSecretArn needs RestoreKeyArn (the retained key that encrypts it)"]
        assert failing_rules(t, {"RestoreCaSecretArn": CA, "RestoreKeyArn": KEY}) == []
        assert failing_rules(t, {}) == []


def test_restore_builder_ca_needs_the_ca_and_its_key(templates):
    for t in templates.values():
        assert failing_rules(t, {"RestoreBuilderCaSecretArn": BCA})
        assert failing_rules(t, {"RestoreBuilderCaSecretArn": BCA, "RestoreKeyArn": KEY})


def test_db_storage_limit_above_size(templates):
    for t in templates.values():
        assert failing_rules(t, {"DbAllocatedStorageGiB": "1000", "DbMaxAllocatedStorageGiB": "40"})
