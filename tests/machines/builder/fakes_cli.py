"""Stand-ins for what a builder reaches over the network and cannot here: the `aws` CLI (a
recording fake with an SSM parameter store and EC2 tags on disk) and the instance metadata
service (IMDSv2 on loopback)."""

import http.server
import json
import sys
import threading
from pathlib import Path

AWS = r'''#!PYTHON
import json, os, sys
root = os.environ["FAKE_AWS_DIR"]
argv = sys.argv[1:]
with open(os.path.join(root, "calls.log"), "a") as log:
    log.write(" ".join(argv) + "\n")
opts, rest, i = {}, [], 0
while i < len(argv):
    if argv[i].startswith("--"):
        opts[argv[i][2:]] = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("--") else True
        i += 2 if opts[argv[i][2:]] is not True else 1
    else:
        rest.append(argv[i]); i += 1
service, op = rest[0], rest[1]
params = os.path.join(root, "params")
os.makedirs(params, exist_ok=True)
def pfile(name): return os.path.join(params, name.strip("/").replace("/", "__"))
if os.path.exists(os.path.join(root, "fail-" + op)):
    sys.exit("An error occurred (ValidationError) when calling the " + op + " operation: simulated")
if (service, op) == ("ssm", "get-parameter"):
    if not os.path.exists(pfile(opts["name"])):
        sys.exit("An error occurred (ParameterNotFound) when calling the GetParameter operation")
    print(open(pfile(opts["name"])).read())
elif (service, op) == ("ssm", "put-parameter"):
    value = opts["value"]
    if value.startswith("file://"):
        value = open(value[7:]).read()
    open(pfile(opts["name"]), "w").write(value)
elif (service, op) == ("ec2", "create-tags"):
    key, value = opts["tags"].split(",", 1)
    tags = os.path.join(root, "tags.json")
    data = json.load(open(tags)) if os.path.exists(tags) else {}
    data.setdefault(opts["resources"], {})[key.split("=", 1)[1]] = value.split("=", 1)[1]
    json.dump(data, open(tags, "w"))
'''


def install_fake_aws(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "aws"
    path.write_text(AWS.replace("PYTHON", sys.executable, 1))
    path.chmod(0o755)


class Imds:
    """IMDSv2 on 127.0.0.1: token, instance id, and an optional spot interruption notice."""

    def __init__(self, instance_id: str = "i-0123456789abcdef0"):
        self.instance_id = instance_id
        self.spot_notice = None
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
                self._send(200 if ok else 400, "TOKEN" if ok else "")

            def do_GET(self):
                if self.headers.get("X-aws-ec2-metadata-token") != "TOKEN":
                    return self._send(401, "")
                if self.path == "/latest/meta-data/instance-id":
                    return self._send(200, imds.instance_id)
                if self.path == "/latest/meta-data/spot/instance-action" and imds.spot_notice:
                    return self._send(200, json.dumps(imds.spot_notice))
                return self._send(404, "Not Found")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/latest"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
