"""Adds the CloudWatch dashboard: the controller's per-arch metrics (queued and running task
weight, builders in service, unservable tasks, launch failures), the light channel's (build
parents waiting and the light hosts serving them) and each group's instance counts."""

from __future__ import annotations

import json

from troposphere import Sub, Template
from troposphere.cloudwatch import Dashboard

from .. import ids, names
from ..config import Config

# Metric names the controller publishes (kojistack/controller), dimension Arch.
CONTROLLER_METRICS = (
    ("QueuedTaskWeight", "Queued task weight"),
    ("RunningTaskWeight", "Running task weight"),
    ("BuildersInService", "Builders in service"),
    ("BuildersDraining", "Builders draining"),
    ("DesiredBuilders", "Desired builders"),
    ("LaunchFailures", "Failed launches (quota, spot)"),
)
# The light channel's metrics (decide.LIGHT_METRIC_NAMES), dimension Arch=light (decide.LIGHT): the
# template may not import the controller (tests/test_wings.py), so the dashboard test holds them equal.
LIGHT_METRICS = ("LightChannelTasks", "LightHostsInService", "LightHostsDraining", "DesiredLightHosts")
LIGHT_ARCH = "light"
# Per task arch (any arch, e.g. ppc64le or noarch), so found by SEARCH rather than listed.
UNSERVABLE = ("SEARCH('{" + names.METRICS_NAMESPACE + ",Arch} MetricName=\"UnservableTaskWeight\"', "
              "'Maximum', 60)")


def _widget(title: str, metrics: list, x: int, y: int) -> dict:
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {"title": title, "metrics": metrics, "view": "timeSeries", "stat": "Maximum",
                           "period": 60, "region": "${AWS::Region}"}}


def dashboard_body(cfg: Config) -> str:
    widgets = []
    for i, (metric, title) in enumerate(CONTROLLER_METRICS):
        series = [[names.METRICS_NAMESPACE, metric, "Arch", arch] for arch in cfg.arches]
        widgets.append(_widget(title, series, 12 * (i % 2), 6 * (i // 2)))
    widgets.append(_widget("Unservable task weight (no group serves the arch)",
                           [[{"expression": UNSERVABLE, "id": "unservable", "label": "by task arch"}]],
                           12 * (len(widgets) % 2), 6 * (len(widgets) // 2)))
    # published by the controller with dimension Arch=light (decide.light_metrics)
    widgets.append(_widget("Light channel: active build parents and light hosts",
                           [[names.METRICS_NAMESPACE, metric, "Arch", LIGHT_ARCH] for metric in LIGHT_METRICS],
                           12 * (len(widgets) % 2), 6 * (len(widgets) // 2)))
    groups = [["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", names.builder_group_name(a)]
              for a in cfg.arches]
    groups.append(["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", names.LIGHT_GROUP_NAME])
    groups.append(["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", names.HUB_GROUP_NAME])
    widgets.append(_widget("Instances in service per group", groups, 12 * (len(widgets) % 2),
                           6 * (len(widgets) // 2)))
    return json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))


def add_dashboard(t: Template, cfg: Config) -> Dashboard:
    return t.add_resource(Dashboard(ids.DASHBOARD, DashboardName=Sub("${AWS::StackName}-kojistack"),
                                    DashboardBody=Sub(dashboard_body(cfg))))
