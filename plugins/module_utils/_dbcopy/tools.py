# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PostgreSQL's and age's tools for the data copy: finding them, running them (through ``_proc``), their versions
and the environment they get.

PRIVATE to the collection. It can have breaking changes at any time.

This package serves an action plugin (db_copy, on the controller) as well as modules, so there is no AnsibleModule and
no run_command here; and the copy needs what run_command cannot do: processes joined by pipes (pg_dump | age,
age -d | pg_restore), kept in their own sessions so the window's watchdog can stop them. Argv lists only, never a
shell; secrets only in the environment.
"""

from __future__ import annotations

import glob
import os
import re
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _proc
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError

__all__ = ["find_tool", "pg_env", "pg_major", "pipe", "popen", "run", "run_quietly", "tool_versions"]

PG_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


def find_tool(name: str, bin_dir: str | None = None) -> str:
    """``bin_dir/name`` when given; for PostgreSQL's tools the newest ``/usr/lib/postgresql/*/bin`` (Debian keeps one
    folder per major version, and the newest client dumps every older server); else ``name`` on PATH."""
    if bin_dir:
        path = os.path.join(os.path.expanduser(bin_dir), name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise CopyError(f"find {name}", f"{path} is not an executable file", "Check pg_bin_dir (or age_bin_dir)", kind="tool_missing")
    if name.startswith("pg_") or name in ("psql", "initdb", "postgres"):
        folders = glob.glob("/usr/lib/postgresql/*/bin")
        folders.sort(key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0, reverse=True)
        for folder in folders:
            path = os.path.join(folder, name)
            if os.access(path, os.X_OK):
                return path
    found = _proc.find_tool(name)
    if not found:
        if name.startswith("age"):
            hint = "Install age (Debian: apt-get install age; https://age-encryption.org)"
        else:
            hint = "Install PostgreSQL's client and server tools (Debian: apt-get install postgresql)"
        raise CopyError(f"find {name}", f"there is no {name} on PATH", hint, kind="tool_missing")
    return found


def popen(argv: list[str], *, detach: bool = False, **kwargs: t.Any) -> _proc.Popen[bytes]:
    """A tool that keeps running, its pipes read by the caller (``detach``: in its own session)."""
    return _proc.spawn(argv, detach=detach, **kwargs)


def run(argv: list[str], *, action: str, env: t.Mapping[str, str] | None = None, timeout: float = 120,
        stdin: bytes | None = None, secret_output: bool = False, user: str | None = None) -> _proc.Completed:
    """Run a local tool (argv list, never a shell). ``secret_output`` keeps stdout out of errors."""
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    try:
        proc = _proc.run(argv, input=stdin, timeout=timeout, env=env, detach=False)
    except _proc.TimedOut:
        raise CopyError(action, f"{os.path.basename(argv[0])} did not finish within {timeout:.0f} s", "Check the system and run again",
                        kind="timeout") from None
    except OSError as err:
        raise CopyError(action, f"cannot run {argv[0]} ({err.strerror})", "Check that the tool is installed", kind="tool_missing") from None
    if proc.rc != 0:
        text = proc.text("stderr") + ("" if secret_output else proc.text("stdout"))
        detail = " ".join(line.strip() for line in text.splitlines() if line.strip())[:600]
        name = os.path.basename(argv[4] if user else argv[0])
        raise CopyError(action, f"{name} exited {proc.rc}: {detail or 'no message'}", "See the message above", kind="tool_failed")
    return proc


def run_quietly(argv: list[str], timeout: float = 60) -> int:
    """A status check (``pg_ctl status``, ``pg_ctl stop``): only the exit code matters."""
    try:
        return _proc.run(argv, timeout=timeout, detach=False).rc
    except (OSError, _proc.TimedOut):
        return -1


def pipe(stream: t.IO[bytes] | None) -> t.IO[bytes]:
    """A pipe of a process started with PIPE (typed; never None)."""
    if stream is None:
        raise CopyError("connect the copy's processes", "a pipe is missing", "Report this bug", kind="bug")
    return stream


def pg_major(text: str) -> int:
    match = PG_VERSION.search(text)
    if not match:
        raise CopyError("read the PostgreSQL tool's version", f"unexpected version text {text.strip()[:80]!r}",
                        "Check the PostgreSQL installation", kind="tool_failed")
    return int(match.group(1))


def tool_versions(tools: t.Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, path in tools.items():
        flag = "--version"
        proc = run([path, flag], action=f"read the version of {name}", timeout=30)
        out[name] = (proc.stdout or proc.stderr).decode("utf-8", "replace").strip().splitlines()[0]
    return out


def pg_env(password: str | None = None) -> dict[str, str]:
    """The environment for PostgreSQL's tools: no inherited PG* settings; the password only in PGPASSWORD."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGCONNECT_TIMEOUT="15", PGAPPNAME="ttahub-ops", LC_ALL="C.UTF-8", LANG="C.UTF-8")
    if password is not None:
        env["PGPASSWORD"] = password
    return env
