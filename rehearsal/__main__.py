# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m rehearsal``: manage the rehearsal world.

  seed [--home DIR]                      a fresh world (and credentials.env); clears the call log and faults
  calls [--home DIR] [--json]            print the cf call log
  passcode [--user USER]                 a one-time SSO passcode for ``cf login --sso-passcode``
  revoke-tokens USER                     the user's next cf call fails with the token-expired message
  fault add --action fail|hang|garbage|latency|respond [--match CMD] [--argv-contains S] [--nth N] [--times N|0]
            [--stderr TEXT] [--stdout TEXT] [--exit-code N] [--latency-ms N] [--apply]
  fault latency MS | fault clear | fault list
  task-behaviour COMMAND [--seconds S|never] [--result SUCCEEDED|FAILED] [--reason TEXT] [--log LINE]...
  clock advance SECONDS
  ssh-proxy [--host H] [--port N] [--fingerprint FP]
  postgres start|stop|status|seed|destroy [--scale N] [--marker TEXT]   the rehearsal PostgreSQL (rehearsal.postgres)
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

from rehearsal import calllog, faults, seed
from rehearsal import world as world_mod


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description="Manage the rehearsal cloud's world.")
    parser.add_argument("--home", help="REHEARSAL_HOME (default: $REHEARSAL_HOME or rehearsal/.state)")
    sub = parser.add_subparsers(dest="verb", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--home", dest="home_sub", help=argparse.SUPPRESS)
        return p

    add("seed", "write a fresh world")
    calls = add("calls", "print the cf call log")
    calls.add_argument("--json", action="store_true", help="one JSON record per line")
    passcode = add("passcode", "issue a one-time SSO passcode")
    passcode.add_argument("--user", default=None)
    revoke = add("revoke-tokens", "revoke a user's tokens")
    revoke.add_argument("user")
    fault = add("fault", "fault injection")
    fault.add_argument("op", choices=("add", "latency", "clear", "list"))
    fault.add_argument("value", nargs="?", type=int, help="milliseconds (fault latency)")
    fault.add_argument("--action", default="fail", choices=faults.ACTIONS)
    fault.add_argument("--match")
    fault.add_argument("--argv-contains")
    fault.add_argument("--nth", type=int)
    fault.add_argument("--times", type=int, default=1, help="0: unlimited")
    fault.add_argument("--stderr")
    fault.add_argument("--stdout", help="respond: what the call prints")
    fault.add_argument("--exit-code", type=int)
    fault.add_argument("--latency-ms", type=int)
    fault.add_argument("--apply", action="store_true")
    behaviour = add("task-behaviour", "how tasks running a command behave")
    behaviour.add_argument("command")
    behaviour.add_argument("--seconds", default="1", help="seconds, or 'never'")
    behaviour.add_argument("--result", default="SUCCEEDED", choices=("SUCCEEDED", "FAILED"))
    behaviour.add_argument("--reason")
    behaviour.add_argument("--log", action="append")
    behaviour.add_argument("--runner")
    clock = add("clock", "move the world's clock")
    clock.add_argument("op", choices=("advance",))
    clock.add_argument("seconds", type=float)
    proxy = add("ssh-proxy", "record the SSH proxy's address and host key fingerprint")
    proxy.add_argument("--host")
    proxy.add_argument("--port", type=int)
    proxy.add_argument("--fingerprint")
    pg = add("postgres", "the rehearsal PostgreSQL standing in for the aws-rds databases")
    pg.add_argument("op", choices=("start", "stop", "status", "seed", "destroy"))
    pg.add_argument("--scale", type=int, default=1)
    pg.add_argument("--marker")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    home = world_mod.resolve_home(getattr(args, "home_sub", None) or args.home)
    if args.verb == "seed":
        path = seed.seed(home)
        print(f"seeded {path}")
        print(f"service account credentials: {os.path.join(home, 'credentials.env')}")
    elif args.verb == "calls":
        for record in calllog.read(home):
            if args.json:
                print(json.dumps(record, sort_keys=True))
            else:
                code = "hung" if record.get("exit_code") is None else f"rc={record['exit_code']}"
                fault = f"  fault={record['fault']['action']}" if record.get("fault") else ""
                print(f"{record['time']}  #{record.get('seq', '?')}  {code:<6} {record.get('duration_s', 0):>7.3f}s  "
                      f"cf {shlex.join(record['argv'])}{fault}")
    elif args.verb == "passcode":
        print(world_mod.issue_passcode(home, args.user))
    elif args.verb == "revoke-tokens":
        print(f"revoked {world_mod.revoke_tokens(home, args.user)} token(s) of {args.user}")
    elif args.verb == "fault":
        if args.op == "add":
            rule = faults.inject(home, match=args.match, action=args.action, nth=args.nth,
                                 times=args.times or None, stderr=args.stderr, exit_code=args.exit_code,
                                 latency_ms=args.latency_ms, argv_contains=args.argv_contains, apply=args.apply,
                                 stdout=args.stdout)
            print(rule)
        elif args.op == "latency":
            faults.set_latency(home, args.value or 0)
        elif args.op == "clear":
            faults.clear(home)
        else:
            print(json.dumps(faults.load(home), indent=2, sort_keys=True))
    elif args.verb == "task-behaviour":
        seconds = None if args.seconds == "never" else float(args.seconds)
        world_mod.set_task_behaviour(home, args.command, seconds=seconds, result=args.result,
                                     failure_reason=args.reason, log=args.log, runner=args.runner)
    elif args.verb == "clock":
        print(world_mod.advance_clock(home, args.seconds))
    elif args.verb == "ssh-proxy":
        print(json.dumps(world_mod.set_ssh_proxy(home, host=args.host, port=args.port,
                                                 host_key_fingerprint=args.fingerprint)))
    elif args.verb == "postgres":
        return _postgres(home, args)
    return 0


def _postgres(home: str, args: argparse.Namespace) -> int:
    from rehearsal import postgres  # pylint: disable=import-outside-toplevel

    try:
        if args.op == "start":
            conn = postgres.start(home)
            print(json.dumps({k: v for k, v in conn.items() if k != "password"}, sort_keys=True))
            print("password: in the service's credentials (cf service-key), or rehearsal.postgres.connection()")
        elif args.op == "stop":
            print("stopped" if postgres.stop(home) else "not running")
        elif args.op == "destroy":
            print("removed" if postgres.destroy(home) else "no cluster")
        elif args.op == "status":
            info = postgres.status(home)
            print(json.dumps(info, indent=2, sort_keys=True))
            return 0 if info["running"] else 3
        else:
            result = postgres.seed(home, scale=args.scale, marker=args.marker)
            print(json.dumps({"marker": result["marker"], "counts": result["counts"]}, indent=2, sort_keys=True))
    except postgres.PostgresError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
