"""A throwaway stack PKI made with the openssl CLI, shaped like the hub's /etc/kojistack/pki.

Root `kojistack-ca`, builder intermediate `kojistack-builder-ca` (pathlen 0), server `koji-hub`
for 127.0.0.1, and client certificates (cert + key in one PEM, as koji's `cert` option wants).
"""

import os
import subprocess
from dataclasses import dataclass


def _run(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _ext(path: str, text: str) -> str:
    with open(path, "w") as f:
        f.write(text)
    return path


@dataclass(frozen=True)
class TestPki:
    """Paths of the generated files."""

    __test__ = False  # not a pytest class
    dir: str

    @property
    def ca_pem(self) -> str:
        return os.path.join(self.dir, "ca.pem")

    @property
    def server_pem(self) -> str:
        return os.path.join(self.dir, "server.pem")

    @property
    def builder_ca_crt(self) -> str:
        return os.path.join(self.dir, "builder-ca.crt")

    @property
    def builder_ca_key(self) -> str:
        return os.path.join(self.dir, "builder-ca.key")

    def client(self, cn: str) -> str:
        """A root-issued client cert+key PEM for user `cn` (made on first use)."""
        pem = os.path.join(self.dir, f"{cn}.pem")
        if not os.path.exists(pem):
            _leaf(self.dir, cn, "ca.pem", "ca.key", "extendedKeyUsage=clientAuth\n", pem)
        return pem

    @classmethod
    def create(cls, directory: str) -> "TestPki":
        """Make the root, the builder intermediate and the server certificate in `directory`."""
        d = directory
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        _run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=kojistack-ca", "-days", "30",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
        _run("req", "-new", *ec, "-keyout", "builder-ca.key", "-out", "builder-ca.csr", "-subj",
             "/CN=kojistack-builder-ca", cwd=d)
        ext = _ext(os.path.join(d, "bca.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\n"
                                                "keyUsage=critical,keyCertSign,cRLSign\n")
        _run("x509", "-req", "-in", "builder-ca.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2",
             "-days", "30", "-extfile", ext, "-out", "builder-ca.crt", cwd=d)
        _leaf(d, "koji-hub", "ca.pem", "ca.key",
              "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
              os.path.join(d, "server.pem"))
        return cls(d)


def _leaf(d: str, cn: str, ca: str, ca_key: str, ext_text: str, out_pem: str) -> None:
    key, csr, crt = (os.path.join(d, f"{cn}.{x}") for x in ("key", "csr", "crt"))
    _run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
         "-out", csr, "-subj", f"/CN={cn}", cwd=d)
    ext = _ext(os.path.join(d, f"{cn}.ext"), ext_text)
    _run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial", str(abs(hash(cn)) % 10**9 + 10),
         "-days", "30", "-extfile", ext, "-out", crt, cwd=d)
    with open(out_pem, "w") as f:
        f.write(open(crt).read() + open(key).read())
