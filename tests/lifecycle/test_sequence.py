"""The stack's life, step by step, on the generated templates (issue 11, "Make the doubles true").

Each test walks one step of the sequence on tests/lifecycle/rig.py: the CloudFormation double runs
the template; the machines run the project's own report script and controller. Where a step
depends on a fix another part of issue 11 owns and that fix has not landed, the test is marked
xfail(strict=True) with the item it waits for: the assertion is the documented-correct behaviour.
"""

from __future__ import annotations

import json

import pytest
from moto import mock_aws

from fakes import vpc
from fakes.kojihub import OPEN
from kojistack import ids
from kojistack.config import ArchConfig, Config
from kojistack.template.compose import build_template

from .rig import World

X86 = ids.builder_group("x86_64")
CONFIG = Config(builders=(ArchConfig("x86_64", ("c6i.xlarge",)),))
PARAMS = {"AccessCidr": "203.0.113.0/24"}


def template(variant: str = "new", cfg: Config = CONFIG) -> dict:
    return json.loads(json.dumps(build_template(cfg, variant).to_dict()))


@pytest.fixture(params=["new", "existing"])
def variant(request):
    return request.param


@pytest.fixture
def make(tmp_path, monkeypatch):
    """make(variant, **parameters) -> a World with the generated template, not yet created."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    worlds = []
    with mock_aws():
        def factory(variant: str = "new", cfg: Config = CONFIG, **params: str) -> World:
            p = dict(PARAMS, **params)
            if variant == "existing":
                p.update(VpcId="vpc-0abc", PublicSubnetIds="subnet-p1,subnet-p2",
                         PrivateSubnetIds="subnet-q1,subnet-q2")
            worlds.append(World(tmp_path / str(len(worlds)), template(variant, cfg), p))
            return worlds[-1]
        yield factory
        for w in worlds:
            w.stop()


@pytest.fixture
def world(make, variant):
    return make(variant)


def create(w: World) -> None:
    w.stack.create()
    assert w.run(("CREATE_COMPLETE", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")) == "CREATE_COMPLETE", _why(w)


def _why(w: World) -> str:
    return "; ".join(f"{e.lid} {e.status} {e.reason}" for e in w.stack.events if "FAILED" in e.status)


def started(w: World, lid: str) -> float:
    return next(e.time for e in w.stack.events if e.lid == lid and e.status.endswith("_IN_PROGRESS"))


def completed(w: World, lid: str) -> float:
    return next(e.time for e in w.stack.events if e.lid == lid and e.status == "CREATE_COMPLETE")


def index(w: World, lid: str, status: str) -> int:
    return next(i for i, e in enumerate(w.stack.events) if e.lid == lid and e.status == status)


def busy_builders(w: World, n: int = 4) -> list:
    tasks = w.tasks(n)
    for _ in range(40):
        w.tick()
        if all(w.hub.task_state(t) == OPEN for t in tasks):
            return tasks
    raise AssertionError("the builders never took the tasks")


# --- 1. create ---------------------------------------------------------------------------------

def test_create_waits_for_the_hub_and_orders_the_network(world):
    """Item 5: the public NLB after the gateway attachment; the hub group after every route
    association, security-group rule and listener; CREATE_COMPLETE only on the hub's signal."""
    create(world)
    s = world.stack
    needs = [lid for lid, d in s.defs.items()
             if d["Type"] in ("AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::SecurityGroupIngress",
                              "AWS::ElasticLoadBalancingV2::Listener", "AWS::EC2::Route", "AWS::EC2::VPCEndpoint",
                              "AWS::EC2::VPCGatewayAttachment", "AWS::EFS::MountTarget")]
    assert needs
    unordered = [lid for lid in needs if not s.before(lid, ids.HUB_GROUP)]
    assert not unordered, f"nothing makes the hub group wait for {unordered}"
    for lid in needs:  # and the double kept to the order
        assert index(world, lid, "CREATE_COMPLETE") < index(world, ids.HUB_GROUP, "CREATE_IN_PROGRESS")
    if ids.GATEWAY_ATTACHMENT in s.defs:
        assert s.before(ids.GATEWAY_ATTACHMENT, ids.PUBLIC_NLB), "the public NLB may start before the gateway"
    hub_start = index(world, ids.HUB_GROUP, "CREATE_IN_PROGRESS")
    hub_done = index(world, ids.HUB_GROUP, "CREATE_COMPLETE")
    (signal,) = [c for c in world.bridge.calls if c[:2] == ["cloudformation", "signal-resource"]]
    assert "--status" in signal and signal[signal.index("--status") + 1] == "SUCCESS"
    assert world.stack.events[hub_done].time - world.stack.events[hub_start].time >= 900  # waited for the boot


# --- 8. a console delete with builders running ------------------------------------------------

def test_console_delete_with_builders_running_drains_and_completes(make, variant):
    """Item 4: CloudFormation deletes in reverse dependency order, in parallel; while a builder
    group drains, everything the controller and the builders use is still there. (One builder,
    launched during creation: a builder launched later is item 1's step.)"""
    world = make(variant, BuilderX8664MinSize="1")
    create(world)
    tasks = busy_builders(world)
    builders = world.live(X86)
    assert builders and all(world.group(X86).instances[i].protected for i in builders)
    watch = []

    def tick():
        if world.stack.resources[X86].status == "DELETE_IN_PROGRESS":
            watch.append((world.controller_works(), world.builders_reach_hub()))
        world.tick(60)

    world.stack.delete()
    status = world.stack.run(tick, ("DELETE_COMPLETE", "DELETE_FAILED"), max_passes=400)
    assert status == "DELETE_COMPLETE", _why(world)
    assert watch and all(c and b for c, b in watch), "the drain path was cut while the builders drained"
    assert all(world.hub.task_state(t) != OPEN for t in tasks)  # the running builds finished
    kept = {lid for lid, r in world.stack.retained.items()}
    assert ids.STACK_KEY in kept and ids.CA_SECRET in kept
    assert world.stack.snapshots == [ids.DATABASE]
