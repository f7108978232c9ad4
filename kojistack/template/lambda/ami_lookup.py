"""AMI lookup custom resource: newest available image of a distro release and arch.

Properties: Owner, NamePattern ("{release}" is replaced), Release, Architecture.
Returns ImageId, Name, CreationDate, RootDeviceName. Always answers CloudFormation.
"""
import json
import re
import urllib.request

import boto3

# pre-release words as whole words ("_Beta" is rejected, "latest" is not)
REJECT = re.compile(r"(?<![a-z])(beta|prerelease|rc[0-9]*|rawhide|dev|eln|test)(?![a-z])", re.I)


def find(props):
    ec2 = boto3.client("ec2")
    pattern = props["NamePattern"].replace("{release}", props["Release"])
    images = ec2.describe_images(Owners=[props["Owner"]], Filters=[
        {"Name": "name", "Values": [pattern]},
        {"Name": "architecture", "Values": [props["Architecture"]]},
        {"Name": "state", "Values": ["available"]},
        {"Name": "root-device-type", "Values": ["ebs"]},
    ])["Images"]
    images = [i for i in images if not REJECT.search(i.get("Name", ""))]
    if not images:
        raise RuntimeError("no available {} image named {} from owner {}".format(
            props["Architecture"], pattern, props["Owner"]))
    best = max(images, key=lambda i: i["CreationDate"])
    return {k: best[k] for k in ("ImageId", "Name", "CreationDate", "RootDeviceName")}


def handler(event, context):
    status, data, reason = "FAILED", {}, "unknown error"
    try:
        if event["RequestType"] == "Delete":
            status, reason = "SUCCESS", "nothing to delete"
        else:
            data = find(event["ResourceProperties"])
            status, reason = "SUCCESS", "found " + data["ImageId"]
    except Exception as err:  # report every failure to CloudFormation
        reason = str(err)[:400]
    finally:
        body = json.dumps({
            "Status": status, "Reason": reason + " (log: " + context.log_stream_name + ")",
            "PhysicalResourceId": data.get("ImageId", event.get("PhysicalResourceId", "ami-lookup")),
            "StackId": event["StackId"], "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"], "Data": data,
        }).encode()
        req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
        urllib.request.urlopen(req, timeout=60)
