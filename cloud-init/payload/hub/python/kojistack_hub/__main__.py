"""Command line of the hub helpers: render, httpd-limits, light-slots, identity, schema-plan."""

from __future__ import annotations

import argparse
import os
import sys
import uuid

from . import identity, render, schema_plan, sizing


def _cmd_render(args: argparse.Namespace) -> int:
    changed = render.render_file(args.src, args.dest, os.environ, int(args.mode, 8), args.group)
    print("changed" if changed else "unchanged")
    return 0


def _cmd_httpd_limits(args: argparse.Namespace) -> int:
    limits = sizing.httpd_limits(args.db_class)
    print(f"KOJISTACK_HTTPD_SERVER_LIMIT={limits.server_limit}")
    print(f"KOJISTACK_HTTPD_THREADS_PER_CHILD={limits.threads_per_child}")
    print(f"KOJISTACK_HTTPD_MAX_REQUEST_WORKERS={limits.max_request_workers}")
    return 0


def _cmd_light_slots(args: argparse.Namespace) -> int:
    with open(args.meminfo) as fh:
        slots = sizing.light_slots(sizing.mem_total_kib(fh.read()))
    print(f"KOJISTACK_LIGHT_MAXJOBS={slots}")
    print(f"KOJISTACK_LIGHT_CAPACITY={slots}.0")
    return 0


def _cmd_identity(args: argparse.Namespace) -> int:
    decision = identity.decide(args.db_id, args.fs_id, args.db_has_data == "yes",
                               args.fs_has_data == "yes", str(uuid.uuid4()))
    print(f"{decision.stack_id} {int(decision.write_db)} {int(decision.write_fs)}")
    return 0


def _cmd_schema_plan(args: argparse.Namespace) -> int:
    names = sorted(os.listdir(args.dir))
    for name in schema_plan.plan(args.db_version, args.installed_version, names):
        print(os.path.join(args.dir, name))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kojistack_hub")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("render", help="render a config template with values from the environment")
    p.add_argument("src")
    p.add_argument("dest")
    p.add_argument("--mode", default="0644")
    p.add_argument("--group")
    p.set_defaults(func=_cmd_render)
    p = sub.add_parser("httpd-limits", help="MPM limits for a database class, as env lines")
    p.add_argument("db_class")
    p.set_defaults(func=_cmd_httpd_limits)
    p = sub.add_parser("light-slots", help="maxjobs and capacity of the hub's kojid from its memory, as env lines")
    p.add_argument("--meminfo", default="/proc/meminfo")
    p.set_defaults(func=_cmd_light_slots)
    p = sub.add_parser("identity", help="decide the stack identity; prints ID WRITE_DB WRITE_FS")
    p.add_argument("--db-id", default="")
    p.add_argument("--fs-id", default="")
    p.add_argument("--db-has-data", choices=("yes", "no"), required=True)
    p.add_argument("--fs-has-data", choices=("yes", "no"), required=True)
    p.set_defaults(func=_cmd_identity)
    p = sub.add_parser("schema-plan", help="schema upgrade files to apply, in order")
    p.add_argument("db_version")
    p.add_argument("installed_version")
    p.add_argument("dir")
    p.set_defaults(func=_cmd_schema_plan)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (identity.IdentityError, schema_plan.SchemaError, render.RenderError, ValueError) as err:
        print(f"kojistack_hub {args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
