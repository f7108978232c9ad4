"""Adds the alarms and their SNS topic (encrypted with the stack key; an e-mail subscription when
NotificationEmail is set): the hub failing its load balancer health check or out of service, a
builder group failing to launch, a queue that does not move, and the database running out of storage.

Metrics: AWS/NetworkELB UnHealthyHostCount per target group, AWS/AutoScaling GroupInServiceInstances
(the hub group collects group metrics), AWS/RDS FreeStorageSpace, and the controller's per-arch
metrics in the stack namespace (kojistack/controller/decide.py: QueuedTaskWeight, RunningTaskWeight,
LaunchFailures = failed scaling activities in the last period).
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Template, sns
from troposphere import cloudwatch as cw

from .. import ids, names
from ..config import Config
from . import parameters as P
from .database import Database
from .hub import BOOT_TIMEOUT_SECONDS
from .loadbalancers import LoadBalancers

DB_FREE_STORAGE_BYTES = 2 * 1024 ** 3  # storage autoscaling grows at 10% free; below 2 GiB it has hit its limit
QUEUE_STUCK_MINUTES = 30  # longer than a builder takes to boot and register


@dataclass(frozen=True)
class Alarms:
    topic: sns.Topic
    alarms: tuple[cw.Alarm, ...]


def _alarm(t: Template, title: str, name: str, what: str, topic: sns.Topic, **kw) -> cw.Alarm:
    return t.add_resource(cw.Alarm(
        title, AlarmName=Sub(names.ALARM_NAME_PREFIX + name),
        AlarmDescription=Sub("kojistack ${AWS::StackName}: " + what),
        AlarmActions=[Ref(topic)], OKActions=[Ref(topic)], **kw))


def _dims(**kw) -> list[cw.MetricDimension]:
    return [cw.MetricDimension(Name=k, Value=v) for k, v in kw.items()]


def _controller_metric(mid: str, name: str, arch: str, minutes: int) -> cw.MetricDataQuery:
    return cw.MetricDataQuery(Id=mid, ReturnData=False, MetricStat=cw.MetricStat(
        Metric=cw.Metric(Namespace=Sub(names.METRICS_NAMESPACE), MetricName=name, Dimensions=_dims(Arch=arch)),
        Period=minutes * 60, Stat="Maximum"))


def add_alarms(t: Template, cfg: Config, key, lbs: LoadBalancers, db: Database) -> Alarms:
    topic = t.add_resource(sns.Topic(ids.ALARM_TOPIC, DisplayName=Sub("kojistack ${AWS::StackName}"),
                                     KmsMasterKeyId=GetAtt(key, "Arn")))
    t.add_resource(sns.SubscriptionResource(ids.ALARM_EMAIL_SUBSCRIPTION, Condition=P.HAS_NOTIFICATION_EMAIL,
                                            Protocol="email", Endpoint=Ref(P.NOTIFICATION_EMAIL),
                                            TopicArn=Ref(topic)))
    made = [
        _alarm(t, ids.ALARM_HUB_UNHEALTHY, "hub-unhealthy",
               "the hub fails the public load balancer's health check (httpd down or hub broken)", topic,
               Namespace="AWS/NetworkELB", MetricName="UnHealthyHostCount", Statistic="Maximum",
               Dimensions=_dims(TargetGroup=GetAtt(lbs.public_targets, "TargetGroupFullName"),
                                LoadBalancer=GetAtt(lbs.public, "LoadBalancerFullName")),
               Period=60, EvaluationPeriods=5, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
               TreatMissingData="notBreaching"),
        _alarm(t, ids.ALARM_HUB_NOT_IN_SERVICE, "hub-not-in-service",
               "no hub in service for longer than a boot may take (replacement failing its bootstrap: "
               "see the failure record, docs/troubleshooting.md)", topic,
               Namespace="AWS/AutoScaling", MetricName="GroupInServiceInstances", Statistic="Maximum",
               Dimensions=_dims(AutoScalingGroupName=Sub(names.HUB_GROUP_NAME)),
               Period=300, EvaluationPeriods=BOOT_TIMEOUT_SECONDS // 300 + 1, Threshold=1,
               ComparisonOperator="LessThanThreshold", TreatMissingData="notBreaching"),
        _alarm(t, ids.ALARM_DB_STORAGE, "database-storage",
               "the database has less than 2 GiB free (storage autoscaling reached its limit: raise "
               "DbMaxAllocatedStorageGiB)", topic,
               Namespace="AWS/RDS", MetricName="FreeStorageSpace", Statistic="Minimum",
               Dimensions=_dims(DBInstanceIdentifier=Ref(db.instance)),
               Period=300, EvaluationPeriods=3, Threshold=DB_FREE_STORAGE_BYTES,
               ComparisonOperator="LessThanThreshold", TreatMissingData="notBreaching"),
    ]
    for arch in cfg.arches:
        made.append(_alarm(
            t, ids.alarm_launch_failures(arch), f"builders-{arch}-launch-failures",
            f"{arch} builders fail to launch (quota, spot capacity, AMI or launch template: "
            f"`kojistack status` shows the cause)", topic,
            Namespace=Sub(names.METRICS_NAMESPACE), MetricName="LaunchFailures", Statistic="Maximum",
            Dimensions=_dims(Arch=arch), Period=300, EvaluationPeriods=3, Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching"))
        made.append(_alarm(
            t, ids.alarm_queue_stuck(arch), f"builders-{arch}-queue-stuck",
            f"{arch} tasks have waited {QUEUE_STUCK_MINUTES} minutes with nothing running (builders not "
            "starting or not registering)", topic,
            Metrics=[_controller_metric("queued", "QueuedTaskWeight", arch, QUEUE_STUCK_MINUTES // 6),
                     _controller_metric("running", "RunningTaskWeight", arch, QUEUE_STUCK_MINUTES // 6),
                     cw.MetricDataQuery(Id="stuck", Label="queued with nothing running", ReturnData=True,
                                        Expression="IF(queued > 0 AND running == 0, 1, 0)")],
            EvaluationPeriods=6, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching"))
    return Alarms(topic, tuple(made))
