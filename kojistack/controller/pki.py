"""Builder certificates: the CSR's key hash and signing with the builder CA, through the openssl CLI.

The hub has no `cryptography`; openssl (3.x on EL9 and Fedora) is always there. The CA key never
leaves its file; the CSR's subject is ignored and replaced by the slot name, which must match the
slot pattern httpd enforces for the builder CA (`decide.check_cn`).
"""

import hashlib
import os
import secrets
import subprocess
import tempfile

from .decide import check_cn

_EXTENSIONS = (
    "basicConstraints=critical,CA:FALSE\n"
    "keyUsage=critical,digitalSignature,keyEncipherment\n"
    "extendedKeyUsage=clientAuth\n"
    "subjectKeyIdentifier=hash\n"
    "authorityKeyIdentifier=keyid\n"
)


class CsrError(ValueError):
    """A CSR that openssl cannot read or whose self-signature is wrong."""


def _openssl(args, data: bytes = b"") -> bytes:
    proc = subprocess.run(["openssl"] + list(args), input=data, capture_output=True,
                          check=False)
    if proc.returncode != 0:
        raise CsrError(f"openssl {args[0]} failed: {proc.stderr.decode(errors='replace').strip()[:300]}")
    return proc.stdout


def csr_key_sha256(csr_pem: str) -> str:
    """SHA-256 (hex) of the DER SubjectPublicKeyInfo of a CSR whose self-signature verifies.

    The builder tags its instance with the same hash of its key (`openssl pkey -pubout -outform DER`).
    """
    pub = _openssl(["req", "-noout", "-verify", "-pubkey"], csr_pem.encode())
    der = _openssl(["pkey", "-pubin", "-outform", "DER"], pub)
    return hashlib.sha256(der).hexdigest()


def sign_builder_csr(csr_pem: str, cn: str, arch: str, ca_cert: str, ca_key: str, days: int = 825) -> str:
    """A client certificate for slot `cn`, issued by the builder CA, followed by the CA certificate."""
    check_cn(cn, arch)
    with tempfile.TemporaryDirectory(prefix="kojistack-sign-") as tmp:
        csr = os.path.join(tmp, "req.csr")
        ext = os.path.join(tmp, "ext.cnf")
        with open(csr, "w") as f:
            f.write(csr_pem)
        with open(ext, "w") as f:
            f.write(_EXTENSIONS)
        cert = _openssl(["x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
                         "-set_serial", "0x" + secrets.token_hex(16), "-days", str(days),
                         "-subj", f"/CN={cn}", "-extfile", ext, "-sha256"])
    with open(ca_cert) as f:
        chain = f.read()
    return cert.decode() + chain
