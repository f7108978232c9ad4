"""When Amazon EC2 Auto Scaling marks an InService instance unhealthy (and so replaces it), from
an Auto Scaling group's and its target groups' template properties. Each rule as AWS documents it:

1. Grace period: Auto Scaling does not act on a failed health check until HealthCheckGracePeriod
   seconds after the instance entered InService; it exists for *newly launched* instances
   ("The grace period prevents Amazon EC2 Auto Scaling from marking your newly launched instances
   Unhealthy", https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-check-grace-period.html).
   A reboot or a service restart does not start it again.
2. EC2 status checks (every group): unhealthy when the instance is not `running`, or its status
   checks report it impaired
   (https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-checks-overview.html).
3. Elastic Load Balancing health checks, only with HealthCheckType ELB: unhealthy when a load
   balancer reports the target unhealthy (same page). A target group calls a target unhealthy
   after UnhealthyThresholdCount consecutive failed checks, HealthCheckIntervalSeconds apart
   (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html).
4. A reboot is an operating-system reboot: the instance keeps its addresses and stays `running`
   (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-reboot.html).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outage:
    """What an instance goes through, seconds after it entered InService."""
    at: int  # when it starts, seconds after InService
    target_down_seconds: int = 0  # nothing answers the target group's health check (httpd down)
    instance_state: str = "running"  # a reboot keeps `running` (rule 4)
    status_checks: str = "ok"  # or "impaired"

    @classmethod
    def reboot(cls, at: int, service_down_seconds: int) -> Outage:
        return cls(at=at, target_down_seconds=service_down_seconds)


def target_unhealthy_after(target_group: dict) -> int:
    p = target_group["Properties"]
    return int(p.get("HealthCheckIntervalSeconds", 30)) * int(p.get("UnhealthyThresholdCount", 2))


def replaced(group: dict, target_groups: list[dict], outage: Outage) -> bool:
    """Does Auto Scaling mark the instance unhealthy (and replace it) for this outage?"""
    p = group["Properties"]
    grace = int(p.get("HealthCheckGracePeriod", 0))
    if outage.instance_state != "running" or outage.status_checks == "impaired":
        return True  # rule 2 (a lasting state; acted on once the grace period is over)
    if p.get("HealthCheckType", "EC2") != "ELB":
        return False  # rule 3 applies only to ELB health checks
    down_until = outage.at + outage.target_down_seconds
    return any(outage.target_down_seconds >= target_unhealthy_after(tg) for tg in target_groups) \
        and down_until > grace  # rule 1
