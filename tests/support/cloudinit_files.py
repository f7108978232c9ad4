"""What cloud-init writes for a user data's write_files: {path: text}, decoded by cloud-init's own
cc_write_files (canonicalize_extraction + extract_contents, e.g. for `encoding: gz+b64`), run in
the system Python that the cloud-init package (apt, as in .ci/run) installs into."""

from __future__ import annotations

import json
import subprocess

import yaml

_DECODE = """
import json, sys
from cloudinit.config.cc_write_files import canonicalize_extraction, extract_contents
out = {}
for f in json.load(sys.stdin):
    data = extract_contents(f.get("content", ""), canonicalize_extraction(f.get("encoding")))
    out[f["path"]] = data.decode() if isinstance(data, bytes) else data
json.dump(out, sys.stdout)
"""


def written_files(user_data: str) -> dict[str, str]:
    """{path: content as cloud-init writes it} of the user data's write_files."""
    entries = yaml.safe_load(user_data)["write_files"]
    proc = subprocess.run(["/usr/bin/python3", "-c", _DECODE], input=json.dumps(entries), capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout)
