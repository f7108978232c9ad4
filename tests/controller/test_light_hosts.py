"""The light hosts end to end (issue 14 item 1): the real controller with the fake hub (real koji
client, HTTPS) and the fake Auto Scaling over moto. Build parents beyond the hub's own kojid get a
light host, registered in channel `light` only; when the parents no longer need it, it is drained
(disabled) without stopping the parent it holds, and terminated with a decrement once empty."""

import pytest
from moto import mock_aws

from fakes.kojihub import CLOSED, FREE, OPEN
from kojistack import names
from kojistack.controller import decide
from kojistack.controller.kojiport import CALLS

from .stack import Rig


@pytest.fixture
def rig(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        r = Rig(str(tmp_path), light_max=3)
        yield r
        r.stop()


def parents(rig: Rig, n: int) -> list[int]:
    return [rig.hub.seed_task("build", channel="light", weight=0.2) for _ in range(n)]


def test_a_light_host_serves_only_the_light_channel_and_leaves_without_stopping_a_parent(rig):
    hub = rig.hub.host_named(names.HUB_HOST)        # capacity 2: the hub's kojid holds 2 parents
    rig.tick()
    assert rig.group("light").desired == 0 and rig.group("light").suspended == ["AZRebalance"]
    tasks = parents(rig, 3)                            # one more than the hub's slots
    state, plan, errors = rig.tick()
    assert not errors and state.light is not None and state.light.slots_per_host == decide.light_host_slots(8192)
    assert (plan.light.active, plan.light.target, plan.light.desired) == (3, 1, 1)
    assert rig.group("light").desired == 1 and rig.group().desired == 0   # no builder for a parent
    state, plan, errors = rig.tick()                   # the light host hands its CSR over and is registered
    (reg,) = plan.light.register
    assert not errors and reg.slot == "light-001"
    h = rig.hub.host_named("light-001")
    assert [rig.hub.channels[c] for c in h.channels] == ["light"]           # addHost's `default` removed
    assert h.enabled and h.arches == "aarch64" and h.capacity == float(decide.light_host_slots(8192))
    light_host = rig.builders[reg.instance_id]
    assert light_host.slot == "light-001"              # its certificate's CN: the builder CA signs light slots
    light_host.duration = 10**6                        # the parents wait for their children
    rig.run_until(lambda: all(rig.hub.task_state(t) == OPEN for t in tasks))
    held = sorted(light_host.running)
    assert held == tasks and h.id == rig.hub.tasks[held[0]].host_id
    for t in held:
        rig.hub.tasks[t].waiting = True                # host.taskSetWait: waiting on their children
    # the hub's kojid gets room for every parent (or parents finish elsewhere): the light host is surplus
    hub.capacity = 10.0
    state, plan, errors = rig.tick()
    assert plan.light.target == 0 and [i.slot for i in plan.light.start_drain] == ["light-001"]
    assert plan.light.disable_hosts == ("light-001",) and not plan.light.terminate
    for _ in range(5):                                 # drained, but its waiting parents are never stopped
        state, plan, errors = rig.tick()
        assert not plan.light.terminate and not plan.light.free_tasks and not errors
    assert not h.enabled and rig.instances("light") == [reg.instance_id]
    assert all(rig.hub.task_state(t) == OPEN for t in tasks)
    for t in held:                                     # the children are done: the parents finish
        rig.hub.tasks[t].waiting = False
        light_host.running[t] = rig.clock.now
    rig.run_until(lambda: not rig.instances("light"))
    assert all(rig.hub.task_state(t) == CLOSED for t in tasks)
    assert rig.group("light").desired == 0             # terminated with a decrement
    published = {m["MetricName"] for m in rig.cw.list_metrics(Namespace="kojistack/ks")["Metrics"]}
    assert set(decide.LIGHT_METRIC_NAMES) <= published
    used = {m for who, m in rig.hub.calls if who == names.USER_CONTROLLER}
    assert "removeHostFromChannel" in used and used <= set(CALLS) - {"sslLogin"}, used - set(CALLS)


def test_a_draining_light_host_is_called_back_before_a_new_one_launches(rig):
    parents(rig, 3)
    rig.run_until(lambda: rig.instances("light", "InService"))
    (iid,) = rig.instances("light")
    rig.builders[iid].duration = 10**6
    rig.run_until(lambda: rig.builders[iid].running)
    rig.hub.host_named(names.HUB_HOST).capacity = 10.0
    rig.tick()
    assert not rig.hub.host_named("light-001").enabled
    rig.hub.host_named(names.HUB_HOST).capacity = 2.0    # demand is back above the hub's slots
    state, plan, errors = rig.tick()
    assert [i.id for i in plan.light.cancel_drain] == [iid] and plan.light.desired is None
    assert rig.hub.host_named("light-001").enabled and rig.instances("light") == [iid]
    assert FREE not in {rig.hub.task_state(t) for t in rig.builders[iid].running}
