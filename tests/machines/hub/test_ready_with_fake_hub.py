"""kojistack-ready's host registration and kojistack-smoke's host check, run by bash with the real
`koji` CLI against tests/fakes/kojihub.py (a real hub needs httpd, mod_wsgi and koji's RPMs,
which cannot run here; the fake keeps koji 1.35.3's recorded semantics)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.kojihub import FakeHub
from fakes.pki import TestPki
from kojistack import names

from .conftest import CLOUD_INIT, HUB_FILES, REPO, run

KOJI = REPO / ".venv" / "bin" / "koji"


@pytest.fixture
def hub() -> Iterator[tuple[FakeHub, Path]]:
    d = tempfile.mkdtemp(prefix="kojistack-fakehub-")
    pki = TestPki.create(d)
    hub = FakeHub.start(pki)
    hub.seed_user("kojiadmin", ("admin",))
    conf = Path(d) / "koji.conf"
    conf.write_text(f"[koji]\nserver = {hub.url}\ncert = {pki.client('kojiadmin')}\nserverca = {pki.ca_pem}\n")
    yield hub, conf
    hub.stop()


def bash(conf: Path, script: str, **shared: str) -> str:
    """Source the ready and smoke scripts (functions only); koji_local and koji_admin reach the fake.
    The shared names are the payload's names.env (kojistack/names.py), `shared` overriding them."""
    env = {**names.env(), **{f"KOJISTACK_{k}": v for k, v in shared.items()},
           "PATH": f"{KOJI.parent}:{os.environ['PATH']}", "KOJISTACK_READY_LIB": "1",
           "KOJISTACK_SMOKE_LIB": "1", "KOJISTACK_FILES": str(HUB_FILES),
           "KOJISTACK_FETCH_PAYLOAD": str(CLOUD_INIT / "user-data" / "common" / "fetch-payload.sh")}
    prelude = (f"set -euo pipefail; . {HUB_FILES}/bin/kojistack-ready; . {HUB_FILES}/bin/kojistack-smoke; "
               f'koji_local() {{ koji --config {conf} "$@"; }}; koji_admin() {{ koji --config {conf} "$@"; }}; ')
    return run("bash", "-c", prelude + script, env=env).stdout


def test_hub_host_serves_only_createrepo_and_light(hub):
    fake, conf = hub
    assert bash(conf, "hub_host; host_state").strip() == "False createrepo,light"
    host = fake.host_named(names.HUB_HOST)
    assert host is not None
    # a second boot changes nothing
    assert bash(conf, "hub_host; host_state").strip() == "False createrepo,light"


def test_an_existing_host_in_default_leaves_it(hub):
    fake, conf = hub
    fake.seed_host(names.HUB_HOST, channels=(names.CHANNEL_DEFAULT, names.CHANNEL_CREATEREPO))
    assert bash(conf, "hub_host; channel_names").strip() == "createrepo light"


def test_the_hub_host_takes_its_channels_from_names_env(hub):
    """Renamed in names.env, the light channel is the one kojistack-ready creates and kojistack-smoke
    expects (the channel names are read, never spelled in the scripts; tests/template/test_shared_names.py)."""
    _, conf = hub
    renamed = {"CHANNEL_LIGHT": "ks-renamed-light"}
    assert bash(conf, "hub_host; channel_names", **renamed).strip() == "createrepo ks-renamed-light"
    assert bash(conf, "want_state", **renamed).strip() == "True createrepo,ks-renamed-light"
    assert bash(conf, "want_state").strip() == "True createrepo,light"
