"""Stand-ins for what a builder reaches over the network and cannot here: the `aws` CLI (the
shared recording fake, tests/fakes/aws_cli.py) and the instance metadata service (IMDSv2 on
loopback)."""

import http.server
import json
import threading
from pathlib import Path

from fakes import aws_cli


def install_fake_aws(bin_dir: Path) -> None:
    """The shared fake `aws` (tests/fakes/aws_cli.py) on PATH."""
    aws_cli.install(bin_dir)


class Imds:
    """IMDSv2 on 127.0.0.1: token, instance id, and an optional spot interruption notice."""

    def __init__(self, instance_id: str = "i-0123456789abcdef0"):
        self.instance_id = instance_id
        self.spot_notice = None
        self.tokens = 0  # tokens handed out
        self.spot_polls = 0  # reads of spot/instance-action
        imds = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: str) -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                imds.tokens += bool(ok)
                self._send(200 if ok else 400, "TOKEN" if ok else "")

            def do_GET(self):
                if self.headers.get("X-aws-ec2-metadata-token") != "TOKEN":
                    return self._send(401, "")
                if self.path == "/latest/meta-data/instance-id":
                    return self._send(200, imds.instance_id)
                if self.path == "/latest/meta-data/spot/instance-action":
                    imds.spot_polls += 1
                    if imds.spot_notice:
                        return self._send(200, json.dumps(imds.spot_notice))
                return self._send(404, "Not Found")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/latest"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
