"""A hub reboot, an httpd restart or a bootstrap re-run must not cost the hub (issue 11 item 3).

The bootstrap runs on every boot before httpd (and a re-run restarts httpd, which requires it), so
httpd is down for minutes; the NLB target groups call the hub unhealthy after 3 × 10 s. With ELB
health checks on the hub group Auto Scaling would then replace the only hub, since the grace
period covers only newly launched instances. The hub group uses EC2 status checks; the NLB
health checks keep routing (and the hub-health alarm) to themselves. Rules: tests/fakes/health.py.
"""

import pytest

from fakes.health import Outage, replaced
from kojistack import ids

DAY = 86400


@pytest.fixture
def hub(default):
    r = default["Resources"]
    return r[ids.HUB_GROUP], [r[ids.PUBLIC_TARGET_GROUP], r[ids.INTERNAL_TARGET_GROUP]]


@pytest.mark.parametrize("outage", [
    Outage.reboot(at=2 * DAY, service_down_seconds=15 * 60),  # reboot: bootstrap, then httpd
    Outage(at=DAY, target_down_seconds=20 * 60),  # `systemctl restart kojistack-bootstrap`
    Outage(at=DAY, target_down_seconds=5),  # `systemctl restart httpd`
], ids=["reboot", "bootstrap-rerun", "httpd-restart"])
def test_the_hub_survives_its_own_maintenance(hub, outage):
    group, target_groups = hub
    assert not replaced(group, target_groups, outage)


def test_a_hub_that_is_gone_is_still_replaced(hub):
    group, target_groups = hub
    assert replaced(group, target_groups, Outage(at=DAY, instance_state="stopped"))
    assert replaced(group, target_groups, Outage(at=DAY, status_checks="impaired"))
    assert group["Properties"]["HealthCheckType"] == "EC2"
