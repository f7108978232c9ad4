"""Reading templates for the ops commands: local files, their parameters and size, and uploaded ones."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import botocore.exceptions

from ..errors import OperationError, UserError
from .session import Aws, error_code

INLINE_LIMIT = 51_200  # bytes: larger template bodies must go through S3 (CloudFormation quota)


def load_template(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The bytes and the parsed JSON of a template file; raises UserError naming the file."""
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"template {path} does not exist: run `kojistack generate` or pass --template") from None
    try:
        return body, json.loads(body)
    except json.JSONDecodeError as err:
        raise UserError(f"template {path} is not JSON: {err}") from None


def remote_parameters(aws: Aws, template_url: str) -> list[str]:
    """The parameter names of the template at `template_url`, as CloudFormation reads it."""
    try:
        summary = aws.client("cloudformation").get_template_summary(TemplateURL=template_url)
    except botocore.exceptions.ClientError as err:
        code = error_code(err)
        message = err.response.get("Error", {}).get("Message", "")
        if code == "ValidationError" or code.startswith("NoSuch"):
            raise UserError(f"cannot read the template at {template_url}: {message or code}") from None
        raise OperationError(f"cannot read the template at {template_url}: {code}: {message}") from None
    except Exception as err:  # moto raises plain errors for URLs it cannot map to an object
        raise UserError(f"cannot read the template at {template_url}: {err}") from None
    return [p["ParameterKey"] for p in summary.get("Parameters", [])]


def s3_location(template_url: str, endpoint: str | None = None) -> tuple[str, str, str | None] | None:
    """(bucket, key, versionId) of an S3 object URL: virtual-hosted (https://B.s3.R.amazonaws.com/K),
    path style (https://s3.R.amazonaws.com/B/K, and any URL under an endpoint override); None otherwise."""
    parts = urllib.parse.urlsplit(template_url)
    host, path = parts.hostname or "", urllib.parse.unquote(parts.path).lstrip("/")
    version = urllib.parse.parse_qs(parts.query).get("versionId", [None])[0]
    if endpoint and template_url.startswith(endpoint.rstrip("/") + "/") or host.startswith("s3.") \
            or host.startswith("s3-"):
        bucket, _, key = path.partition("/")
    elif ".s3." in host or ".s3-" in host:
        bucket, key = host.split(".s3", 1)[0], path
    else:
        return None
    return (bucket, key, version) if bucket and key else None


def remote_template(aws: Aws, template_url: str) -> dict[str, Any] | None:
    """The JSON template at an S3 `template_url` (GetObject), to check parameter values against its
    constraints; None when it cannot be read that way (not an S3 URL, not JSON, no s3:GetObject):
    then only CloudFormation checks the values, when the stack is created."""
    where = s3_location(template_url, aws.endpoint_override)
    if where is None:
        return None
    bucket, key, version = where
    try:
        extra = {"VersionId": version} if version else {}
        body = aws.client("s3").get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        template = json.loads(body)
    except (botocore.exceptions.ClientError, ValueError):
        return None
    return template if isinstance(template, dict) else None


def stale_templates(files: list[Path], config: Path) -> list[str]:
    """The names among `files` that differ from what `config` (a kojistack.yaml) generates now: a
    template older than the config beside it. Files the config does not generate are not compared."""
    from ..config import load_config
    from ..template.compose import render_all

    expected = render_all(load_config(config))
    return [f.name for f in files if f.name in expected and f.read_text() != expected[f.name]]


def refuse_stale(files: list[Path], config: Path, doing: str, other_way: str) -> None:
    """Raise UserError when a template in `files` is older than `config` (say what to run instead)."""
    if not config.exists():
        return
    stale = stale_templates(files, config)
    if stale:
        raise UserError(f"{', '.join(stale)} {'is' if len(stale) == 1 else 'are'} older than {config} beside "
                        f"{'it' if len(stale) == 1 else 'them'} (not what it generates now): run `kojistack "
                        f"generate` before {doing}{other_way}")
