"""AWS sessions for the ops commands, following the AWS CLI's conventions, and AWS errors in the user's terms.

`--profile`/AWS_PROFILE and `--region`/AWS_REGION pick the session; AWS_ENDPOINT_URL (honoured by
boto3 itself) points every client at another endpoint, such as a moto server.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import botocore.exceptions
from botocore.config import Config

from ..errors import OperationError, UserError

ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                 "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
                 "ExpiredToken", "ExpiredTokenException"}
NO_CREDENTIALS = ("no AWS credentials found: run `aws configure`, pass --profile, "
                  "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"})


@dataclass(frozen=True)
class Aws:
    """A checked boto3 session: credentials exist and a region is known."""

    session: boto3.Session
    region: str

    def client(self, service: str):
        """A client for `service` in the session's region (AWS_ENDPOINT_URL applies)."""
        return self.session.client(service, region_name=self.region, config=_RETRIES)

    @property
    def endpoint_override(self) -> str | None:
        """The endpoint every client uses instead of AWS's, when AWS_ENDPOINT_URL is set."""
        return os.environ.get("AWS_ENDPOINT_URL") or None


def open_session(profile: str | None, region: str | None) -> Aws:
    """A session like the AWS CLI's; raises UserError when the profile, credentials or region are missing."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise UserError(f"AWS profile {profile!r} is not in ~/.aws/config or ~/.aws/credentials") from None
    if session.get_credentials() is None:
        raise UserError(NO_CREDENTIALS)
    if not session.region_name:
        raise UserError("no AWS region: pass --region or set AWS_REGION")
    return Aws(session, session.region_name)


def error_code(err: botocore.exceptions.ClientError) -> str:
    """The AWS error code of a ClientError ('' when there is none)."""
    return str(err.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Turn AWS failures while `doing` something into one-line OperationErrors naming what failed."""
    try:
        yield
    except botocore.exceptions.NoCredentialsError:
        raise UserError(NO_CREDENTIALS) from None
    except botocore.exceptions.ClientError as err:
        code = error_code(err)
        message = err.response.get("Error", {}).get("Message", "") or str(err)
        if code in ACCESS_DENIED:
            raise OperationError(f"access denied while {doing}: {message}") from None
        raise OperationError(f"AWS refused {doing}: {code}: {message}") from None
    except botocore.exceptions.EndpointConnectionError as err:
        raise OperationError(f"cannot reach AWS while {doing}: {err}") from None
