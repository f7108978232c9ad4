"""A fake builder: the registration half of cloud-init/payload/builder and a minimal kojid, in-process.

It makes its own key and CSR with openssl, tags its own (moto) instance with the key's SHA-256,
writes the CSR to SSM, waits for its certificate, then logs in to the fake hub with the real koji
client (exclusive session, like kojid) and runs tasks for `duration` seconds of the test clock.
Stands in for a real EC2 builder, which cannot run here.
"""

import hashlib
import os
import subprocess
import xmlrpc.client
from collections.abc import Callable
from typing import Any

import koji

from kojistack import names


class FakeBuilder:
    def __init__(self, instance_id: str, ec2: Any, ssm: Any, prefix: str, hub_url: str, ca_pem: str, workdir: str,
                 clock: Callable[[], float], duration: float = 300.0):
        self.id, self.ec2, self.ssm, self.prefix = instance_id, ec2, ssm, prefix
        self.hub_url, self.ca_pem, self.clock, self.duration = hub_url, ca_pem, clock, duration
        self.dir = os.path.join(workdir, instance_id)
        os.makedirs(self.dir, exist_ok=True)
        self.key = os.path.join(self.dir, "client.key")
        self.session: koji.ClientSession | None = None
        self.slot: str | None = None
        self.running: dict[int, float] = {}  # task id -> end time

    def key_sha256(self) -> str:
        der = subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-outform", "DER"], check=True,
                             stdout=subprocess.PIPE).stdout
        return hashlib.sha256(der).hexdigest()

    def make_csr(self) -> str:
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", self.key, "-out", self.key + ".csr", "-subj", f"/CN={self.id}"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(self.key + ".csr") as f:
            return f.read()

    def hand_over(self) -> None:
        """Key + CSR; tag the own instance with the key hash; CSR to SSM (as the real bootstrap does)."""
        csr = self.make_csr()
        self.ec2.create_tags(Resources=[self.id], Tags=[{"Key": names.TAG_CSR_SHA256, "Value": self.key_sha256()}])
        self.ssm.put_parameter(Name=f"{self.prefix}/csr/{self.id}", Value=csr, Type="String", Overwrite=True)

    def try_start(self) -> bool:
        """If the certificate is there: log in as the slot and check in (kojid start)."""
        if self.session is not None:
            return True
        pem = os.path.join(self.dir, "client.pem")
        if os.path.exists(pem):  # kept, as kojistack-bootstrap's has_cert: SSM is read once
            with open(pem) as f:
                cert = f.read()
        else:
            try:
                cert = self.ssm.get_parameter(Name=f"{self.prefix}/cert/{self.id}")["Parameter"]["Value"]
            except self.ssm.exceptions.ParameterNotFound:
                return False
            with open(pem, "w") as f:
                f.write(cert + open(self.key).read())
        self.slot = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "multiline"],
                                   input=cert.encode(), stdout=subprocess.PIPE, check=True
                                   ).stdout.decode().split("=")[-1].strip()
        s = koji.ClientSession(self.hub_url, {"serverca": self.ca_pem})
        s.ssl_login(cert=pem, serverca=self.ca_pem)
        s.exclusiveSession(force=True)
        s.host.updateHost(0.0, True)
        self.session = s
        return True

    def step(self) -> None:
        """One kojid poll: finish due tasks, check in, take assigned tasks."""
        s = self.session
        if s is None:
            return
        now = self.clock()
        for tid, end in sorted(self.running.items()):
            if end <= now:
                s.host.closeTask(tid, xmlrpc.client.dumps(("done",), methodresponse=True, allow_none=True))
                del self.running[tid]
        s.host.updateHost(float(len(self.running)), True)
        for t in s.host.getTasks():
            if s.host.openTask(t["id"]) is not None:
                self.running[t["id"]] = now + self.duration

    def stop(self) -> None:
        """`systemctl stop kojid`: free own tasks, not ready, log out."""
        if self.session is None:
            return
        if self.running:
            self.session.host.freeTasks(sorted(self.running))
        self.session.host.updateHost(0.0, False)
        self.session.logout()
        self.session, self.running = None, {}
