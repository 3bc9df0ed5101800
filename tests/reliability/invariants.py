# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What must hold after every case of the fault matrix and of the bad-input corpus, whatever happened.

Each check returns a list of violations (plain sentences; empty when it holds), so that a case can report everything
that broke at once and the suite can count the cases that held. :func:`after_procedure` runs the fault matrix's
checks: space SSH disallowed (within ``within`` seconds, for a killed controller the watchdog's job), no
``SERVICE_CONNECT`` key, no plaintext of the data on disk, no secret in any output, artifact or audit record, no cf
session (a token) left, the audit chain valid with the outcome recorded (a ``run_end``; for a killed controller, which
cannot write one, every window it opened recorded as closed), the leases consistent (none open, no watchdog or
attached process alive).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import time
import typing as t

from ansible_collections.ttahub.ops.plugins.module_utils import _audit
from ansible_collections.ttahub.ops.plugins.module_utils import _ssh_window as sw
from rehearsal import calllog
from rehearsal import world as world_mod

PROD_SPACE = "ttahub-prod"
SERVICE_KEY = "SERVICE_CONNECT"
# A one-line error that says what failed, why, and what to do: "Failed to <verb> <object>: <cause>. <what to do>" (or
# "<cause>; <what to do>", as the gate's roster check words it).
CLEAR_ERROR = re.compile(r"^Failed to [^:\n]{3,400}: [^\n]+?(\. |; )[^\n]{8,}$")
# cf commands that change something in the cloud. A refused or malformed input must never lead to one of these,
# except the ones that close what a run opened (CLOSING).
MUTATING = frozenset({
    "allow-space-ssh", "disallow-space-ssh", "enable-ssh", "disable-ssh", "create-service-key", "delete-service-key",
    "connect-to-service", "run-task", "terminate-task", "push", "cancel-deployment", "restart", "ssh",
})
CLOSING = frozenset({"disallow-space-ssh", "delete-service-key", "terminate-task", "cancel-deployment"})
TRACEBACK = "Traceback (most recent call last)"


def wait_for(predicate: t.Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds until ``predicate()`` held, or None when it did not within ``timeout``."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started >= timeout:
            return None
        time.sleep(step)


# --- the world -----------------------------------------------------------------------------------------------------------

def world_state(home: pathlib.Path) -> dict[str, t.Any]:
    """What a run could change in the cloud: SSH of each space and app, service keys, tasks, deployments, droplets."""
    world = world_mod.load(home)
    return {
        "space_ssh": {s["name"]: s["allow_ssh"] for s in world["spaces"].values()},
        "app_ssh": {a["name"]: a.get("enable_ssh") for a in world["apps"].values()},
        "app_state": {a["name"]: a.get("state") for a in world["apps"].values()},
        "service_keys": sorted(k["name"] for k in world["service_keys"].values()),
        "tasks": len(world.get("tasks") or {}),
        "deployments": len(world.get("deployments") or {}),
        "droplets": len(world.get("droplets") or {}),
    }


def space_ssh_allowed(home: pathlib.Path, space: str = PROD_SPACE) -> bool:
    world = world_mod.load(home)
    return any(s["allow_ssh"] for s in world["spaces"].values() if s["name"] == space)


def service_keys(home: pathlib.Path) -> list[str]:
    return sorted(k["name"] for k in world_mod.load(home)["service_keys"].values())


def unchanged(before: dict[str, t.Any], after: dict[str, t.Any]) -> list[str]:
    return [f"the cloud changed: {key} was {before[key]!r}, is {after[key]!r}"
            for key in before if before[key] != after.get(key)]


# --- the call log ----------------------------------------------------------------------------------------------------------

def calls_since(home: pathlib.Path, seq: int) -> list[dict[str, t.Any]]:
    return [c for c in calllog.read(home) if c.get("seq", 0) > seq]


def last_seq(home: pathlib.Path) -> int:
    calls = calllog.read(home)
    return max((c.get("seq", 0) for c in calls), default=0)


def command_of(call: t.Mapping[str, t.Any]) -> str:
    argv = [a for a in call.get("argv") or [] if a not in ("-v", "--verbose")]
    return argv[0] if argv else ""


def carrying(calls: t.Iterable[t.Mapping[str, t.Any]], value: str) -> list[list[str]]:
    """The argv of every call that carried ``value`` (or, for a short value, had it as a whole argument)."""
    found = []
    for call in calls:
        argv = [str(a) for a in call.get("argv") or []]
        if (len(value) >= 3 and any(value in a for a in argv)) or value in argv:
            found.append(argv)
    return found


def mutations_after(calls: t.Sequence[t.Mapping[str, t.Any]], seq: int, allowed: frozenset[str] = CLOSING) -> list[list[str]]:
    """Calls that changed something after call ``seq`` (a malformed answer), other than closing what was open."""
    return [c["argv"] for c in calls if c.get("seq", 0) > seq and command_of(c) in MUTATING and command_of(c) not in allowed]


# --- errors ---------------------------------------------------------------------------------------------------------------

FATAL = re.compile(r"^fatal: \[[^\]]+\]: FAILED! => (\{.*\})\s*$", re.M)
RECAP = re.compile(r"^\S+\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def playbook_errors(stdout: str) -> list[str]:
    """The ``msg`` of every failed task in an ansible-playbook run's output (default callback, no colour)."""
    messages = []
    for match in FATAL.finditer(stdout):
        try:
            messages.append(str(json.loads(match.group(1)).get("msg", "")))
        except ValueError:
            messages.append(match.group(1))
    return messages


def one_clear_error(messages: t.Sequence[str], output: str = "") -> list[str]:
    """Exactly one error, on one line, worded "Failed to <verb> <object>: <cause>. <what to do>", and no traceback."""
    problems = []
    if len(messages) != 1:
        problems.append(f"{len(messages)} errors instead of one: {[m[:200] for m in messages]}")
    for message in messages:
        if len(message) > 2000:
            problems.append(f"an error of {len(message)} characters")
        if not CLEAR_ERROR.match(message):
            problems.append(f"not one clear line (Failed to ...: ... . <what to do>): {message[:300]!r}")
    if TRACEBACK in output:
        problems.append("a Python traceback in the output")
    return problems


# --- secrets and plaintext --------------------------------------------------------------------------------------------------

def secrets_of(home: pathlib.Path, *extra: str) -> dict[str, str]:
    """The secrets a run could leak, by name: the service account's password, the database passwords of the world's
    service instances, and any ``extra`` (tokens, codes, keys) the caller knows."""
    found: dict[str, str] = {}
    creds = home / "credentials.env"
    if creds.exists():
        for line in creds.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key == "CF_PASSWORD" and value:
                found["cf_password"] = value
    for guid, instance in world_mod.load(home)["service_instances"].items():
        password = (instance.get("credentials") or {}).get("password")
        if password:
            found[f"db_password:{instance.get('name', guid)}"] = password
    for index, value in enumerate(extra):
        if value:
            found[f"extra:{index}"] = value
    return found


def cf_tokens(cf_home: pathlib.Path) -> list[str]:
    """The access and refresh tokens of a cf login (the operator's config.json)."""
    path = cf_home / ".cf" / "config.json"
    if not path.exists():
        return []
    config = json.loads(path.read_text(encoding="utf-8"))
    return [v.split(" ", 1)[-1] for v in (config.get("AccessToken"), config.get("RefreshToken")) if v]


def leaked(texts: t.Mapping[str, str], secrets: t.Mapping[str, str]) -> list[str]:
    """``secret name in where`` for every secret found in any of ``texts`` (where -> text)."""
    return [f"secret {name} in {where}" for where, text in texts.items() for name, value in secrets.items()
            if len(value) >= 6 and value in text]


def files_text(*roots: pathlib.Path, skip: t.Sequence[pathlib.Path] = (), limit: int = 20_000_000) -> dict[str, str]:
    """Every regular file under ``roots`` as text (artifacts, logs, reports), for the secret check."""
    out: dict[str, str] = {}
    skipped = [str(p) for p in skip]
    for root in roots:
        if not root.exists():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not any(os.path.join(folder, d).startswith(s) for s in skipped)]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    if os.path.islink(path) or os.path.getsize(path) > limit:
                        continue
                    with open(path, "rb") as handle:
                        out[path] = handle.read().decode("utf-8", "replace")
                except OSError:
                    continue
    return out


def plaintext_on_disk(marker: str, roots: t.Iterable[pathlib.Path], skip: t.Iterable[pathlib.Path] = ()) -> list[str]:
    """Files under ``roots`` that hold the data's marker, or start like a pg_dump archive (``PGDMP``: its table data
    is compressed, so the marker alone would not find it)."""
    needle = marker.encode()
    skipped = [str(p) for p in skip]
    found = []
    for root in roots:
        if not root.exists():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not any(os.path.join(folder, d).startswith(s) for s in skipped)]
            for name in files:
                path = os.path.join(folder, name)
                if any(path.startswith(s) for s in skipped) or name.startswith("PostgreSQL."):
                    continue  # PostgreSQL.*: dynamic shared memory of the running rehearsal server (the source)
                try:
                    with open(path, "rb") as handle:
                        if handle.read(5) == b"PGDMP":
                            found.append(f"{path} (a pg_dump archive)")
                            continue
                        handle.seek(0)
                        tail = b""
                        for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                            if needle in tail + chunk:
                                found.append(path)
                                break
                            tail = chunk[-len(needle):]
                except OSError:
                    continue
    return found


def leftover_sessions(*bases: pathlib.Path) -> list[str]:
    """Per-run CF_HOMEs (they hold a token) left behind."""
    return [str(p) for base in bases if base.exists() for p in base.glob("ttahub-ops-cf-*")]


# --- the audit log and the leases --------------------------------------------------------------------------------------------

def audit_records(path: pathlib.Path) -> list[dict[str, t.Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def audit_chain(path: pathlib.Path) -> list[str]:
    if not path.exists():
        return []
    verified = _audit.verify(str(path))
    return [] if verified.ok else [f"the audit chain does not verify: {verified}"]


def outcome(records: t.Sequence[t.Mapping[str, t.Any]]) -> str | None:
    """How the run ended as the audit log tells it: the ``run_end`` outcome, else None."""
    ends = [r.get("outcome") for r in records if r.get("event") == "run_end"]
    return str(ends[-1]) if ends else None


def unrecorded_windows(records: t.Sequence[t.Mapping[str, t.Any]]) -> list[str]:
    """Windows the audit log shows opened and never closed (by the run, or by the watchdog for a dead controller)."""
    opened = [r.get("window_id") for r in records if r.get("event") == "ssh_window_opened"]
    closed = {r.get("window_id") for r in records if r.get("event") == "ssh_window_closed"}
    return [str(w) for w in opened if w not in closed]


def leases_consistent(state_dir: pathlib.Path, within: float = 10.0) -> list[str]:
    """No lease still open, and no watchdog or attached process (tunnel, pg_dump) of a closed one still alive."""
    problems = []
    if wait_for(lambda: not sw.leases(str(state_dir)), within) is None:
        problems.append(f"open leases after {within} s: {[p for p, _ in sw.leases(str(state_dir))]}")
    closed = state_dir / "leases" / "closed"
    for path in sorted(closed.glob("*.json")) if closed.exists() else []:
        lease = sw.read_lease(str(path)) or {}
        pid, start = lease.get("watchdog_pid"), lease.get("watchdog_start")
        if pid and wait_for(lambda p=pid, s=start: not sw.process_alive(p, s), 5) is None:
            problems.append(f"the watchdog {pid} of the closed lease {path.name} is alive")
        for attachment in lease.get("attachments") or []:
            if attachment.get("kind") == "process" and sw.process_alive(attachment.get("pid"), attachment.get("start")):
                problems.append(f"the {attachment.get('name', 'process')} {attachment.get('pid')} of {path.name} is alive")
    return problems


@dataclasses.dataclass
class Run:
    """What one procedure run left, for :func:`after_procedure`."""

    home: pathlib.Path                       # REHEARSAL_HOME
    audit_log: pathlib.Path
    state_dir: pathlib.Path | None           # ops_state_dir (leases)
    outputs: dict[str, str]                  # where -> text: stdout, stderr, runner artifacts...
    roots: list[pathlib.Path]                # folders searched for plaintext and for secrets in files
    marker: str | None = None                # the production data's plaintext marker
    skip: list[pathlib.Path] = dataclasses.field(default_factory=list)   # folders not searched (the source database)
    secrets: dict[str, str] = dataclasses.field(default_factory=dict)
    sessions: list[pathlib.Path] = dataclasses.field(default_factory=list)  # where per-run CF_HOMEs are made
    expect_outcome: tuple[str, ...] = ("failed", "aborted", "terminated", "success")
    killed: bool = False                     # the controller got SIGKILL/SIGTERM: it could not write its run_end


def after_procedure(run: Run, *, within: float = 10.0) -> list[str]:
    """Every invariant of the fault matrix; returns the violations."""
    problems: list[str] = []
    if run.sessions and wait_for(lambda: not leftover_sessions(*run.sessions), within) is None:
        problems.append(f"cf session directories (a token each) left {within} s after the run: {leftover_sessions(*run.sessions)}")
    if wait_for(lambda: not space_ssh_allowed(run.home), within) is None:
        problems.append(f"space SSH still allowed in {PROD_SPACE} {within} s after the run")
    if wait_for(lambda: SERVICE_KEY not in service_keys(run.home), within) is None:
        problems.append(f"a {SERVICE_KEY} key is left: {service_keys(run.home)}")
    if run.state_dir is not None:
        problems += leases_consistent(run.state_dir, within)
    if run.marker:
        found = plaintext_on_disk(run.marker, run.roots, skip=run.skip)
        if found:
            problems.append(f"plaintext of the data on disk: {found}")
    texts = dict(run.outputs)
    texts.update(files_text(*run.roots, skip=run.skip))
    problems += leaked(texts, run.secrets)
    problems += audit_chain(run.audit_log)
    records = audit_records(run.audit_log)
    ended = outcome(records)
    if ended is None and not run.killed:
        problems.append("the audit log does not record how the run ended (no run_end)")
    elif ended is not None and ended not in run.expect_outcome:
        problems.append(f"the audit log records the outcome {ended!r}, expected one of {run.expect_outcome}")
    # A killed controller writes nothing more; what it opened must still be recorded as closed (by the watchdog, or
    # by a close that was under way).
    problems += [f"the window {w} was opened and its closing is not in the audit log" for w in unrecorded_windows(records)]
    return problems
