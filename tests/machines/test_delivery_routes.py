"""The two routes to a machine are visible in the tree (issue 13 item 3; cloud-init/README.md):
cloud-init/user-data/ is exactly what the user data includes, cloud-init/payload/ exactly what
the payloads carry, and nothing else sits in cloud-init/."""

from __future__ import annotations

import gzip
import io
import tarfile

import jinja2
from jinja2 import meta

from kojistack import names
from kojistack.template.builders import BUILDER_USER_DATA
from kojistack.template.hub import HUB_USER_DATA
from kojistack.template.payload import builder_payload, hub_payload
from support.paths import REPO

CLOUD_INIT = REPO / "cloud-init"


def files(root) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_cloud_init_holds_the_two_routes_and_their_readme():
    assert {p.name for p in CLOUD_INIT.iterdir()} == {"README.md", "user-data", "payload"}
    readme = (CLOUD_INIT / "README.md").read_text()
    assert "user-data/" in readme and "payload/" in readme


def test_user_data_folder_is_what_the_user_data_includes():
    root = CLOUD_INIT / "user-data"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(root)))
    seen: set[str] = set()
    todo = [HUB_USER_DATA, BUILDER_USER_DATA]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = env.loader.get_source(env, name)[0]
        if name.endswith(".j2"):
            todo += [t for t in meta.find_referenced_templates(env.parse(source)) if t]
    # included by its declared name (common/boot-files.yaml.j2: "common/" ~ units.UNIT_BOOTSTRAP)
    seen.add("common/" + names.UNIT_BOOTSTRAP)
    assert seen == files(root)


def test_payload_folder_is_what_the_payloads_carry():
    def members(payload) -> set[str]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(payload.tgz))) as tar:
            return {m.name for m in tar.getmembers() if m.isfile()}
    hub, builder = members(hub_payload()), members(builder_payload())
    root = CLOUD_INIT / "payload"
    assert {f"files/{f}" for f in files(root / "hub")} <= hub
    assert {f"files/{f}" for f in files(root / "builder")} <= builder
    assert {f"common/{f}" for f in files(root / "common")} <= hub & builder
    assert {p.name for p in root.iterdir()} == {"hub", "builder", "common"}


def test_the_controller_unit_sits_beside_its_drop_in():
    systemd = CLOUD_INIT / "payload" / "hub" / "systemd"
    assert (systemd / names.UNIT_CONTROLLER).is_file()
    assert (systemd / f"{names.UNIT_CONTROLLER}.d" / "kojistack.conf").is_file()
