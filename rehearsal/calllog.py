# SPDX-License-Identifier: GPL-3.0-or-later
"""The call log, ``REHEARSAL_HOME/calls.jsonl``: one JSON object per cf invocation.

``{"seq": 7, "time": "2026-11-02T14:03:11.123Z", "argv": ["auth", "u", "[REDACTED]"], "exit_code": 0,
"duration_s": 0.041, "cf_home": "/tmp/x", "pid": 123, "fault": null}`` — ``exit_code`` is null for a call that
hung; ``fault`` is ``{"id", "action"}`` when a fault was injected. Passwords, passcodes, SSH codes and tokens are never
written: secret arguments are replaced by ``[REDACTED]`` and stdout is never logged.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

from rehearsal.world import locked, resolve_home

REDACTED = "[REDACTED]"
LOG = "calls.jsonl"


def now_iso() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def redact_argv(argv: list[str]) -> list[str]:
    """ARGV with the secrets of the command replaced (auth PASSWORD, login -p / --sso-passcode, Authorization)."""
    from rehearsal.commands import resolve  # pylint: disable=import-outside-toplevel

    out = list(argv)
    i = 0
    while i < len(out) and out[i] in ("-v", "--verbose"):
        i += 1
    if i >= len(out):
        return out
    cmd = resolve(out[i])
    if cmd is None:
        # not an emulated command: still never log what follows a password-like flag
        for j in range(i + 1, len(out) - 1):
            if out[j] in ("-p", "--password", "--sso-passcode", "--client-secret"):
                out[j + 1] = REDACTED
        return out
    secret_args = [name.rstrip("?") for name in cmd.args]
    position = 0
    j = i + 1
    only_args = False
    while j < len(out):
        token = out[j]
        if only_args or not token.startswith("-") or token == "-":
            if position < len(secret_args) and secret_args[position] in cmd.secret_args:
                out[j] = REDACTED
            position += 1
            j += 1
            continue
        if token == "--":
            only_args = True
            j += 1
            continue
        long_form = token.startswith("--")
        name, eq, inline = token[2:].partition("=") if long_form else (token[1:2], "", token[2:].lstrip("="))
        flag = next((f for f in cmd.flags if (f.long == name if long_form else f.short == name)), None)
        if flag is None or not flag.value:
            j += 1
            continue
        has_inline = bool(eq) if long_form else bool(inline)
        value = inline if has_inline else (out[j + 1] if j + 1 < len(out) else None)
        if value is not None:
            if flag.key in cmd.secret_flags:
                value = REDACTED
            elif flag.short == "H" and value.lower().startswith("authorization"):
                value = value.split(":", 1)[0] + ": " + REDACTED
            if has_inline:
                out[j] = (f"--{name}=" if long_form else token[:2]) + value
            else:
                out[j + 1] = value
        j += 1 if has_inline else 2
    return out


def append(home: str | os.PathLike[str] | None, record: dict[str, Any]) -> None:
    path_home = resolve_home(home)
    line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
    with locked(path_home, "calls.lock"):
        fd = os.open(os.path.join(path_home, LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)


def read(home: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """All records, oldest first."""
    try:
        with open(os.path.join(resolve_home(home), LOG), encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        return []
