"""The hub's certificate steps (files/bin/kojistack-pki), for real with openssl; checked with
openssl, the `cryptography` parser and Python's `ssl` hostname matching."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .conftest import BIN, pki, run

# An NLB DNS name of 82 characters, the longest CloudFormation generates (review R4):
# <32-character load balancer name>-<16 hex>.elb.<region>.amazonaws.com
LONG_NLB = "kojistack-prod-InternalNlb-1A2B3" + "-0123456789abcdef" + ".elb.ap-southeast-2.amazonaws.com"


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def cn(c: x509.Certificate) -> str:
    return c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


@pytest.fixture(scope="module")
def server(pki_dir: Path) -> tuple[Path, Path]:
    key, crt = pki_dir / "server.key", pki_dir / "server.crt"
    pki("server", pki_dir / "root", key, crt, "koji-hub", LONG_NLB, "koji.example.org", "localhost")
    return key, crt


def test_long_name_fixture_is_82_characters():
    assert len(LONG_NLB) == 82


def test_ca_and_builder_intermediate(pki_dir: Path):
    root, builder = cert(pki_dir / "root" / "ca.crt"), cert(pki_dir / "builder" / "ca.crt")
    assert cn(root) == "kojistack-ca" and root.issuer == root.subject
    assert cn(builder) == "kojistack-builder-ca" and builder.issuer == root.subject
    bc = builder.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0
    # a builder-CA leaf chains only through the intermediate
    pki("client", pki_dir / "builder", pki_dir / "slot.pem", "x86-64-03")
    chain = pki_dir / "chain.pem"
    chain.write_bytes((pki_dir / "root" / "ca.crt").read_bytes() + (pki_dir / "builder" / "ca.crt").read_bytes())
    pki("check", chain, pki_dir / "slot.pem", "x86-64-03")
    assert run(BIN / "kojistack-pki", "check", pki_dir / "root" / "ca.crt", pki_dir / "slot.pem",
               check=False).returncode != 0


def test_server_cert_short_cn_and_every_name_in_san(pki_dir: Path, server):
    _, crt = server
    c = cert(crt)
    assert cn(c) == "koji-hub"
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [LONG_NLB, "koji.example.org", "localhost"]
    pki("check", pki_dir / "root" / "ca.crt", crt, "koji-hub")


def _serve_once(key: Path, crt: Path) -> tuple[int, threading.Thread]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass  # the client refused us: that is what the negative test wants
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


@pytest.mark.parametrize("name, ok", [(LONG_NLB, True), ("koji.example.org", True),
                                      ("other-" + LONG_NLB[6:], False)])
def test_python_ssl_matches_names_through_san(pki_dir: Path, server, name: str, ok: bool):
    key, crt = server
    port, thread = _serve_once(key, crt)
    client = ssl.create_default_context(cafile=str(pki_dir / "root" / "ca.crt"))
    with socket.create_connection(("127.0.0.1", port)) as raw:
        if ok:
            with client.wrap_socket(raw, server_hostname=name) as tls:
                assert tls.recv(2) == b"ok"
        else:
            with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
                client.wrap_socket(raw, server_hostname=name)
    thread.join()


def test_proxydns_is_the_rfc2253_subject(pki_dir: Path):
    pem = pki_dir / "kojiweb.pem"
    pki("client", pki_dir / "root", pem, "kojiweb")
    subject = pki("subject", pem).strip()
    assert subject == cert(pem).subject.rfc4514_string() == "CN=kojiweb,O=kojistack"
    assert not subject.startswith(("subject=", "/"))


def test_client_pem_holds_cert_and_key_and_p12_opens(pki_dir: Path):
    pem = pki_dir / "admin.pem"
    pki("client", pki_dir / "root", pem, "kojiadmin")
    text = pem.read_text()
    assert "BEGIN CERTIFICATE" in text and "PRIVATE KEY" in text
    assert pem.stat().st_mode & 0o077 == 0
    pki("p12", pem, pki_dir / "admin.p12", "s3cret")
    key, c, _ = pkcs12.load_key_and_certificates((pki_dir / "admin.p12").read_bytes(), b"s3cret")
    assert key is not None and cn(c) == "kojiadmin"
    eku = c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in eku


def test_crl_is_signed_by_its_ca(pki_dir: Path):
    out = pki_dir / "crl.pem"
    pki("crl", pki_dir / "root", pki_dir / "ca-db", out)
    crl = x509.load_pem_x509_crl(out.read_bytes())
    root = cert(pki_dir / "root" / "ca.crt")
    assert crl.issuer == root.subject and len(crl) == 0
    assert crl.is_signature_valid(root.public_key())
