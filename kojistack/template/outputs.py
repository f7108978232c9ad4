"""Adds the outputs: where the hub, web UI and files are; the admin credential secret; the stack
key (keep it: it decrypts everything retained); and the command that sets up a koji client."""

from __future__ import annotations

from troposphere import GetAtt, If, Output, Ref, Sub, Template

from .. import ids, names
from . import parameters as P
from .alarms import Alarms
from .loadbalancers import LoadBalancers
from .logs import LogGroups
from .secrets import Secrets
from .stacksub import stack_sub
from .storage import Storage


def _public(path: str, lbs: LoadBalancers):
    return If(P.HAS_DOMAIN, Sub("https://${CustomDomain}" + path),
              Sub("https://${Dns}" + path, Dns=GetAtt(lbs.public, "DNSName")))


def add_outputs(t: Template, lbs: LoadBalancers, secrets: Secrets, key, storage: Storage, dashboard,
                log_groups: LogGroups, alarms: Alarms) -> None:
    outs = [
        (ids.OUT_HUB_URL, "Koji hub XML-RPC URL (server = in a koji client profile)", _public("/kojihub", lbs)),
        (ids.OUT_WEB_URL, "Koji web UI", _public("/koji", lbs)),
        (ids.OUT_FILES_URL, "Koji files (topurl)", _public("/kojifiles", lbs)),
        (ids.OUT_INTERNAL_HUB_URL, "Hub URL inside the VPC (builders, kojira, controller)",
         Sub("https://${Dns}/kojihub", Dns=GetAtt(lbs.internal, "DNSName"))),
        (ids.OUT_ADMIN_SECRET, "Secret holding the admin certificate, key and PKCS#12", Ref(secrets.admin)),
        (ids.OUT_CA_SECRET, "Secret holding the stack CA (retained; needed to restore)", Ref(secrets.ca)),
        (ids.OUT_BUILDER_CA_SECRET, "Secret holding the builder CA (retained; needed to restore)",
         Ref(secrets.builder_ca)),
        (ids.OUT_DB_SECRET, "Secret holding the database master user", Ref(secrets.db_master)),
        (ids.OUT_STACK_KEY, "Stack KMS key (retained): without it the retained snapshot, file system "
                            "and secrets cannot be read", GetAtt(key, "Arn")),
        (ids.OUT_FILE_SYSTEM, "EFS file system of /mnt/koji (retained)", storage.file_system_id),
        (ids.OUT_CA_PARAMETER, "SSM parameter holding the stack CA certificate",
         stack_sub(names.SSM_PREFIX + "/ca.pem")),
        (ids.OUT_CLIENT_COMMAND, "Set up a koji client profile for the admin",
         Sub("kojistack client-config --stack-name ${AWS::StackName} --region ${AWS::Region}")),
        (ids.OUT_DASHBOARD, "CloudWatch dashboard of the builder fleet",
         Sub("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
             "#dashboards:name=${Name}", Name=Ref(dashboard))),
        (ids.OUT_CNAME_TARGET, "Point your custom domain (a CNAME record) at this name: the public load balancer",
         GetAtt(lbs.public, "DNSName")),
        (ids.OUT_HUB_LOG_GROUP, "CloudWatch Logs group of the hub (journal, httpd, kojira, kojid)",
         Ref(log_groups.hub)),
        (ids.OUT_BUILDER_LOG_GROUP, "CloudWatch Logs group of the builders (journal, kojid)",
         Ref(log_groups.builders)),
        (ids.OUT_ALARM_TOPIC, "SNS topic of the stack's alarms (subscribe more endpoints here)", Ref(alarms.topic)),
    ]
    for name, what, value in outs:
        t.add_output(Output(name, Description=what, Value=value))
