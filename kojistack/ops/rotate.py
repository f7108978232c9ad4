"""`kojistack rotate-admin-cert`: a new koji admin certificate, minted by the hub.

Adds the rotation step of docs/operations.md ("certificate expiry and rotation"). It reuses the
`kojistack user` mechanism (kojistack.ops.users.run_on_hub: SSM Run Command runs
/opt/kojistack/files/bin/kojistack-user on the hub): `kojistack-user rotate-admin` mints a new
certificate and PKCS#12 for the admin user, writes them to the admin-credentials secret, puts
the old serial on the CRL and reloads httpd. Nothing secret crosses SSM; this side reads the
secret before and after and proves the certificate changed.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from ..errors import OperationError
from .session import Aws, aws_errors

HUB_COMMAND = ("rotate-admin",)  # kojistack-user subcommand (cloud-init/payload/hub/bin/kojistack-user)


@dataclass(frozen=True)
class CertInfo:
    """What identifies one admin certificate."""

    serial: int
    subject: str
    not_after: datetime.datetime

    def line(self) -> str:
        return f"serial {self.serial:x}, {self.subject}, valid until {self.not_after:%Y-%m-%d %H:%M} UTC"


def cert_info(secret_string: str) -> CertInfo | None:
    """The admin certificate in the secret's JSON; None while the secret holds the placeholder."""
    try:
        value = json.loads(secret_string)
    except json.JSONDecodeError:
        raise OperationError("the admin-credentials secret is not JSON: was it edited by hand?") from None
    pem = value.get("cert_pem") if isinstance(value, dict) else None
    if not pem:
        return None
    cert = x509.load_pem_x509_certificate(pem.encode())
    return CertInfo(cert.serial_number, cert.subject.rfc4514_string(), cert.not_valid_after_utc.replace(tzinfo=None))


def read_admin_cert(aws: Aws, secret_arn: str) -> CertInfo | None:
    with aws_errors("reading the admin-credentials secret"):
        value = aws.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    return cert_info(value)


def rotate(aws: Aws, stack: str, secret_arn: str,
           run_on_hub: Callable[[Aws, str, list[str]], str]) -> tuple[CertInfo, CertInfo]:
    """Rotate the admin certificate; return (old, new). Raises OperationError unless it changed."""
    old = read_admin_cert(aws, secret_arn)
    if old is None:
        raise OperationError(f"stack {stack} has no admin certificate yet (the secret holds its placeholder): "
                             "wait until the hub has finished its first boot")
    run_on_hub(aws, stack, list(HUB_COMMAND))
    new = read_admin_cert(aws, secret_arn)
    if new is None or new.serial == old.serial:
        raise OperationError(f"the hub reported success but the admin certificate in {secret_arn} did not "
                             "change: look at the command's output in the SSM console")
    return old, new
