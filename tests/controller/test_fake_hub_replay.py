"""The fake koji hub against the real one: replay 416 recorded koji 1.35.3 calls and compare.

Results are compared structurally (ids and timestamps through placeholders, unordered lists as
sets), faults by code and class (and string, where the recording's normalisation allows).
"""

import collections

import pytest

from fakes.kojihub import FakeHub
from fakes.replay import Clock, Replayer, load, seed
from kojistack.controller.kojiport import CALLS

#: records the fake cannot match, each with the reason
KNOWN = {
    ("anon-queries", "51-listTasks-asList"): "asList rows hold raw time strings the recording did not normalise",
}


@pytest.fixture(scope="module")
def outcomes():
    records = load()
    clock = Clock()
    hub = FakeHub(clock)
    replayer = Replayer(hub, clock)
    seed(hub, records, replayer)
    return [replayer.play(r) for r in records]


def test_all_416_records_replay(outcomes):
    assert len(outcomes) == 416
    bad = [(o.record["scenario"], o.record["step"], o.why) for o in outcomes
           if not o.ok and (o.record["scenario"], o.record["step"]) not in KNOWN]
    assert not bad, "\n".join(map(str, bad))
    assert sum(o.ok for o in outcomes) == 416 - len(KNOWN)


def test_every_controller_call_is_covered_by_the_replay(outcomes):
    seen = collections.Counter(o.record["method"] for o in outcomes if o.ok)
    missing = [m for m in CALLS if not seen[m]]
    assert not missing, f"controller calls with no matching recorded call: {missing}"


def test_fault_classes_match(outcomes):
    faults = [o for o in outcomes if "fault" in o.record]
    assert len(faults) > 60
    assert all(o.ok for o in faults)
    classes = {o.record["fault"]["class"] for o in faults}
    assert classes == {"Fault", "GenericError", "AuthError", "ActionNotAllowed", "BuildError", "AuthLockError",
                       "ParameterError"}


@pytest.mark.parametrize("behaviour,scenario,step", [
    ("freeTask on FREE -> No such task", "task-lifecycle", "79-freeTask-FREE"),
    ("listHosts ignores queryOpts", "anon-queries", "25-listHosts-countOnly"),
    ("disabled host keeps OPEN tasks after the silence", "disabled-host", "42-getTaskInfo-after-930s-silence"),
    ("exclusive session locks out the user's other sessions", "early-login-trap", "19-echo-while-locked"),
    ("addHost(force) converts the early-login user", "early-login-trap", "16-old-session-host.getID"),
    ("host perm is not admin", "task-lifecycle", "54-freeTask-ASSIGNED-hostperm"),
])
def test_named_behaviours(outcomes, behaviour, scenario, step):
    (o,) = [o for o in outcomes if (o.record["scenario"], o.record["step"]) == (scenario, step)]
    assert o.ok, f"{behaviour}: {o.why}"
