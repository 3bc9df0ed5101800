# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The space SSH window: leases, the watchdog, and the one place that closes a window.

PRIVATE to the collection. It can have breaking changes at any time.

A *window* is a time-boxed ``cf allow-space-ssh``. Opening one writes a *lease* (``<state_dir>/leases/*.json``, mode
0600) naming the space, the run, the operator, when it opened and its deadline, with the run's *watchdog* (its
supervisor, ``plugins/plugin_utils/_supervisor.py``, armed by the task's action plugin) and only then allows SSH. The
supervisor disallows SSH when the run's controller (``ansible-playbook``) dies, when the ``ansible-runner`` that runs
it dies (its orphan is then stopped), or when the deadline passes, using the run's own cf session, and writes what it
did to the audit log with :func:`_audit.append_record`.

Whatever the run opens while SSH is allowed (the database tunnel's process, its ``SERVICE_CONNECT`` key, a partial
file) is *attached* to the lease; :func:`close_window`, the one place that closes a window, cleans those up first,
whether the run closes it or the watchdog does.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import time
import typing as t
import uuid

from ansible_collections.ttahub.ops.plugins.module_utils import _audit, _cf, _proc, _runtime
from ansible_collections.ttahub.ops.plugins.module_utils._errors import OpsError

__all__ = [
    "DEFAULT_MINUTES",
    "LEASE_FORMAT",
    "WindowError",
    "attach",
    "close_window",
    "controller_identity",
    "detach",
    "escalation_message",
    "is_live",
    "leases",
    "open_window",
    "process_alive",
    "process_start_time",
]

LEASE_FORMAT = "ttahub-ops-ssh-window/1"
DEFAULT_MINUTES = 30
POLL_S = 0.5
RETRY_S = 5.0
ARM_TIMEOUT_S = 15.0
CONTROLLER_PID_ENV = _runtime.CONTROLLER_PID_ENV
RUN_ID_ENV = _runtime.RUN_ID_ENV
SPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
ROLE_TITLES = {
    "product_owner": "Product Owner",
    "government_technical_monitor": "Government Technical Monitor",
    "vendor_tech_lead": "Vendor Technical Lead",
    "vendor_product_manager": "Vendor Product Manager",
}


class WindowError(OpsError):
    """A window operation that cannot go on. ``str()`` is "Failed to <verb> <object>: <cause>. <what to do>"."""

    kind = "window_error"


process_start_time = _proc.start_time
process_alive = _proc.alive


def controller_identity(environ: t.Mapping[str, str] | None = None, pid: int | None = None) -> dict[str, t.Any]:
    """The run's controller: ``pid`` when given (the action plugin passes the one its supervisor watches), else the
    outermost ``ansible-playbook`` among this process's ancestors, else E(TTAHUB_OPS_CONTROLLER_PID). Raises
    WindowError when none is found."""
    how = "option"
    if pid is None:
        pid, how = _proc.outermost(os.getppid()), "ancestor"
    if pid is None:
        pid, how = _runtime.controller_pid(environ), "environment"
    if pid is None or not process_alive(pid):
        raise WindowError(
            "find the run's controller",
            "no ansible-playbook process runs this module",
            "Run the procedure with ansible-playbook (or ansible-runner)",
            kind="no_controller",
        )
    runner = _proc.nearest(int(pid), "ansible-runner")
    return {"pid": int(pid), "start": process_start_time(int(pid)), "found_by": how,
            "supervisor_pid": runner, "supervisor_start": process_start_time(runner) if runner else None}


_kill_group = _proc.kill_pid_group
_reap = _proc.reap


# ---------------------------------------------------------------------------------------------------------------------
# Leases


def leases_dir(state_dir: str) -> str:
    return os.path.join(os.path.abspath(os.path.expanduser(state_dir)), "leases")


def _private_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


@contextlib.contextmanager
def leases_lock(state_dir: str) -> t.Iterator[None]:
    """One lock for every lease decision (open, attach, close, guard), across processes."""
    directory = leases_dir(state_dir)
    _private_dir(directory)
    fd = os.open(os.path.join(directory, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_lease(path: str) -> dict[str, t.Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == LEASE_FORMAT else None


def write_lease(path: str, lease: dict[str, t.Any]) -> None:
    directory = os.path.dirname(path)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(lease, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def leases(state_dir: str, space: str | None = None) -> list[tuple[str, dict[str, t.Any]]]:
    """The leases that are not closed yet (``space`` only, when given), oldest first."""
    directory = leases_dir(state_dir)
    found = []
    if not os.path.isdir(directory):
        return found
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json") or name.startswith("."):
            continue
        path = os.path.join(directory, name)
        lease = read_lease(path)
        if lease is None or lease.get("state") == "closed":
            continue
        if space is not None and lease.get("space") != space:
            continue
        found.append((path, lease))
    found.sort(key=lambda item: float(item[1].get("requested_epoch") or 0))
    return found


def is_live(lease: t.Mapping[str, t.Any], now: float | None = None) -> bool:
    """A lease covers its space while it is opening or open, before its deadline, and (on this host) while its
    watchdog or its controller still runs."""
    if lease.get("state") not in ("opening", "open"):
        return False
    if float(lease.get("deadline_epoch") or 0) <= (time.time() if now is None else now):
        return False
    if lease.get("host") != socket.gethostname():
        return True
    return process_alive(lease.get("watchdog_pid"), lease.get("watchdog_start")) or process_alive(
        lease.get("controller_pid"), lease.get("controller_start")
    )


def public_lease(lease: t.Mapping[str, t.Any], path: str | None = None) -> dict[str, t.Any]:
    """What a lease shows outside: no session directory, no attachments' details."""
    keys = ("window_id", "space", "org", "purpose", "run_id", "operator", "host", "state", "joined", "minutes",
            "requested_at", "opened_at", "deadline", "closed_at", "close_reason", "closed_by", "controller_pid",
            "watchdog_pid")
    out = {key: lease.get(key) for key in keys}
    out["lease_path"] = path
    return out


def attach(state_dir: str, lease_path: str, kind: str, **info: t.Any) -> dict[str, t.Any]:
    """Record something opened inside the window (``process``: pid/start/name, ``service_key``: service/key,
    ``path``: path) so that closing the window, by the run or by the watchdog, cleans it up."""
    if kind not in ("process", "service_key", "path"):
        raise ValueError(f"unknown attachment kind {kind!r}")
    entry = {"kind": kind, "id": uuid.uuid4().hex[:12], **info}
    with leases_lock(state_dir):
        lease = read_lease(lease_path)
        if lease is None or lease.get("state") not in ("opening", "open"):
            raise WindowError(
                "use the SSH window",
                f"the window's lease {lease_path} is closed or missing",
                "Open the window again (the watchdog may have closed it at its deadline)",
                kind="window_closed",
            )
        lease.setdefault("attachments", []).append(entry)
        write_lease(lease_path, lease)
    return entry


def detach(state_dir: str, lease_path: str, entry_id: str) -> None:
    """Forget an attachment the run cleaned up itself."""
    with leases_lock(state_dir):
        lease = read_lease(lease_path)
        if lease is None:
            return
        lease["attachments"] = [a for a in lease.get("attachments", []) if a.get("id") != entry_id]
        write_lease(lease_path, lease)


# ---------------------------------------------------------------------------------------------------------------------
# Escalation


def escalation_message(roster: t.Sequence[t.Mapping[str, t.Any]] | None) -> str:
    """The SOP's escalation, with names and contacts from the roster: "contact the Product Owner and Government
    Technical Monitor. They will activate the appropriate plan in consultation with the Vendor Technical Lead"."""

    def who(role: str) -> str:
        people = [p for p in roster or [] if isinstance(p, t.Mapping) and role in (p.get("roles") or [])]
        title = ROLE_TITLES[role]
        if not people:
            return f"the {title} (no one holds this role in the roster)"
        names = []
        for person in people:
            contact = str(person.get("email") or "").strip() or "no email in the roster"
            names.append(f"{person.get('name') or person.get('id')}, {contact}")
        return f"the {title} ({'; '.join(names)})"

    return (
        f"Contact {who('product_owner')} and {who('government_technical_monitor')} now; they will activate the "
        f"appropriate plan in consultation with {who('vendor_tech_lead')}"
    )


# ---------------------------------------------------------------------------------------------------------------------
# cf through the run's own session


def _client(lease: t.Mapping[str, t.Any], environ: t.Mapping[str, str] | None = None) -> _cf.CfClient:
    return _cf.CfClient(
        cf_cli=lease.get("cf_cli") or None,
        cf_home=lease.get("cf_home") or None,
        timeout=int(lease.get("cf_timeout") or _cf.DEFAULT_TIMEOUT),
        environ=environ,
    )


def space_ssh_allowed(cf: _cf.CfClient, space: str) -> bool:
    result = cf.run(["space-ssh-allowed", space], action=f"read whether SSH is allowed in space {space}")
    return _cf.parse_space_ssh_allowed(result.stdout)


def default_state_dir() -> str:
    """Where ``ops_state_dir`` points by default (``_runtime.state_dir``)."""
    return _runtime.state_dir()


def _now() -> tuple[float, str]:
    return time.time(), _audit.utc_now()


# ---------------------------------------------------------------------------------------------------------------------
# Opening


def open_window(
    *,
    state_dir: str,
    space: str,
    cf: _cf.CfClient,
    cf_cli: str | None,
    cf_home: str,
    cf_timeout: int,
    minutes: int,
    max_minutes: int,
    purpose: str,
    operator: str,
    roster: t.Sequence[t.Mapping[str, t.Any]] | None,
    audit_log: str,
    controller: t.Mapping[str, t.Any],
    run_id: str,
    org: str = "",
    check_mode: bool = False,
    watchdog: t.Mapping[str, t.Any] | None = None,
) -> dict[str, t.Any]:
    """Open (or join) the window of ``space``; see the module ``space_ssh_window`` for the rules."""
    if not SPACE_NAME.match(space or ""):
        raise WindowError("open the SSH window", f"{space!r} is not a space name", "Pass the space name, e.g. ttahub-prod", kind="bad_input")
    if minutes < 1 or minutes > max_minutes:
        raise WindowError(
            f"open the SSH window of space {space}",
            f"a window of {minutes} minutes is outside the policy (1 to {max_minutes} minutes)",
            f"Ask for {max_minutes} minutes or less; the policy cap is ops_ssh_window_max_minutes",
            kind="bad_input",
        )
    events: list[dict[str, t.Any]] = []
    with leases_lock(state_dir):
        others = [(p, lease) for p, lease in leases(state_dir, space) if is_live(lease)]
        allowed = space_ssh_allowed(cf, space)
        if allowed and not others:
            events.append({"event": "ssh_window_suspicious", "space": space, "action_taken": "none: left as found",
                           "detail": "SSH was already allowed and no live window of ttahub.ops covers it"})
            raise WindowError(
                f"open the SSH window of space {space}",
                "SSH is already allowed in the space and no live window of ttahub.ops covers it: someone allowed it "
                "outside this procedure, or a window was not closed. Nothing was changed",
                escalation_message(roster),
                kind="suspicious",
                events=events,
            )
        requested_epoch, requested_at = _now()
        window_id = uuid.uuid4().hex[:16]
        lease: dict[str, t.Any] = {
            "format": LEASE_FORMAT,
            "window_id": window_id,
            "space": space,
            "org": org,
            "purpose": purpose,
            "run_id": run_id,
            "operator": operator,
            "host": socket.gethostname(),
            "minutes": minutes,
            "requested_at": requested_at,
            "requested_epoch": requested_epoch,
            "deadline_epoch": requested_epoch + minutes * 60,
            "deadline": _iso(requested_epoch + minutes * 60),
            "opened_at": None,
            "state": "opening",
            "joined": bool(allowed),
            "controller_pid": controller["pid"],
            "controller_start": controller.get("start"),
            # ansible-runner, when it runs the controller: if it dies, its ansible-playbook is orphaned on a dead terminal
            "supervisor_pid": controller.get("supervisor_pid"),
            "supervisor_start": controller.get("supervisor_start"),
            "watchdog_pid": None,
            "watchdog_start": None,
            "cf_cli": cf_cli or cf.binary,
            "cf_home": cf_home,
            "cf_timeout": cf_timeout,
            "audit_log": audit_log,
            "attachments": [],
        }
        if check_mode:
            lease["state"] = "planned"
            return {"changed": True, "lease": lease, "allowed_before": allowed, "path": None, "audit_events": []}
        path = os.path.join(leases_dir(state_dir), f"{space}--{window_id}.json")
        write_lease(path, lease)
        with contextlib.suppress(OSError):
            _cf.hold_session(cf_home, window_id)  # the session's normal end leaves it to the window until it closes
        try:
            watchdog = _armed(watchdog)
        except Exception:
            lease["state"] = "closed"
            lease["close_reason"] = "watchdog_not_armed"
            _retire(path, lease)
            raise
        lease.update(watchdog_pid=watchdog["pid"], watchdog_start=watchdog.get("start"))
        write_lease(path, lease)
        if allowed:
            # Another live window of ours already allowed SSH: share it; SSH is disallowed when the last one closes.
            lease.update(state="open", opened_at=requested_at, opened_epoch=requested_epoch)
            write_lease(path, lease)
            events.append({"event": "ssh_window_joined", "space": space, "window_id": window_id,
                           "deadline": lease["deadline"], "watchdog_pid": watchdog["pid"],
                           "shared_with": [other.get("window_id") for _path, other in others]})
            return {"changed": True, "lease": lease, "allowed_before": True, "path": path, "audit_events": events}
        # From here SSH may be allowed: the window counts as open from the moment allow-space-ssh starts.
        allow_epoch, allow_started = _now()
        lease.update(state="open", opened_at=allow_started, opened_epoch=allow_epoch)
        write_lease(path, lease)
        allow_error: _cf.CfError | None = None
        try:
            result = cf.run(["allow-space-ssh", space], action=f"allow SSH in space {space}")
            _cf.parse_space_ssh_toggle(result.stdout)
        except _cf.CfError as err:
            allow_error = err
        allowed_at = _now()[1]
        lease["allowed_at"] = allowed_at
        write_lease(path, lease)
    if allow_error is not None:
        # Whatever cf did, SSH must not stay allowed: close the window the one way, then report the cf error.
        try:
            events.append(close_window(state_dir, path, reason="allow_failed", by="run", cf=cf)["event"])
        except WindowError as err:
            events.extend(err.events)
        allow_error.events[:0] = events
        raise allow_error
    events.append({
        "event": "ssh_window_opened",
        "space": space,
        "window_id": window_id,
        "opened_at": allow_started,
        "allowed_at": allowed_at,
        "deadline": lease["deadline"],
        "minutes": minutes,
        "purpose": purpose,
        "watchdog_pid": watchdog["pid"],
        "controller_pid": controller["pid"],
    })
    return {"changed": True, "lease": lease, "allowed_before": False, "path": path, "audit_events": events}


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# ---------------------------------------------------------------------------------------------------------------------
# Closing: the one place


def _retire(path: str, lease: dict[str, t.Any]) -> str:
    """Move a closed lease to leases/closed/ (history), so that only open leases stay in leases/."""
    closed_dir = os.path.join(os.path.dirname(path), "closed")
    _private_dir(closed_dir)
    target = os.path.join(closed_dir, os.path.basename(path))
    write_lease(path, lease)
    os.replace(path, target)
    if lease.get("cf_home") and lease.get("window_id"):
        with contextlib.suppress(OSError):
            _cf.release_session(lease["cf_home"], lease["window_id"])
    return target


def cleanup_attachments(lease: dict[str, t.Any], cf: _cf.CfClient | None) -> list[str]:
    """Stop the processes, delete the service keys and remove the files attached to the lease, newest first."""
    done = []
    for entry in reversed(list(lease.get("attachments") or [])):
        kind = entry.get("kind")
        try:
            if kind == "process":
                outcome = _kill_group(int(entry["pid"]), entry.get("start"))
                done.append(f"process {entry.get('name', '')} {entry['pid']}: {outcome}")
            elif kind == "service_key":
                if cf is None:
                    done.append(f"service key {entry['key']} of {entry['service']}: no cf session to delete it")
                    continue
                cf.run(["delete-service-key", "-f", entry["service"], entry["key"]],
                       action=f"delete service key {entry['key']} of {entry['service']}")
                done.append(f"service key {entry['key']} of {entry['service']}: deleted")
            elif kind == "path":
                target = entry["path"]
                if os.path.lexists(target):
                    os.unlink(target)
                    done.append(f"file {target}: removed")
                else:
                    done.append(f"file {target}: already gone")
        except (_cf.CfError, OSError, KeyError, ValueError) as err:
            done.append(f"{kind} {entry.get('key') or entry.get('path') or entry.get('pid')}: FAILED ({err})")
            entry["failed"] = True
            continue
        entry["done"] = True
    lease["attachments"] = [a for a in lease.get("attachments") or [] if not a.get("done")]
    return done


def close_window(
    state_dir: str,
    path: str,
    *,
    reason: str,
    by: str,
    cf: _cf.CfClient | None = None,
    environ: t.Mapping[str, str] | None = None,
    write_audit: bool = False,
    remove_session: bool = False,
) -> dict[str, t.Any]:
    """Close one window: clean up its attachments, then disallow SSH unless another live window still needs it, then
    check with ``cf space-ssh-allowed``. Returns a summary with ``event`` (the audit record). Raises WindowError when
    SSH could not be disallowed (the lease stays open, so the watchdog keeps trying)."""
    with leases_lock(state_dir):
        lease = read_lease(path)
        if lease is None or lease.get("state") == "closed":
            return {"changed": False, "already_closed": True, "lease": lease}
        space = lease["space"]
        client = cf or _client(lease, environ)
        cleaned = cleanup_attachments(lease, client)
        others = [other for p, other in leases(state_dir, space) if p != path and is_live(other)]
        event: dict[str, t.Any] = {
            "event": "ssh_window_closed",
            "space": space,
            "window_id": lease["window_id"],
            "reason": reason,
            "closed_by": by,
            "opened_at": lease.get("opened_at"),
            "deadline": lease.get("deadline"),
            "cleanup": cleaned,
        }
        if others:
            # Another live window of ours still needs SSH: the last one to close disallows it.
            event.update(disallowed=False, left_open_for=[o.get("window_id") for o in others])
        else:
            # Disallow even when this window never got to allow (it may have died between the call and the lease
            # update): disallow-space-ssh on a disallowed space changes nothing.
            started, disallow_requested_at = _now()
            try:
                try:
                    result = client.run(["disallow-space-ssh", space], action=f"disallow SSH in space {space}")
                    _cf.parse_space_ssh_toggle(result.stdout)
                except _cf.CfError as err:
                    event["disallow_error"] = err.message
                closed_at = _now()[1]
                allowed = space_ssh_allowed(client, space)
            except _cf.CfError as err:
                lease["close_error"] = err.message
                lease["state"] = "open"
                write_lease(path, lease)
                raise WindowError(
                    f"close the SSH window of space {space}",
                    f"{event.get('disallow_error') or err.message} SSH may still be allowed",
                    "The watchdog keeps trying until SSH is disallowed; disallow it by hand now "
                    f"(`cf disallow-space-ssh {space}`)",
                    kind="close_failed",
                    events=[dict(event, event="ssh_window_close_failed", error=err.message)],
                ) from err
            verified_at = _now()[1]
            event.update(disallowed=True, disallow_requested_at=disallow_requested_at, closed_at=closed_at,
                         verified_at=verified_at, ssh_allowed_after=allowed,
                         seconds_open=round(time.time() - float(lease.get("opened_epoch") or started), 3))
            if allowed:
                lease["state"] = "open"
                lease["close_error"] = event.get("disallow_error") or "space-ssh-allowed still says enabled after disallow-space-ssh"
                write_lease(path, lease)
                raise WindowError(
                    f"close the SSH window of space {space}",
                    f"{event.get('disallow_error') or 'cf disallow-space-ssh said OK'}; cf space-ssh-allowed still says SSH is enabled",
                    f"Disallow it by hand now (`cf disallow-space-ssh {space}`); the watchdog keeps trying",
                    kind="close_failed",
                    events=[dict(event, event="ssh_window_close_failed")],
                )
        failed = [line for line in cleaned if "FAILED" in line]
        closed_epoch, closed_iso = _now()
        lease.update(state="closed", closed_at=event.get("closed_at") or closed_iso, closed_epoch=closed_epoch,
                     close_reason=reason, closed_by=by, cleanup=cleaned)
        retired = _retire(path, lease)
        if remove_session:
            same_run = [o for _path, o in leases(state_dir) if o.get("run_id") == lease.get("run_id")]
            if not same_run and lease.get("cf_home"):
                with contextlib.suppress(_cf.CfError, OSError):
                    if _cf.remove_cf_home(lease["cf_home"]):
                        event["session_removed"] = True
    if write_audit or not process_alive(lease.get("controller_pid"), lease.get("controller_start")):
        # The run's controller died while its close was under way (killed mid-close): no callback will write the event
        # the module returns, and the watchdog finds the window closed. Record it here.
        append_event(lease, event)
    return {"changed": True, "event": event, "lease": lease, "retired": retired, "cleanup_failed": failed}


def append_event(lease: t.Mapping[str, t.Any], event: dict[str, t.Any]) -> None:
    fields = {k: v for k, v in event.items() if k != "event"}
    fields.update(operator=lease.get("operator"), controller_pid=lease.get("controller_pid"))
    with contextlib.suppress(_audit.AuditLogError, ValueError, TypeError):
        _audit.append_record(lease["audit_log"], event["event"], lease.get("run_id") or "unknown", **fields)


# ---------------------------------------------------------------------------------------------------------------------
# The watchdog: the run's supervisor (plugins/plugin_utils/_supervisor.py)


def _armed(watchdog: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """The run's supervisor, armed by the task's action plugin before the module runs; it closes the window at its
    deadline or when the run dies. Without one, SSH is not allowed."""
    if not watchdog or not process_alive(watchdog.get("pid"), watchdog.get("start")):
        raise WindowError("arm the SSH window's watchdog", "the run's supervisor is not running",
                          "Nothing was allowed; run the task through ansible-playbook (its action plugin arms the "
                          "supervisor), then run again", kind="watchdog_failed")
    return {"pid": int(watchdog["pid"]), "start": watchdog.get("start")}
