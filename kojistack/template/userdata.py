"""Renders user data: Jinja (build-time values, StrictUndefined) -> Fn::Sub with an explicit
mapping (deploy-time values) -> Fn::Base64.

Jinja only ever renders cloud-init/; it never writes CloudFormation. In the rendered text,
`${Name}` is a deploy-time value and `${!NAME}` is literal shell. The mapping holds exactly the
names the text uses (pseudo parameters `${AWS::...}` need none), so an unused or missing value is
caught here, at generation time.
"""

from __future__ import annotations

import base64
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from troposphere import Base64, Sub

from .. import names
from .payload import CLOUD_INIT, UnitNameError, check_unit_names

USER_DATA = CLOUD_INIT / "user-data"  # what the user data itself includes (cloud-init/README.md)

USER_DATA_LIMIT = 16_384  # bytes, raw (EC2 limit before base64)
#: what each user data may use with every value at its longest: three quarters of EC2's limit, the
#: rest kept free for what the stack will need next (issue 14 item 9)
USER_DATA_BUDGET = 12_288

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(USER_DATA)),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


def gz_b64(text: str) -> str:
    """gzip (mtime 0: byte-stable) then base64, one line: cloud-init write_files `encoding: gz+b64`
    (cloudinit/config/cc_write_files.py canonicalize_extraction/extract_contents; in cloud-init's
    write_files schema since 0.7). The base64 alphabet has no `$` or `{`, so Fn::Sub leaves it alone."""
    return base64.b64encode(gzip.compress(text.encode(), compresslevel=9, mtime=0)).decode()


_ENV.filters["gz_b64"] = gz_b64
_SUB_VAR = re.compile(r"\$\{(?!!)([A-Za-z0-9_:.]+)\}")


@dataclass(frozen=True)
class BootContext:
    """The only input of a user-data template (`ctx` in Jinja)."""

    role: str  # "hub" or "builder"
    distro: str
    arches: tuple[str, ...]
    stack_env: str  # lines KOJISTACK_NAME='${CfnVar}' for /etc/kojistack/stack.env
    payload_sha256: str
    arch: str = ""  # builders only


def bootstrap_unit_file() -> Path:
    """The one unit the user data itself carries: user-data/common/<names.UNIT_BOOTSTRAP>
    (common/boot-files.yaml.j2 writes it to /etc/systemd/system/ under the same name)."""
    path = USER_DATA / "common" / names.UNIT_BOOTSTRAP
    if not path.is_file():
        raise UnitNameError(f"user-data/common/{names.UNIT_BOOTSTRAP}: no such unit file (kojistack/names.py "
                            f"UNIT_BOOTSTRAP; a unit's name is its file's name)")
    return path


def render(name: str, ctx: BootContext) -> str:
    """Render cloud-init/<name> with `ctx` and `units` (the unit names of kojistack/names.py); an
    undefined variable is an error."""
    boot = bootstrap_unit_file()
    check_unit_names(f"user-data/common/{boot.name}", names.UNIT_BOOTSTRAP, boot.read_text())
    return _ENV.get_template(name).render(ctx=ctx, units=names.units())


def stack_env(entries: dict[str, str]) -> str:
    """`{"DB_ADDRESS": "${DbAddress}"}` -> "KOJISTACK_DB_ADDRESS='${DbAddress}'" lines, sorted.

    Values are single-quoted (systemd EnvironmentFile and bash `.` both read that); no parameter
    pattern admits a single quote.
    """
    return "".join(f"KOJISTACK_{k}='{v}'\n" for k, v in sorted(entries.items()))


def used_names(text: str) -> set[str]:
    """Deploy-time names a rendered text uses (`${Name}`; `${!X}` is literal shell)."""
    return set(_SUB_VAR.findall(text))


def to_sub(text: str, values: dict[str, object]) -> Sub:
    """Fn::Sub of `text` with a mapping of exactly the names it uses."""
    used = {n for n in used_names(text) if not n.startswith("AWS::")}
    missing = sorted(used - values.keys())
    if missing:
        raise ValueError(f"user data uses ${{{missing[0]}}} but no value is mapped for it "
                         f"(known: {', '.join(sorted(values))})")
    return Sub(text, **{k: values[k] for k in sorted(used)})


def to_user_data(text: str, values: dict[str, object]) -> Base64:
    return Base64(to_sub(text, values))


# Longest value each deploy-time name can take, for the size budget (AWS limits, or the
# parameter's pattern). Stack names are up to 128 characters.
LONGEST = {
    "AWS::StackName": 128, "AWS::Region": 14, "AWS::URLSuffix": 17, "AWS::AccountId": 12,
    "AWS::Partition": 10, "AWS::StackId": 200, "StackUuid": 36,
    "SecretArn": 2048 // 8,  # ARN of a generated-name secret (~110); generous
    "TargetGroupArn": 140, "NlbDns": 82, "DbAddress": 120, "FileSystemId": 21, "DbPort": 5,
    "Param": 512,  # free-text parameters (AllowedScms max 512)
    "Short": 64,
}


# Longest value of each name the user data uses (parameter patterns and lengths, AWS limits): the
# worst case that USER_DATA_BUDGET is measured with (tests/checks/test_lint_and_budgets.py, make bench).
LONGEST_PARAMS = {"FileSystemId": 21, "DbAddress": 120, "DbPort": 5, "DbInstanceClass": 14,
                  "PublicNlbDns": 82, "InternalNlbDns": 82, "PublicTargetGroup": 140, "InternalTargetGroup": 140,
                  "CustomDomain": 253, "AdminUserName": 32, "KojiVersion": 12, "AllowedScms": 512,
                  "SeedBuildEnvironment": 5, "StackUuid": 36,
                  # secret ARNs: partition, region, account, generated name "<LogicalId>-<12>-<6>"
                  **{k: 160 for k in ("DbMasterSecret", "KojiDbSecret", "WebSecret", "CaSecret", "BuilderCaSecret",
                                      "AdminSecret")},
                  "StackKeyArn": 100,
                  "RestoreCaSecretArn": 600, "RestoreBuilderCaSecretArn": 600}


def worst_case(text: str, longest_for: dict[str, int]) -> str:
    """The text as EC2 would see it with every value at its longest (for the 16 KiB budget)."""
    def repl(m: re.Match) -> str:
        return "x" * longest_for.get(m.group(1), LONGEST.get(m.group(1), 256))
    return _SUB_VAR.sub(repl, text).replace("${!", "${")
