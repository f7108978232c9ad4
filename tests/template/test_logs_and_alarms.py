"""Day two in the template: each role's log group (stack key, retention parameter) is the one its
machines write to and the only one their role may write; the alarms cover hub health, builder
launches and queues per arch, and database storage, and notify an encrypted topic."""

from __future__ import annotations

import re

from kojistack import ids, names

from .conftest import resources


def _statements(t: dict, policy: str) -> list[dict]:
    return [s for s in t["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"] if "Sid" in s]


def test_log_groups_are_encrypted_with_the_stack_key_and_retained_for_the_parameter(templates):
    for t in templates.values():
        groups = resources(t, "AWS::Logs::LogGroup")
        for title, name in ((ids.HUB_LOG_GROUP, names.HUB_LOG_GROUP_NAME),
                            (ids.BUILDER_LOG_GROUP, names.BUILDER_LOG_GROUP_NAME)):
            props = groups[title]["Properties"]
            assert props["LogGroupName"] == {"Fn::Sub": name}
            assert props["KmsKeyId"] == {"Fn::GetAtt": [ids.STACK_KEY, "Arn"]}
            assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_each_role_ships_only_to_its_own_group_and_is_told_its_name(templates):
    for t in templates.values():
        for policy, name, _lt in ((ids.HUB_POLICY, names.HUB_LOG_GROUP_NAME, ids.HUB_LAUNCH_TEMPLATE),
                                 (ids.BUILDER_POLICY, names.BUILDER_LOG_GROUP_NAME, None)):
            (ship,) = [s for s in _statements(t, policy) if s["Sid"] == "ShipLogsToItsStackLogGroup"]
            assert sorted(ship["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
            text = str(ship["Resource"])
            assert name in text and "*" not in text.replace("log-stream:*", "")
            others = [s for s in _statements(t, policy) if any(str(a).startswith("logs:") for a in s["Action"])]
            assert others == [ship]
        for title, res in resources(t, "AWS::EC2::LaunchTemplate").items():
            text = res["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"][0]
            name = names.HUB_LOG_GROUP_NAME if title == ids.HUB_LAUNCH_TEMPLATE else names.BUILDER_LOG_GROUP_NAME
            assert f"KOJISTACK_LOG_GROUP='{name}'" in text, title


def test_alarms_cover_hub_builders_per_arch_and_database_and_notify_the_encrypted_topic(templates):
    for (name, _), t in templates.items():
        topic = t["Resources"][ids.ALARM_TOPIC]
        assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [ids.STACK_KEY, "Arn"]}
        sub = t["Resources"][ids.ALARM_EMAIL_SUBSCRIPTION]
        assert sub["Condition"] == "HasNotificationEmail" and sub["Properties"]["Protocol"] == "email"
        alarms = resources(t, "AWS::CloudWatch::Alarm")
        arches = {re.sub(r"Builder(\w+?)(LaunchFailures|QueueStuck)Alarm", r"\1", k) for k in alarms
                  if k.startswith("Builder")}
        launch_templates = {k for k in resources(t, "AWS::EC2::LaunchTemplate") if k.startswith("Builder")}
        assert {f"Builder{a}LaunchTemplate" for a in arches} == launch_templates, name
        assert {ids.ALARM_HUB_UNHEALTHY, ids.ALARM_HUB_NOT_IN_SERVICE, ids.ALARM_DB_STORAGE} <= alarms.keys()
        for alarm in alarms.values():
            props = alarm["Properties"]
            assert props["AlarmActions"] == [{"Ref": ids.ALARM_TOPIC}] == props["OKActions"]
            assert props["AlarmName"]["Fn::Sub"].startswith(names.ALARM_NAME_PREFIX)


def test_cloudwatch_may_use_the_key_only_for_this_stacks_alarms(default):
    statements = default["Resources"][ids.STACK_KEY]["Properties"]["KeyPolicy"]["Statement"]
    (cw,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert sorted(cw["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cw["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Fn::Sub": "${AWS::AccountId}"}
    assert cw["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(":alarm:" + names.ALARM_NAME_PREFIX + "*")


def test_the_dashboard_shows_every_metric_the_controller_publishes_and_every_group(default):
    """The builders' per-arch metrics and the light channel's (dimension Arch=light, only published
    by a stack with the light hosts' group: decide.light_metrics), and each group's instances."""
    import json

    from kojistack.controller import decide

    body = default["Resources"][ids.DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"]
    series = [m for w in json.loads(body)["widgets"] for m in w["properties"]["metrics"]]
    plotted = {(m[1], m[3]) for m in series if m[0] == names.METRICS_NAMESPACE}
    per_arch = set(decide.METRIC_NAMES) - {"UnservableTaskWeight", "FreedTasks", "RefusedRegistrations"}
    assert {(m, a) for m in per_arch for a in ("x86_64", "aarch64")} <= plotted
    assert {(m, decide.LIGHT) for m in decide.LIGHT_METRIC_NAMES} <= plotted
    groups = {m[3] for m in series if m[0] == "AWS/AutoScaling"}
    assert groups == {names.builder_group_name("x86_64"), names.builder_group_name("aarch64"),
                      names.LIGHT_GROUP_NAME, names.HUB_GROUP_NAME}
    # the template may not import the controller (tests/test_wings.py): its copies are held equal here
    from kojistack.template import dashboard

    assert dashboard.LIGHT_METRICS == decide.LIGHT_METRIC_NAMES and dashboard.LIGHT_ARCH == decide.LIGHT
    assert {m for m, _ in dashboard.CONTROLLER_METRICS} <= set(decide.METRIC_NAMES)
