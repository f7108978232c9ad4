"""The rendered TLS vhost (files/conf/ssl.conf.in and kojistack-httpd.conf.in) in a real Apache
(Debian's apache2 with mod_ssl), with certificates from kojistack-pki.

koji's hub and kojiweb are not installable here, so a CGI script stands in for them at
/koji/login and /kojihub/ssllogin: it prints what mod_ssl hands to koji (SSL_CLIENT_VERIFY and
SSL_CLIENT_S_DN, the variables kojihub/auth.py and kojiweb read). The vhost, the Locations, the
Require expr and the TLS handshake are the real thing (koji.md §12).
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kojistack import names

from .conftest import HUB_FILES, free_port, pki, run

MODULES = Path("/usr/lib/apache2/modules")
CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n%s|%s\\n' "$SSL_CLIENT_VERIFY" "$SSL_CLIENT_S_DN"
"""


def render(name: str, values: dict[str, str]) -> str:
    env = dict(os.environ, **names.env(), **values, PYTHONPATH=str(HUB_FILES / "python"))  # names.env: the payload's
    out = Path(tempfile.mkstemp()[1])
    run("python3", "-m", "kojistack_hub", "render", HUB_FILES / "conf" / name, out, env=env)
    text = out.read_text()
    out.unlink()
    return text


