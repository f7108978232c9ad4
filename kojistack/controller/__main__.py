"""`python3 -m kojistack_controller [--once] [--env FILE]`: the controller service entry point."""

import argparse
import logging
import sys

import boto3

from . import settings as settings_mod
from .awsport import AutoScaling, Cloud
from .kojiport import KojiPort
from .loop import Controller


def main(argv=None) -> int:
    """Build the controller from stack.env, names.env and the PKI files, then loop (or run once)."""
    ap = argparse.ArgumentParser(prog="kojistack-controller")
    ap.add_argument("--env", default=settings_mod.STACK_ENV, help="stack.env file (KOJISTACK_* lines)")
    ap.add_argument("--names", default=settings_mod.NAMES_ENV,
                    help="names.env file (the payload's shared names, KOJISTACK_* lines)")
    ap.add_argument("--once", action="store_true", help="run one loop and print the plan")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        s = settings_mod.load(args.env, args.names)
    except (OSError, settings_mod.SettingsError) as exc:
        print(f"kojistack-controller: {exc}", file=sys.stderr)
        return 2
    aws = boto3.session.Session(region_name=s.region)
    ctl = Controller(s, KojiPort(s.hub_url, s.client_pem, s.ca_pem, s.policy.builder_channels),
                     AutoScaling(aws.client("autoscaling")),
                     Cloud(aws.client("ec2"), aws.client("ssm"), aws.client("cloudwatch")))
    if args.once:
        _state, plan, errors = ctl.once()
        print(plan)
        return 1 if errors else 0
    ctl.forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
