"""Real certificates for the tests (cryptography): a stack CA, a client cert and its PKCS#12."""

from __future__ import annotations

import base64
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def credentials(user: str = "kojiadmin", password: str = "pw-123") -> dict[str, str]:
    """The credentials-secret JSON the hub writes: {username, cert_pem, key_pem, p12_b64, p12_password, ca_pem}."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("kojistack-ca")).issuer_name(_name("kojistack-ca"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(_START)
          .not_valid_after(_START + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(user)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(_START)
            .not_valid_after(_START + dt.timedelta(days=825)).sign(ca_key, hashes.SHA256()))
    p12 = pkcs12.serialize_key_and_certificates(user.encode(), key, cert, [ca],
                                                serialization.BestAvailableEncryption(password.encode()))
    return {
        "username": user,
        "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "key_pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode(),
        "p12_b64": base64.b64encode(p12).decode(),
        "p12_password": password,
        "ca_pem": ca.public_bytes(serialization.Encoding.PEM).decode(),
    }