@pytest.fixture(scope="module")
def httpd(pki_dir: Path) -> Iterator[tuple[int, Path]]:
    base = Path(tempfile.mkdtemp(prefix="kojistack-httpd-"))
    base.chmod(0o755)
    pkidir = base / "pki"
    pkidir.mkdir()
    pki("server", pki_dir / "root", pkidir / "server.key", pkidir / "server.crt", "koji-hub", "localhost")
    (pkidir / "client-ca.pem").write_bytes((pki_dir / "root" / "ca.crt").read_bytes()
                                           + (pki_dir / "builder" / "ca.crt").read_bytes())
    # production: crl.pem is the stack CA's CRL only (kojistack-user crl); one user is revoked
    pki("client", pki_dir / "root", pki_dir / "login-revoked.pem", "mallory")
    db = base / "ca-db"
    db.mkdir()
    (db / "index.txt").write_text("")
    (db / "crlnumber").write_text("1000\n")
    conf = base / "ca.cnf"
    conf.write_text(f"[ca]\ndefault_ca=k\n[k]\ndatabase={db}/index.txt\ncrlnumber={db}/crlnumber\n"
                    f"certificate={pki_dir}/root/ca.crt\nprivate_key={pki_dir}/root/ca.key\n"
                    "default_md=sha256\n")
    run("openssl", "ca", "-config", conf, "-revoke", pki_dir / "login-revoked.pem")
    pki("crl", pki_dir / "root", db, pkidir / "crl.pem")
    cgi = base / "cgi"
    cgi.mkdir(mode=0o755)
    (cgi / "env.cgi").write_text(CGI)
    (cgi / "env.cgi").chmod(0o755)
    port = free_port()
    values = {"KOJISTACK_HTTPS_PORT": str(port), "KOJISTACK_PKI_DIR": str(pkidir),
              "KOJISTACK_DB_CLASS": "db.t4g.small", "KOJISTACK_HTTPD_SERVER_LIMIT": "6",
              "KOJISTACK_HTTPD_THREADS_PER_CHILD": "25", "KOJISTACK_HTTPD_MAX_REQUEST_WORKERS": "150"}
    (base / "ssl.conf").write_text(render("ssl.conf.in", values))
    # /kojifiles as the koji-hub RPM serves it (/etc/httpd/conf.d/kojihub.conf, read before
    # kojistack.conf), over a koji topdir laid out as on EFS: root owns the top, the hub (apache)
    # made the repo's toplink symlink (kojihub.repo_init), the build's package lies under packages/
    top = base / "mnt-koji"
    arch_dir = top / "repos" / "kojistack-build" / "7" / "x86_64"
    (top / "packages" / "hello" / "1.0" / "1" / "noarch").mkdir(parents=True)
    (top / "packages" / "hello" / "1.0" / "1" / "noarch" / "hello-1.0-1.noarch.rpm").write_text("rpm\n")
    arch_dir.mkdir(parents=True)
    os.symlink("../../../..", arch_dir / "toplink")
    os.lchown(arch_dir / "toplink", 33, 33)  # www-data, the test's httpd user
    for d in [top, *top.rglob("*")]:
        if not d.is_symlink():
            d.chmod(0o755 if d.is_dir() else 0o644)
    (base / "kojihub.conf").write_text(
        f'Alias /kojifiles "{top}/"\n<Directory "{top}">\n    Options Indexes SymLinksIfOwnerMatch\n'
        "    AllowOverride None\n    Require all granted\n</Directory>\n")
    (base / "kojistack.conf").write_text(render("kojistack-httpd.conf.in", values).replace("/mnt/koji", str(top)))
    modules = ["mpm_event", "authz_core", "alias", "cgid", "ssl", "socache_shmcb"]
    (base / "httpd.conf").write_text(
        "".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so\n" for m in modules)
        + f"ServerRoot {base}\nServerName localhost\nPidFile {base}/httpd.pid\n"
        f"ErrorLog {base}/error.log\nScriptSock {base}/cgisock\nUser www-data\nGroup www-data\n"
        f"ScriptAlias /koji/login {cgi}/env.cgi\nScriptAlias /kojihub/ssllogin {cgi}/env.cgi\n"
        f"<Directory {cgi}>\n    Require all granted\n</Directory>\n"
        f"Include {base}/kojihub.conf\nInclude {base}/kojistack.conf\nInclude {base}/ssl.conf\n")
    run("apache2", "-t", "-f", base / "httpd.conf")
    proc = subprocess.Popen(["apache2", "-f", str(base / "httpd.conf"), "-DFOREGROUND"])
    try:
        for _ in range(100):  # wait until it listens (a readiness wait, not a timing assertion)
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port, pki_dir
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def get(port: int, pki_dir: Path, path: str, client_pem: Path | None) -> tuple[int, str]:
    """GET over TLS 1.3 like a browser: no post-handshake authentication."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki_dir / "root" / "ca.crt")
    ctx.post_handshake_auth = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if client_pem:
        ctx.load_cert_chain(client_pem)
    conn = http.client.HTTPSConnection("localhost", port, context=ctx)
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, resp.read().decode()


@pytest.fixture(scope="module")
def certs(pki_dir: Path) -> dict[str, Path]:
    out = {}
    for name, ca, cn in (("admin", "root", "kojiadmin"), ("kojiweb", "root", "kojiweb"),
                         ("slot", "builder", "x86-64-03"), ("forged", "builder", "kojiadmin"),
                         ("slot1000", "builder", "aarch64-1000"), ("slot5digits", "builder", "x86-64-10000"),
                         ("light", "builder", "light-001"), ("light2digits", "builder", "light-01")):
        out[name] = pki_dir / f"login-{name}.pem"
        pki("client", pki_dir / ca, out[name], cn)
    return out


def test_browser_like_client_logs_in_to_kojiweb_without_post_handshake_auth(httpd, certs):
    status, body = get(*httpd, "/koji/login", certs["admin"])
    assert status == 200
    assert body.strip() == "SUCCESS|CN=kojiadmin,O=kojistack"


def test_hub_sees_the_kojiweb_dn_exactly_as_proxydns(httpd, certs):
    _, body = get(*httpd, "/kojihub/ssllogin", certs["kojiweb"])
    assert body.strip().split("|")[1] == pki("subject", certs["kojiweb"]).strip()


def test_anonymous_clients_still_get_through(httpd):
    status, body = get(*httpd, "/koji/login", None)
    assert status == 200 and body.strip() == "NONE|"


def test_builder_ca_logs_in_only_as_a_slot(httpd, certs):
    assert get(*httpd, "/kojihub/ssllogin", certs["slot"]) == (200, "SUCCESS|CN=x86-64-03,O=kojistack\n")
    assert get(*httpd, "/kojihub/ssllogin", certs["forged"])[0] == 403
    assert get(*httpd, "/kojihub/ssllogin", certs["admin"])[0] == 200


def test_the_thousandth_slot_logs_in(httpd, certs):
    """1,000 builders per arch (issue 14 item 3): slot names run to four digits, no further."""
    assert get(*httpd, "/kojihub/ssllogin", certs["slot1000"]) == (200, "SUCCESS|CN=aarch64-1000,O=kojistack\n")
    assert get(*httpd, "/kojihub/ssllogin", certs["slot5digits"])[0] == 403


def test_a_light_host_logs_in_as_its_slot(httpd, certs):
    """Light hosts (issue 14 item 1) get builder-CA certificates named light-NNN (names.LIGHT_SLOT_RE)."""
    assert get(*httpd, "/kojihub/ssllogin", certs["light"]) == (200, "SUCCESS|CN=light-001,O=kojistack\n")
    assert get(*httpd, "/kojihub/ssllogin", certs["light2digits"])[0] == 403


def test_a_revoked_certificate_is_refused(httpd, pki_dir: Path):
    with pytest.raises((ssl.SSLError, ConnectionError)):
        get(*httpd, "/koji/login", pki_dir / "login-revoked.pem")


def test_a_builder_ca_certificate_gets_no_kojiweb_session(httpd, certs):
    """kojiweb turns the certificate's CN into a session through ProxyDNs, so the builder-CA guard
    must cover /koji/login too: a builder-CA certificate named kojiadmin is refused there."""
    assert get(*httpd, "/koji/login", certs["forged"])[0] == 403
    assert get(*httpd, "/koji/login", certs["slot"])[0] == 403  # builders never need kojiweb
    assert get(*httpd, "/koji/login", certs["admin"])[0] == 200


def test_repo_toplinks_are_served(httpd):
    """Builders fetch a tag's packages through the repo's toplink symlink (topurl): httpd must
    follow it although the hub, not root, made it."""
    status, body = get(*httpd, "/kojifiles/repos/kojistack-build/7/x86_64/toplink/packages/hello/1.0/1/"
                       "noarch/hello-1.0-1.noarch.rpm", None)
    assert (status, body) == (200, "rpm\n")
