"""Uploads the generated templates to S3 under a versioned key and `latest/`, and the S3 URLs they get.

Keys: `<prefix>/<kojistack version>-<sha256 of the templates, 12 hex>/<file>` (never overwritten with
different content) and `<prefix>/latest/<file>` (moves with each upload).
"""

from __future__ import annotations

import hashlib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import botocore.exceptions

from .. import __version__
from ..errors import OperationError, UserError
from .session import NO_CREDENTIALS, Aws, aws_errors, error_code


@dataclass(frozen=True)
class Uploaded:
    """One template as uploaded: its file name and where the versioned and latest copies are."""

    name: str
    size: int
    versioned_url: str
    latest_url: str


def find_templates(templates_dir: Path) -> list[Path]:
    """The generated templates in `templates_dir`, sorted; raises UserError when there are none."""
    files = sorted(templates_dir.glob("*.json"))
    if not files:
        raise UserError(f"no templates in {templates_dir}/: run `kojistack generate` first")
    return files


def version_label(files: list[Path]) -> str:
    """`<kojistack version>-<12 hex>`: the same templates always give the same label."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{__version__}-{digest.hexdigest()[:12]}"


def s3_url(aws: Aws, bucket: str, key: str) -> str:
    """The HTTPS URL of s3://bucket/key: virtual-hosted style on AWS, path style on an endpoint override."""
    quoted = urllib.parse.quote(key)
    if aws.endpoint_override:
        return f"{aws.endpoint_override.rstrip('/')}/{bucket}/{quoted}"
    suffix = "amazonaws.com.cn" if aws.region.startswith("cn-") else "amazonaws.com"
    if "." in bucket:  # a dotted name does not match S3's wildcard certificate: path style
        return f"https://s3.{aws.region}.{suffix}/{bucket}/{quoted}"
    return f"https://{bucket}.s3.{aws.region}.{suffix}/{quoted}"


def check_bucket(aws: Aws, bucket: str) -> None:
    """Raise in the user's terms unless `bucket` exists, is readable and is in the session's region."""
    s3 = aws.client("s3")
    try:
        response = s3.head_bucket(Bucket=bucket)
        headers = response["ResponseMetadata"].get("HTTPHeaders", {})
    except botocore.exceptions.NoCredentialsError:
        raise UserError(NO_CREDENTIALS) from None
    except botocore.exceptions.ClientError as err:
        code = error_code(err)
        headers = err.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if code in ("404", "NoSuchBucket"):
            raise UserError(f"bucket {bucket!r} does not exist: create it with "
                            f"`aws s3 mb s3://{bucket} --region {aws.region}` or pass another --bucket") from None
        if code == "403":
            raise OperationError(f"access denied to bucket {bucket!r}: your credentials need "
                                 "s3:ListBucket and s3:PutObject on it") from None
        if code not in ("301", "400", "PermanentRedirect"):
            raise OperationError(f"cannot use bucket {bucket!r}: {code}: {err}") from None
    bucket_region = headers.get("x-amz-bucket-region") or aws.region
    if bucket_region != aws.region:
        raise UserError(f"bucket {bucket!r} is in {bucket_region}, not {aws.region}: CloudFormation in "
                        f"{aws.region} needs a template bucket in the same region; pass --region "
                        f"{bucket_region} or a bucket in {aws.region}")


def upload_templates(aws: Aws, bucket: str, prefix: str, files: list[Path]) -> list[Uploaded]:
    """Put each template under the versioned key and under `latest/`; return where each went."""
    check_bucket(aws, bucket)
    s3 = aws.client("s3")
    base = prefix.strip("/")
    label = version_label(files)
    done = []
    for path in files:
        body = path.read_bytes()
        keys = [f"{base}/{label}/{path.name}".lstrip("/"), f"{base}/latest/{path.name}".lstrip("/")]
        for key in keys:
            with aws_errors(f"uploading {path.name} to s3://{bucket}/{key}"):
                s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        done.append(Uploaded(path.name, len(body), s3_url(aws, bucket, keys[0]), s3_url(aws, bucket, keys[1])))
    return done


def put_deploy_template(aws: Aws, bucket: str, stack_name: str, body: bytes) -> str:
    """Upload a template too large to send inline (> 51,200 bytes) for `deploy`; returns its URL."""
    check_bucket(aws, bucket)
    key = f"kojistack/deploy/{stack_name}/{hashlib.sha256(body).hexdigest()[:16]}.json"
    with aws_errors(f"uploading the template to s3://{bucket}/{key}"):
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return s3_url(aws, bucket, key)
