# SPDX-License-Identifier: GPL-3.0-or-later
"""The cf emulator's entry point (``python -m rehearsal.cf ARGS``, wrapped by ``rehearsal/bin/cf``).

Per call: take a sequence number and any injected fault (``rehearsal.faults``), dispatch the command, rewrite the
session's config.json, and append one record to the call log (``rehearsal.calllog``).
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import TextIO

from rehearsal import calllog, cfconfig, faults
from rehearsal import world as world_mod
from rehearsal.commands import COMMANDS, REAL_COMMANDS, resolve
from rehearsal.commands.base import Context, help_text, parse
from rehearsal.ui import CfError, FlagError, HelpRequested, Output

GLOBAL_VERBOSE = ("-v", "--verbose")


def _close(a: str, b: str) -> bool:
    """Within one edit (insert, delete, substitute, swap): sajari/fuzzy at depth 1, as cf's suggester uses."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    deletes_a = {a[:i] + a[i + 1:] for i in range(len(a))} | {a}
    deletes_b = {b[:i] + b[i + 1:] for i in range(len(b))} | {b}
    return bool(deletes_a & deletes_b)


def unknown_command(name: str) -> str:
    message = f"'{name}' is not a registered command. See 'cf help -a'"
    suggestions = sorted(n for n in set(COMMANDS) | REAL_COMMANDS if _close(name, n))
    if suggestions:
        message += "\n\nDid you mean?" + "".join(f"\n    {s}" for s in suggestions)
    return message


def command_name(argv: list[str]) -> str:
    args = [a for a in argv if a not in GLOBAL_VERBOSE]
    if not args:
        return ""
    cmd = resolve(args[0])
    return cmd.name if cmd else args[0]


def dispatch(argv: list[str], home: str, env: Mapping[str, str], out: Output, stdin: TextIO) -> int:
    """Run one cf command; returns its exit code."""
    args = list(argv)
    verbose = False
    while args and args[0] in GLOBAL_VERBOSE:
        verbose = True
        args.pop(0)
    if not args or args[0] == "--version":
        name = "version" if (verbose or args) else "help"
        args = [name]
    cmd = resolve(args[0])
    if cmd is None:
        if args[0] in REAL_COMMANDS:
            out.error(f"The rehearsal cloud does not emulate 'cf {args[0]}'.")
            return 1
        out.warning(unknown_command(args[0]))
        return 1
    try:
        parsed = parse(cmd, args[1:])
    except HelpRequested:
        out.write(help_text(cmd))
        return 0
    except FlagError as err:
        out.err.write(f"Incorrect Usage: {err.message}\n\n")
        out.err.flush()
        out.write(help_text(cmd))
        return 1
    except CfError as err:  # unexpected argument
        out.error(err.message)
        out.newline()
        out.write(help_text(cmd))
        return 1
    ctx = Context(home, env, out, stdin)
    try:
        return cmd.handler(ctx, parsed)
    except FlagError as err:
        out.err.write(f"Incorrect Usage: {err.message}\n\n")
        out.write(help_text(cmd))
        return 1
    except CfError as err:
        out.error(err.message)
        if err.display_usage:
            out.newline()
            out.write(help_text(cmd))
        return err.rc
    finally:
        cfconfig.save(env, ctx.config)


def _garbage(real_stdout: str) -> bytes:
    """Bytes that are neither JSON nor valid UTF-8, shaped like a response cut short."""
    cut = real_stdout[: max(len(real_stdout) // 2, 1)].encode("utf-8") if real_stdout else b'{"pagination":{"tot'
    return cut + b"\xff\xfe\x00" + os.urandom(12).replace(b"\n", b"\x01") + b"\n"


def _hang() -> None:
    while True:
        time.sleep(3600)


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    home = world_mod.resolve_home()
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ)
    record: dict[str, object] = {"time": calllog.now_iso(), "argv": calllog.redact_argv(argv),
                                 "cf_home": env.get("CF_HOME", ""), "pid": os.getpid(), "fault": None}
    rc: int | None = 1
    logged = False
    try:
        seq, rule, latency_ms = faults.claim(home, argv, command_name(argv))
        record["seq"] = seq
        if rule is not None:
            record["fault"] = {"id": rule["id"], "action": rule["action"]}
        if latency_ms:
            time.sleep(latency_ms / 1000.0)
        action = rule["action"] if rule is not None else None
        if action == "hang":
            rc = None
            record.update(exit_code=None, duration_s=round(time.monotonic() - started, 3))
            calllog.append(home, record)
            logged = True
            _hang()
        elif action == "fail":
            out = Output()
            out.error(rule.get("stderr") or faults.default_stderr())
            rc = int(rule.get("exit_code") or 1)
        elif action == "respond":
            sys.stdout.write(rule.get("stdout") or "")
            sys.stdout.flush()
            sys.stderr.write(rule.get("stderr") or "")
            sys.stderr.flush()
            rc = int(rule.get("exit_code") or 0)
        elif action == "garbage":
            captured = ""
            if rule.get("apply"):
                out = Output(capture=True)
                dispatch(argv, home, env, out, stdin or sys.stdin)
                captured = out.out.getvalue()  # type: ignore[attr-defined]
            sys.stdout.flush()
            sys.stdout.buffer.write(_garbage(captured))
            sys.stdout.buffer.flush()
            rc = 0
        else:
            rc = dispatch(argv, home, env, Output(), stdin or sys.stdin)
    except BrokenPipeError:
        rc = 1
    except KeyboardInterrupt:
        rc = 130
    except Exception as exc:  # pylint: disable=broad-except
        import traceback  # pylint: disable=import-outside-toplevel

        sys.stderr.write(f"Unexpected error: {exc}\n")
        with open(os.path.join(home, "errors.log"), "a", encoding="utf-8") as fh:
            fh.write(f"{calllog.now_iso()} {record['argv']}\n{traceback.format_exc()}\n")
        rc = 1
    finally:
        if not logged:
            record.update(exit_code=rc, duration_s=round(time.monotonic() - started, 3))
            calllog.append(home, record)
    return 1 if rc is None else rc


if __name__ == "__main__":
    sys.exit(main())
