"""Console quick-create links and the Markdown "Launch Stack" button; `Key=Value` parameter parsing.

Format (AWS docs, "Create quick-create links for stacks"):
https://<region>.console.aws.amazon.com/cloudformation/home?region=<region>#/stacks/create/review
?templateURL=<S3 URL>&stackName=<name>&param_<Name>=<value>; every value is URL-encoded.
"""

from __future__ import annotations

import difflib
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import UserError

BUTTON_IMAGE = "https://s3.amazonaws.com/cloudformation-examples/cloudformation-launch-stack.png"
DEFAULT_STACK_NAME = "koji"
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")


def check_stack_name(name: str) -> str:
    """Return `name` if CloudFormation accepts it as a stack name, else raise UserError."""
    if not _STACK_NAME.match(name):
        raise UserError(f"stack name {name!r} is invalid: it must start with a letter and hold only "
                        "letters, digits and hyphens (at most 128 characters)")
    return name


def parse_params(pairs: Iterable[str]) -> dict[str, str]:
    """Parse repeated `Key=Value` flags into a dict (later flags win); raises UserError on a bad pair."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--param {pair!r} must look like Key=Value")
        params[key] = value
    return params


def read_param_file(path: Path) -> dict[str, str]:
    """Parameters from a file: the AWS CLI's JSON list ([{"ParameterKey": K, "ParameterValue": V}, ...],
    as `aws cloudformation create-stack --parameters file://F` reads it) or `Key=Value` lines (blank
    lines and lines starting with # are skipped). Raises UserError naming the file and the line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"--param-file {path}: cannot read it: {err.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"--param-file {path}: not UTF-8 text") from None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise UserError(f"--param-file {path}: not valid JSON: {err.msg} at line {err.lineno}") from None
        params: dict[str, str] = {}
        for i, item in enumerate(items, 1):
            if not (isinstance(item, dict) and isinstance(item.get("ParameterKey"), str)
                    and isinstance(item.get("ParameterValue"), (str, int, float))):
                raise UserError(f"--param-file {path}: item {i} must be "
                                '{"ParameterKey": "Name", "ParameterValue": "value"}')
            params[item["ParameterKey"]] = str(item["ParameterValue"])
        return params
    params = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--param-file {path}, line {number}: {line!r} must look like Key=Value")
        params[key.strip()] = value.strip()
    return params


def check_params(params: Mapping[str, str], known: Iterable[str], template: str) -> None:
    """Raise UserError naming every parameter in `params` that the template does not declare."""
    known = sorted(known)
    unknown = sorted(set(params) - set(known))
    if not unknown:
        return
    hints = [f"{name} -> {close[0]}" for name in unknown
             for close in [difflib.get_close_matches(name, known, n=1)] if close]
    hint = f" (did you mean: {', '.join(hints)}?)" if hints else ""
    listing = f"its parameters are: {', '.join(known) or '(none)'}" if len(known) <= 12 else \
        f"it has {len(known)} parameters (see them with `aws cloudformation get-template-summary`)"
    raise UserError(f"{template} has no parameter {', '.join(unknown)}{hint}; {listing}")


_S3_HOST = re.compile(r"^(?:[a-z0-9.-]+\.)?s3[.-](?:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d)\.)?"
                      r"amazonaws\.com(?:\.cn)?$")


def region_of_url(template_url: str) -> str | None:
    """The region of an S3 template URL (https://B.s3.R.amazonaws.com/K, https://s3.R.amazonaws.com/B/K,
    the legacy s3-R form); us-east-1 for the global s3.amazonaws.com; None for anything else."""
    host = urllib.parse.urlsplit(template_url).hostname or ""
    m = _S3_HOST.match(host)
    if not m:
        return None
    return m.group("region") or "us-east-1"


def console_host(region: str) -> str:
    """The CloudFormation console host for `region` (China and GovCloud have their own domains)."""
    if region.startswith("cn-"):
        return "console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "console.amazonaws-us-gov.com"
    return f"{region}.console.aws.amazon.com"


def launch_url(template_url: str, region: str, stack_name: str = DEFAULT_STACK_NAME,
               params: Mapping[str, str] | None = None) -> str:
    """The console quick-create link that opens `template_url` in `region` with `params` filled in."""
    check_stack_name(stack_name)
    query = [("templateURL", template_url), ("stackName", stack_name)]
    query += [(f"param_{key}", value) for key, value in sorted((params or {}).items())]
    fragment = "/stacks/create/review?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="")
    return (f"https://{console_host(region)}/cloudformation/home?"
            f"{urllib.parse.urlencode({'region': region})}#{fragment}")


def markdown_button(url: str, label: str = "Launch Stack") -> str:
    """A Markdown image link using AWS's "Launch Stack" button picture."""
    return f"[![{label}]({BUTTON_IMAGE})]({url})"
